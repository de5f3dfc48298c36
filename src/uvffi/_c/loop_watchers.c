/* The loop watchers: uv_prepare_t, uv_check_t, uv_idle_t (one shape, three
 * phases). handles/loop_watchers.py is the Python side. */

/*@cdef
int uvffi_watcher_start(uvffi_handle_t *h);
*/

#if !UVFFI_PYPY
static PyTypeObject uvffi__WatcherOps;
#endif

#define UVFFI_WATCHER(name, T)                                          \
    static int uvffi__##name##_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg) \
    {                                                                   \
        (void)arg;                                                      \
        return uv_##name##_init(lp->loop, UVFFI_UV(h, T));              \
    }                                                                   \
    static int uvffi__##name##_stop(uv_handle_t *handle) { return uv_##name##_stop((T *)handle); } \
    static const uvffi_kind_t uvffi__kind_##name = {#name, UV_HANDLE_TYPE_OF_##name, \
                                                   uvffi__##name##_init, uvffi__##name##_stop, 0, 0, \
                                                   UVFFI_OPS(uvffi__WatcherOps)}; \
    static void uvffi__##name##_cb(T *w)                                \
    {                                                                   \
        uvffi_handle_t *h = UVFFI_OF(w);                                \
        uvffi_loop_t *lp = h->lp;                                       \
        GIL_ENTER(lp)                                                   \
        UVFFI_EMIT_PHASE(h);                                            \
        GIL_LEAVE(lp)                                                   \
    }                                                                   \
    static int uvffi__##name##_start(uvffi_handle_t *h)                 \
    {                                                                   \
        return uv_##name##_start(UVFFI_UV(h, T), uvffi__##name##_cb);   \
    }

#define UV_HANDLE_TYPE_OF_prepare UV_PREPARE
#define UV_HANDLE_TYPE_OF_check UV_CHECK
#define UV_HANDLE_TYPE_OF_idle UV_IDLE
UVFFI_WATCHER(prepare, uv_prepare_t)
UVFFI_WATCHER(check, uv_check_t)
UVFFI_WATCHER(idle, uv_idle_t)

static int uvffi__watcher_start(uvffi_handle_t *h, int held)
{
    int err;
    if (h->kind != &uvffi__kind_prepare && h->kind != &uvffi__kind_check && h->kind != &uvffi__kind_idle)
        return UVFFI_EKIND;
    UVFFI_GUARD(h, NULL)
    if (h->kind == &uvffi__kind_prepare)
        err = uvffi__prepare_start(h);
    else if (h->kind == &uvffi__kind_check)
        err = uvffi__check_start(h);
    else
        err = uvffi__idle_start(h);
    uvffi__sync_keep_started(h, held);
    return err;
}

UVFFI_SERIALISED(int, uvffi_watcher_start, (uvffi_handle_t *h), uvffi__watcher_start(h, 1))

#if !UVFFI_PYPY
/* start(callback): a callable here, the rest in Python. */
static PyObject *uvffi__wops_start(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    PyObject *old;
    if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 1 || h == NULL || !PyCallable_Check(a[0]))
        return uvffi__call_next(&uvffi__WatcherOps, uvffi__s_start, o, a, nargsf, kwnames);
    old = self->callback;  /* dropped only after the start: no Python code runs between */
    Py_INCREF(a[0]);
    self->callback = a[0];
    if (uvffi__watcher_start(h, 1) != 0) {
        self->callback = old;
        Py_DECREF(a[0]);
        return uvffi__call_next(&uvffi__WatcherOps, uvffi__s_start, o, a, nargsf, kwnames);
    }
    Py_XDECREF(old);
    Py_RETURN_NONE;
}

UVFFI_STOP_METHOD(uvffi__wops_stop, uvffi__WatcherOps, NULL)

static PyMethodDef uvffi__wops_methods[] = {
    {"start", (PyCFunction)(void (*)(void))uvffi__wops_start, METH_FASTCALL | METH_KEYWORDS,
     "start(callback)\n--\n\n"
     "Call ``callback(handle)`` once per loop iteration, in this watcher's phase."},
    UVFFI_STOP_DEF(uvffi__wops_stop),
    {NULL, NULL, 0, NULL}
};
UVFFI_OPS_TYPE(uvffi__WatcherOps, "WatcherOps", "C methods of uvffi.Prepare, Check and Idle (CPython).",
               uvffi__wops_methods)
#endif
