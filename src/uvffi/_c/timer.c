/* Timers: uv_timer_t. handles/timer.py is the Python side. */

/*@cdef
int uvffi_timer_start(uvffi_handle_t *h, uint64_t timeout, uint64_t repeat);
int uvffi_timer_again(uvffi_handle_t *h);
int uvffi_timer_set_repeat(uvffi_handle_t *h, uint64_t repeat);
uint64_t uvffi_timer_get_repeat(uvffi_handle_t *h);
uint64_t uvffi_timer_get_due_in(uvffi_handle_t *h);
*/

static int uvffi__timer_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_timer_init(lp->loop, UVFFI_UV(h, uv_timer_t));
}

static int uvffi__timer_stop(uv_handle_t *handle) { return uv_timer_stop((uv_timer_t *)handle); }

#if !UVFFI_PYPY
static PyTypeObject uvffi__TimerOps;
#endif
static const uvffi_kind_t uvffi__kind_timer = {"timer", UV_TIMER, uvffi__timer_init, uvffi__timer_stop, 0, 0,
                                               UVFFI_OPS(uvffi__TimerOps)};

static void uvffi__timer_cb(uv_timer_t *t)
{
    uvffi_handle_t *h = UVFFI_OF(t);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
    UVFFI_EMIT0(h);
    GIL_LEAVE(lp)
}

static int uvffi__timer_start(uvffi_handle_t *h, uint64_t timeout, uint64_t repeat, int held)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_timer)
    err = uv_timer_start(UVFFI_UV(h, uv_timer_t), uvffi__timer_cb, timeout, repeat);
    uvffi__sync_keep_started(h, held);
    return err;
}

static int uvffi__timer_again(uvffi_handle_t *h)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_timer)
    err = uv_timer_again(UVFFI_UV(h, uv_timer_t));
    uvffi__sync_keep(h, 1);
    return err;
}

/* Guarded: libuv's timer fields belong to the loop thread while it runs. */
static int uvffi__timer_set_repeat(uvffi_handle_t *h, uint64_t repeat)
{
    UVFFI_GUARD(h, &uvffi__kind_timer)
    uv_timer_set_repeat(UVFFI_UV(h, uv_timer_t), repeat);
    return 0;
}

UVFFI_SERIALISED(int, uvffi_timer_start, (uvffi_handle_t *h, uint64_t timeout, uint64_t repeat),
                 uvffi__timer_start(h, timeout, repeat, 1))
UVFFI_SERIALISED(int, uvffi_timer_again, (uvffi_handle_t *h), uvffi__timer_again(h))
UVFFI_SERIALISED(int, uvffi_timer_set_repeat, (uvffi_handle_t *h, uint64_t repeat), uvffi__timer_set_repeat(h, repeat))

/* Reads of one field: -1 (as uint64_t) for a handle that is not a timer. */
uint64_t uvffi_timer_get_repeat(uvffi_handle_t *h)
{
    return h->kind == &uvffi__kind_timer ? uv_timer_get_repeat(UVFFI_UV(h, uv_timer_t)) : (uint64_t)-1;
}
uint64_t uvffi_timer_get_due_in(uvffi_handle_t *h)
{
    return h->kind == &uvffi__kind_timer ? uv_timer_get_due_in(UVFFI_UV(h, uv_timer_t)) : (uint64_t)-1;
}

#if !UVFFI_PYPY
/* start(callback, timeout, repeat): plain numbers here, the rest in Python. */
static PyObject *uvffi__tops_start(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    uint64_t t, r;
    PyObject *old;
    if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 3 || h == NULL || !PyCallable_Check(a[0]) ||
        uvffi__to_ms(a[1], &t) || uvffi__to_ms(a[2], &r))
        return uvffi__call_next(&uvffi__TimerOps, uvffi__s_start, o, a, nargsf, kwnames);
    old = self->callback;  /* dropped only after the start: no Python code runs between */
    Py_INCREF(a[0]);
    self->callback = a[0];
    if (uvffi__timer_start(h, t, r, 1) != 0) {
        self->callback = old;
        Py_DECREF(a[0]);
        return uvffi__call_next(&uvffi__TimerOps, uvffi__s_start, o, a, nargsf, kwnames);
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

UVFFI_STOP_METHOD(uvffi__tops_stop, uvffi__TimerOps, &uvffi__kind_timer)

static PyMethodDef uvffi__tops_methods[] = {
    {"start", (PyCFunction)(void (*)(void))uvffi__tops_start, METH_FASTCALL | METH_KEYWORDS,
     "start(callback, timeout, repeat)\n--\n\n"
     "Call ``callback(timer)`` after ``timeout`` seconds, then every ``repeat``\n"
     "seconds if ``repeat`` is not 0. Starting again restarts the timer."},
    UVFFI_STOP_DEF(uvffi__tops_stop),
    {NULL, NULL, 0, NULL}
};
UVFFI_OPS_TYPE(uvffi__TimerOps, "TimerOps", "C methods of uvffi.Timer (CPython).", uvffi__tops_methods)
#endif
