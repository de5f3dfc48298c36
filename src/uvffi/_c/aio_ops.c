/*
 * CPython only: uvffi.aio's entry into libuv, one C call per asyncio iteration.
 *
 * uvffi.aio holds Python's signal wakeup fd for a whole run_forever
 * (Loop._hold_wakeup), so the runs of its iterations need none of
 * Loop.run's Python steps around uv_run: aio_run(loop, mode) runs the
 * loop in C (loop_ops.c's run) on the main thread too. Any case that C does
 * not take (a closed or running loop, calls queued by other threads or the
 * scheduler, a pending BaseException, another mode) goes to loop.run(mode),
 * which raises or serves it as always. A RUN_NOWAIT that could only find the
 * loop's own wakeup (uvffi_loop_active <= 1: the wakeup counts 1) is skipped;
 * a RUN_ONCE reads libuv's clock first (its wait counts from now).
 */

static PyObject *uvffi__aio_run(PyObject *mod, PyObject *const *a, Py_ssize_t n)
{
    long mode;
    (void)mod;
    if (n != 2) {
        PyErr_SetString(PyExc_TypeError, "aio_run(loop, mode) takes 2 arguments");
        return NULL;
    }
    if (PyObject_TypeCheck(a[0], &uvffi__LoopOps) && PyLong_CheckExact(a[1])) {
        mode = PyLong_AsLong(a[1]);
        if (mode == -1 && PyErr_Occurred())
            PyErr_Clear();
        else if ((mode == UV_RUN_NOWAIT || mode == UV_RUN_ONCE) && uvffi__lops_runnable((uvffi__lobj_t *)a[0])) {
            /* A non-blocking run when nothing of libuv's but the wakeup (the 1
             * counted) is active could only find the wakeup, whose callbacks
             * are queued already: skipped (False, as for a loop with no work). */
            if (mode == UV_RUN_NOWAIT && uvffi_loop_active(((uvffi__lobj_t *)a[0])->raw) <= 1)
                Py_RETURN_FALSE;
            /* A blocking run computes its wait from libuv's clock, last read at the end of
             * the previous run: a timer kept armed across iterations would end the wait
             * late by the time the Python callbacks took since. */
            if (mode == UV_RUN_ONCE)
                uv_update_time(((uvffi__lobj_t *)a[0])->raw->loop);
            return uvffi__lops_run_now(a[0], (int)mode);
        }
    }
    return PyObject_CallMethodOneArg(a[0], uvffi__s_lrun, a[1]);
}

static PyMethodDef uvffi__aio_run_def = {
    "aio_run", (PyCFunction)(void (*)(void))uvffi__aio_run, METH_FASTCALL,
    "aio_run(loop, mode)\n--\n\n"
    "``loop.run(mode)`` for uvffi.aio, whose run_forever holds the signal wakeup fd:\n"
    "RUN_ONCE and RUN_NOWAIT run in C on any thread (a RUN_NOWAIT with nothing but the\n"
    "loop's wakeup active is skipped: False); every other case is ``loop.run(mode)``."};

/* Put aio_run into the dict of C types (uvffi._core.native.C). */
static int uvffi__aio_ops_install(PyObject *dict)
{
    PyObject *f = PyCFunction_New(&uvffi__aio_run_def, NULL);
    int r;
    if (f == NULL)
        return -1;
    r = PyDict_SetItemString(dict, uvffi__aio_run_def.ml_name, f);
    Py_DECREF(f);
    return r;
}

/*
 * AioLoopOps: the C _run_once put in front of uvffi.aio's Loop in its MRO (as
 * the handles' Ops types are in front of theirs): one iteration, the steps of
 * the Python Loop._run_once in the same order, without a Python frame. It takes
 * the plain case, decided before anything changes: the
 * loop's own wakeup referenced (a loop that owns its uvffi loop), asyncio's
 * clock (``_clock`` set), libuv entered by aio_run (run_forever holds the
 * signal wakeup fd), no fd watcher to sync, every timer in the deque (the heap
 * empty: the deque's timers are in deadline order, so its head is the first), and
 * not so many cancelled timers that they are all dropped (debug mode is read where the Python method reads it,
 * after libuv's run: its ready callbacks go to _run_ready_debug). Anything else is
 * the Python _run_once, next in the
 * MRO (also what PyPy and UVFFI_NO_CBASE=1 run). The state stays in the loop's
 * Python attributes, read from its dict (uvffi__dict_of); Python code runs only in the calls it makes
 * (the clock, the timeout's arm/disarm, aio_run's callbacks, the ready
 * handles), so a KeyboardInterrupt comes from one of them, never between two
 * steps of the bookkeeping.
 */

static PyTypeObject uvffi__AioLoopOps;
static PyObject *uvffi__aio_run_fn;  /* the aio_run function object: the entry the plain case needs */
static PyTypeObject *uvffi__deque_type;  /* collections.deque: the timers' deque */
static PyObject *uvffi__al_zero, *uvffi__al_one;
static PyObject *uvffi__al_heap, *uvffi__al_fifo, *uvffi__al_due, *uvffi__al_ready, *uvffi__al_debug, *uvffi__al_unref, *uvffi__al_clock,
    *uvffi__al_entry, *uvffi__al_fds, *uvffi__al_dirty, *uvffi__al_uv, *uvffi__al_ccount, *uvffi__al_min_timers,
    *uvffi__al_min_fraction, *uvffi__al_max_wait, *uvffi__al_cancelled, *uvffi__al_scheduled, *uvffi__al_stopping,
    *uvffi__al_timeout, *uvffi__al_armed, *uvffi__al_arm, *uvffi__al_disarm, *uvffi__al_resolution, *uvffi__al_when,
    *uvffi__al_append, *uvffi__al_popleft, *uvffi__al_run, *uvffi__al_run_debug, *uvffi__al_run_once;

/* Attribute `name` of self (a new reference): from its instance dict `d` when given
 * (uvffi__dict_of), else, or when the dict has none, as getattr. */
static PyObject *uvffi__dict_get(PyObject *d, PyObject *self, PyObject *name)
{
    PyObject *v;
    if (d != NULL) {
        v = PyDict_GetItemWithError(d, name);
        if (v != NULL) {
            Py_INCREF(v);
            return v;
        }
        if (PyErr_Occurred())
            return NULL;
    }
    return PyObject_GetAttr(self, name);
}

/* Reading an object's attributes from its instance dict, where getattr would find
 * them there: for a type (checked again when its version tag changes) with object's
 * getattr (no __getattribute__ of its own) and no data descriptor of any of `names`. The last type checked is kept (a borrowed pointer,
 * compared only: version tags are never reused). */
typedef struct {
    PyObject **const *names;  /* the interned names read */
    size_t n;
    PyTypeObject *type;       /* the last type found without such a descriptor */
    unsigned int tag;         /* its version tag then */
} uvffi__dict_attrs_t;

/* o's instance dict (a new reference) if its type is one whose attributes `c` names
 * may be read there, else NULL (no exception): read them with getattr. */
static PyObject *uvffi__dict_of(PyObject *o, uvffi__dict_attrs_t *c)
{
    PyTypeObject *t = Py_TYPE(o);
    PyObject *d;
    size_t i;
    if (!PyType_HasFeature(t, Py_TPFLAGS_VALID_VERSION_TAG) || t->tp_getattro != PyObject_GenericGetAttr)
        return NULL;  /* a __getattribute__ of its own (or no version tag to check again by) */
    if (t != c->type || t->tp_version_tag != c->tag) {
        for (i = 0; i < c->n; i++) {
            PyObject *found = _PyType_Lookup(t, *c->names[i]);  /* borrowed */
            if (found != NULL && Py_TYPE(found)->tp_descr_set != NULL)
                return NULL;
        }
        c->type = t;
        c->tag = t->tp_version_tag;
    }
    d = PyObject_GenericGetDict(o, NULL);
    if (d == NULL)
        PyErr_Clear();
    return d;
}

/* The names the iteration reads of the loop. */
static PyObject **const uvffi__al_names[] = {
    &uvffi__al_heap, &uvffi__al_fifo, &uvffi__al_ready, &uvffi__al_debug, &uvffi__al_unref, &uvffi__al_clock, &uvffi__al_entry,
    &uvffi__al_fds, &uvffi__al_uv, &uvffi__al_ccount, &uvffi__al_stopping, &uvffi__al_timeout,
    &uvffi__al_resolution};
static uvffi__dict_attrs_t uvffi__al_attrs = {uvffi__al_names, sizeof(uvffi__al_names) / sizeof(uvffi__al_names[0]),
                                              NULL, 0};

/* Attribute `name` of the loop is the object `expect` (0 also when missing: not the plain case). */
static int uvffi__al_is_d(PyObject *d, PyObject *self, PyObject *name, PyObject *expect)
{
    PyObject *v = uvffi__dict_get(d, self, name);
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(v);
    return v == expect;
}

/* Attribute `name` of o is the object `expect` (0 also when missing: not the plain case). */
static int uvffi__al_is(PyObject *o, PyObject *name, PyObject *expect)
{
    PyObject *v = PyObject_GetAttr(o, name);
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_DECREF(v);
    return v == expect;
}

/* Attribute `name` of o is false (0 also when missing or on error: not the plain case). */
static int uvffi__al_falsy(PyObject *o, PyObject *name)
{
    PyObject *v = PyObject_GetAttr(o, name);
    int t;
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    t = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (t < 0)
        PyErr_Clear();
    return t == 0;
}

/* Whether the timers' cancelled count asks for dropping the cancelled ones (asyncio's
 * rule, the Python _first_timer_when's): -1 on error. */
static int uvffi__al_rebuild(PyObject *d, PyObject *self, Py_ssize_t count)
{
    PyObject *c = uvffi__dict_get(d, self, uvffi__al_ccount), *mt, *mf, *ratio, *big;
    int r;
    if (c == NULL)
        return -1;
    if (c == uvffi__al_zero) {
        Py_DECREF(c);
        return 0;
    }
    mt = PyObject_GetAttr(self, uvffi__al_min_timers);
    mf = PyObject_GetAttr(self, uvffi__al_min_fraction);
    big = mt == NULL ? NULL : PyLong_FromSsize_t(count);
    ratio = big == NULL || mf == NULL ? NULL : PyNumber_TrueDivide(c, big);
    if (ratio == NULL)
        r = -1;
    else if ((r = PyObject_RichCompareBool(big, mt, Py_GT)) == 1)
        r = PyObject_RichCompareBool(ratio, mf, Py_GT);
    Py_DECREF(c);
    Py_XDECREF(mt);
    Py_XDECREF(mf);
    Py_XDECREF(big);
    Py_XDECREF(ratio);
    return r;
}

static PyObject *uvffi__monotonic;  /* time.monotonic */

/* clock(): time.monotonic's value computed here on Linux as CPython's does it
 * (clock_gettime(CLOCK_MONOTONIC) in nanoseconds, to seconds as _PyTime_AsSecondsDouble
 * rounds), the call otherwise. */
static PyObject *uvffi__al_now(PyObject *clock)
{
#ifdef __linux__
    struct timespec ts;
    if (clock == uvffi__monotonic && clock_gettime(CLOCK_MONOTONIC, &ts) == 0) {
        int64_t t = (int64_t)ts.tv_sec * 1000000000 + (int64_t)ts.tv_nsec;
        double sec;
        if (t % 1000000000 == 0) {
            sec = (double)(t / 1000000000);
        } else {
            sec = (double)t;
            sec /= 1e9;
        }
        return PyFloat_FromDouble(sec);
    }
#endif
    return PyObject_CallNoArgs(clock);
}

/* The length of the timers' deque (a deque's size is its length). */
#define UVFFI_AL_LEN(fifo) Py_SIZE(fifo)

/* fifo[0][i], a new reference (an entry is (when, seq, handle)). */
static PyObject *uvffi__al_head(PyObject *fifo, Py_ssize_t i)
{
    PyObject *e = PySequence_GetItem(fifo, 0), *r;
    if (e == NULL)
        return NULL;
    r = PySequence_GetItem(e, i);
    Py_DECREF(e);
    return r;
}

/* fifo.popleft(), the result dropped: 0, or -1 on error. */
static int uvffi__al_pop(PyObject *fifo)
{
    PyObject *r = PyObject_CallMethodNoArgs(fifo, uvffi__al_popleft);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* self.name(arg), the result dropped: 0, or -1 with an exception. */
static int uvffi__al_call1(PyObject *self, PyObject *name, PyObject *arg)
{
    PyObject *args[2] = {self, arg};
    PyObject *r = PyObject_VectorcallMethod(name, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* The plain case's iteration; NULL with an exception, as the Python steps raise. */
static PyObject *uvffi__al_iterate(PyObject *d, PyObject *self, PyObject *heap, PyObject *fifo, PyObject *ready,
                                   PyObject *clock, PyObject *uv)
{
    PyObject *v, *first, *when = NULL, *now, *timeout, *tobj, *armed, *args[3], *end, *popleft, *handle;
    Py_ssize_t todo;
    long mode;
    int t;
    /* cancelled timers leave the deque from its head (the heap is empty) */
    while (UVFFI_AL_LEN(fifo) > 0) {
        if ((first = uvffi__al_head(fifo, 2)) == NULL)
            return NULL;
        v = PyObject_GetAttr(first, uvffi__al_cancelled);
        t = v == NULL ? -1 : PyObject_IsTrue(v);
        Py_XDECREF(v);
        if (t <= 0) {
            Py_DECREF(first);
            if (t < 0)
                return NULL;
            break;
        }
        v = uvffi__dict_get(d, self, uvffi__al_ccount);
        if (v != NULL) {
            Py_SETREF(v, PyNumber_Subtract(v, uvffi__al_one));
        }
        if (v == NULL || PyObject_SetAttr(self, uvffi__al_ccount, v) < 0 || uvffi__al_pop(fifo) < 0 ||
            PyObject_SetAttr(first, uvffi__al_scheduled, Py_False) < 0) {
            Py_XDECREF(v);
            Py_DECREF(first);
            return NULL;
        }
        Py_DECREF(v);
        Py_DECREF(first);
    }
    /* the mode of libuv's run, and the libuv timer that bounds its wait */
    if ((v = uvffi__dict_get(d, self, uvffi__al_stopping)) == NULL)
        return NULL;
    t = PyObject_Length(ready);
    if (t > 0 || (t == 0 && (t = PyObject_IsTrue(v)) > 0)) {
        mode = UV_RUN_NOWAIT;
    } else if (t < 0) {
        Py_DECREF(v);
        return NULL;
    } else if (UVFFI_AL_LEN(fifo) > 0) {
        mode = UV_RUN_ONCE;
        if ((when = uvffi__al_head(fifo, 0)) == NULL || (now = uvffi__al_now(clock)) == NULL) {
            Py_XDECREF(when);
            Py_DECREF(v);
            return NULL;
        }
        timeout = PyNumber_Subtract(when, now);
        Py_DECREF(now);
        t = timeout == NULL ? -1 : PyObject_RichCompareBool(timeout, uvffi__al_zero, Py_LE);
        if (t > 0) {
            mode = UV_RUN_NOWAIT;
        } else if (t == 0) {
            tobj = uvffi__dict_get(d, self, uvffi__al_timeout);
            armed = tobj == NULL ? NULL : PyObject_GetAttr(tobj, uvffi__al_armed);
            t = armed == NULL ? -1 : PyObject_RichCompareBool(when, armed, Py_NE);
            Py_XDECREF(armed);
            if (t > 0) {  /* arm(when, min(timeout, _MAX_WAIT)) */
                PyObject *cap = PyObject_GetAttr(self, uvffi__al_max_wait), *r = NULL;
                if (cap != NULL && (t = PyObject_RichCompareBool(cap, timeout, Py_LT)) >= 0) {
                    args[0] = tobj;
                    args[1] = when;
                    args[2] = t ? cap : timeout;
                    r = PyObject_VectorcallMethod(uvffi__al_arm, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
                }
                t = r == NULL ? -1 : 0;
                Py_XDECREF(r);
                Py_XDECREF(cap);
            }
            Py_XDECREF(tobj);
        }
        Py_XDECREF(timeout);
        Py_CLEAR(when);
        if (t < 0) {
            Py_DECREF(v);
            return NULL;
        }
    } else {
        mode = UV_RUN_ONCE;
        tobj = uvffi__dict_get(d, self, uvffi__al_timeout);
        armed = tobj == NULL ? NULL : PyObject_GetAttr(tobj, uvffi__al_armed);
        if (armed != NULL && armed != Py_None) {
            Py_SETREF(armed, PyObject_CallMethodNoArgs(tobj, uvffi__al_disarm));
        }
        t = armed == NULL ? -1 : 0;
        Py_XDECREF(armed);
        Py_XDECREF(tobj);
        if (t < 0) {
            Py_DECREF(v);
            return NULL;
        }
    }
    Py_DECREF(v);
    /* libuv runs once */
    args[0] = uv;
    if ((args[1] = PyLong_FromLong(mode)) == NULL)
        return NULL;
    v = uvffi__aio_run(NULL, args, 2);
    Py_DECREF(args[1]);
    if (v == NULL)
        return NULL;
    Py_DECREF(v);
    /* the timers due by now join the ready queue: from the deque, or, when libuv's
     * callbacks scheduled one out of order (into the heap), by _ready_due_timers */
    if (UVFFI_AL_LEN(fifo) > 0) {
        if ((now = uvffi__al_now(clock)) == NULL)
            return NULL;
        v = uvffi__dict_get(d, self, uvffi__al_resolution);
        end = v == NULL ? NULL : PyNumber_Add(now, v);
        Py_DECREF(now);
        Py_XDECREF(v);
        if (end == NULL)
            return NULL;
        if (PyList_GET_SIZE(heap) > 0) {
            t = uvffi__al_call1(self, uvffi__al_due, end);
            Py_CLEAR(end);
            if (t < 0)
                return NULL;
        }
        while (end != NULL && UVFFI_AL_LEN(fifo) > 0) {
            PyObject *timer = uvffi__al_head(fifo, 2), *w;
            w = timer == NULL ? NULL : PyObject_GetAttr(timer, uvffi__al_when);
            t = w == NULL ? -1 : PyObject_RichCompareBool(w, end, Py_GE);
            Py_XDECREF(w);
            if (t == 0 && (uvffi__al_pop(fifo) < 0 || PyObject_SetAttr(timer, uvffi__al_scheduled, Py_False) < 0 ||
                           (v = PyObject_CallMethodOneArg(ready, uvffi__al_append, timer)) == NULL))
                t = -1;
            else if (t == 0)
                Py_DECREF(v);
            Py_XDECREF(timer);
            if (t != 0) {
                if (t < 0) {
                    Py_DECREF(end);
                    return NULL;
                }
                break;
            }
        }
        Py_XDECREF(end);
    }
    /* the callbacks ready now run, in order */
    if ((todo = PyObject_Length(ready)) < 0 || (v = uvffi__dict_get(d, self, uvffi__al_debug)) == NULL)
        return NULL;
    t = PyObject_IsTrue(v);
    Py_DECREF(v);
    if (t < 0)
        return NULL;
    if (t) {
        if ((v = PyLong_FromSsize_t(todo)) == NULL)
            return NULL;
        t = uvffi__al_call1(self, uvffi__al_run_debug, v);
        Py_DECREF(v);
        if (t < 0)
            return NULL;
        Py_RETURN_NONE;
    }
    if (todo == 0)
        Py_RETURN_NONE;
    if ((popleft = PyObject_GetAttr(ready, uvffi__al_popleft)) == NULL)
        return NULL;
    while (todo-- > 0) {
        if ((handle = PyObject_CallNoArgs(popleft)) == NULL)
            break;
        v = PyObject_GetAttr(handle, uvffi__al_cancelled);
        t = v == NULL ? -1 : PyObject_IsTrue(v);
        Py_XDECREF(v);
        if (t == 0) {
            v = PyObject_CallMethodNoArgs(handle, uvffi__al_run);
            t = v == NULL ? -1 : 0;
            Py_XDECREF(v);
        }
        Py_DECREF(handle);
        if (t < 0)
            break;
    }
    Py_DECREF(popleft);
    if (todo >= 0)  /* left the loop on an error */
        return NULL;
    Py_RETURN_NONE;
}

static PyObject *uvffi__al_run_once_m(PyObject *self, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    PyObject *heap = NULL, *fifo = NULL, *ready = NULL, *clock = NULL, *uv = NULL, *fds = NULL, *r = NULL, *d;
    int plain;
    (void)a;
    d = uvffi__dict_of(self, &uvffi__al_attrs);
    plain = UVFFI_NOKW(kwnames) && PyVectorcall_NARGS(nargsf) == 0 && uvffi__aio_run_fn != NULL &&
            uvffi__al_is_d(d, self, uvffi__al_unref, Py_False) &&
            uvffi__al_is_d(d, self, uvffi__al_entry, uvffi__aio_run_fn) &&
            (heap = uvffi__dict_get(d, self, uvffi__al_heap)) != NULL && PyList_CheckExact(heap) &&
            PyList_GET_SIZE(heap) == 0 && (fifo = uvffi__dict_get(d, self, uvffi__al_fifo)) != NULL &&
            Py_TYPE(fifo) == uvffi__deque_type &&
            (ready = uvffi__dict_get(d, self, uvffi__al_ready)) != NULL &&
            (clock = uvffi__dict_get(d, self, uvffi__al_clock)) != NULL && clock != Py_None &&
            (uv = uvffi__dict_get(d, self, uvffi__al_uv)) != NULL &&
            (fds = uvffi__dict_get(d, self, uvffi__al_fds)) != NULL && uvffi__al_falsy(fds, uvffi__al_dirty);
    if (plain && UVFFI_AL_LEN(fifo) > 0) {
        int rebuild = uvffi__al_rebuild(d, self, UVFFI_AL_LEN(fifo));
        if (rebuild < 0)
            PyErr_Clear();
        plain = rebuild == 0;
    }
    if (plain)
        r = uvffi__al_iterate(d, self, heap, fifo, ready, clock, uv);
    else
        PyErr_Clear();  /* a missing attribute: the Python method raises what it raises */
    Py_XDECREF(heap);
    Py_XDECREF(fifo);
    Py_XDECREF(ready);
    Py_XDECREF(clock);
    Py_XDECREF(uv);
    Py_XDECREF(fds);
    Py_XDECREF(d);
    if (!plain)
        return uvffi__call_next(&uvffi__AioLoopOps, uvffi__al_run_once, self, a, nargsf, kwnames);
    return r;
}

static PyMethodDef uvffi__al_methods[] = {
    {"_run_once", (PyCFunction)(void (*)(void))uvffi__al_run_once_m, METH_FASTCALL | METH_KEYWORDS,
     "_run_once()\n--\n\n"
     "One iteration, in asyncio's order: cancelled timers leave the timers' heads; libuv runs once;\n"
     "the timers now due join the ready queue; then the callbacks that were ready at that\n"
     "point run, in order."},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject uvffi__AioLoopOps = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.AioLoopOps",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C methods of uvffi.aio's event loop: the iteration (CPython).",
    .tp_methods = uvffi__al_methods,
};

/* Put AioLoopOps into the dict of C types (uvffi._core.native.C). */
static int uvffi__aio_loop_install(PyObject *dict)
{
    PyObject *collections;
    UVFFI_INTERN(uvffi__al_heap, "_timer_heap")
    UVFFI_INTERN(uvffi__al_fifo, "_timer_fifo")
    UVFFI_INTERN(uvffi__al_due, "_ready_due_timers")
    UVFFI_INTERN(uvffi__al_ready, "_ready")
    UVFFI_INTERN(uvffi__al_debug, "_debug")
    UVFFI_INTERN(uvffi__al_unref, "_waker_unref")
    UVFFI_INTERN(uvffi__al_clock, "_clock")
    UVFFI_INTERN(uvffi__al_entry, "_uv_entry")
    UVFFI_INTERN(uvffi__al_fds, "_fds")
    UVFFI_INTERN(uvffi__al_dirty, "_dirty")
    UVFFI_INTERN(uvffi__al_uv, "uv_loop")
    UVFFI_INTERN(uvffi__al_ccount, "_timer_cancelled_count")
    UVFFI_INTERN(uvffi__al_min_timers, "_MIN_TIMERS")
    UVFFI_INTERN(uvffi__al_min_fraction, "_MIN_CANCELLED_FRACTION")
    UVFFI_INTERN(uvffi__al_max_wait, "_MAX_WAIT")
    UVFFI_INTERN(uvffi__al_cancelled, "_cancelled")
    UVFFI_INTERN(uvffi__al_scheduled, "_scheduled")
    UVFFI_INTERN(uvffi__al_stopping, "_stopping")
    UVFFI_INTERN(uvffi__al_timeout, "_timeout")
    UVFFI_INTERN(uvffi__al_armed, "armed")
    UVFFI_INTERN(uvffi__al_arm, "arm")
    UVFFI_INTERN(uvffi__al_disarm, "disarm")
    UVFFI_INTERN(uvffi__al_resolution, "_clock_resolution")
    UVFFI_INTERN(uvffi__al_when, "_when")
    UVFFI_INTERN(uvffi__al_append, "append")
    UVFFI_INTERN(uvffi__al_popleft, "popleft")
    UVFFI_INTERN(uvffi__al_run, "_run")
    UVFFI_INTERN(uvffi__al_run_debug, "_run_ready_debug")
    UVFFI_INTERN(uvffi__al_run_once, "_run_once")
    if ((uvffi__al_zero == NULL && (uvffi__al_zero = PyLong_FromLong(0)) == NULL) ||
        (uvffi__al_one == NULL && (uvffi__al_one = PyLong_FromLong(1)) == NULL))
        return -1;
    if (uvffi__monotonic == NULL) {
        PyObject *time = PyImport_ImportModule("time");
        if (time == NULL)
            return -1;
        uvffi__monotonic = PyObject_GetAttrString(time, "monotonic");
        Py_DECREF(time);
        if (uvffi__monotonic == NULL)
            return -1;
    }
    if (uvffi__deque_type == NULL) {
        PyObject *deque;
        if ((collections = PyImport_ImportModule("collections")) == NULL)
            return -1;
        deque = PyObject_GetAttrString(collections, "deque");
        Py_DECREF(collections);
        if (deque == NULL)
            return -1;
        if (!PyType_Check(deque)) {
            Py_DECREF(deque);
            PyErr_SetString(PyExc_TypeError, "collections.deque is not a type");
            return -1;
        }
        uvffi__deque_type = (PyTypeObject *)deque;  /* kept for the module's life */
    }
    uvffi__aio_run_fn = PyDict_GetItemString(dict, uvffi__aio_run_def.ml_name);  /* the dict keeps it */
    if (uvffi__aio_run_fn == NULL)
        return -1;
    uvffi__AioLoopOps.tp_new = PyBaseObject_Type.tp_new;  /* a mix-in: instances are made as object's */
    return uvffi__publish(dict, &uvffi__AioLoopOps);
}
