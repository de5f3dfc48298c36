/*
 * The C base classes of uvffi.Handle and uvffi.Loop (CPython only; #included
 * by _glue.c after the fast paths, whose helpers it uses).
 *
 * Handle and Loop are Python classes. On CPython they derive from these two C
 * types, which hold the attributes read on every call as struct fields:
 *
 *   HandleBase: _ptr, _loop, _callback, _close_cb, _closed
 *   LoopBase:   _lp, _closed, _running, _threadsafe, _scheduler, _pending_exc
 *
 * so that Python reads and writes them as slots (T_OBJECT_EX members: the
 * interpreter specialises those, no dict lookup), and C reads them without
 * going through the attribute protocol. On top of the storage they implement
 * the three per-handle or per-iteration paths that were Python frames:
 *
 *   - HandleBase.__init__ (tp_init): allocate and initialise the libuv handle;
 *   - HandleBase.__del__ (tp_finalize): hand an open, inactive handle to the
 *     loop's graveyard (uvffi_handle_abandon);
 *   - LoopBase.run: uv_run for the plain case.
 *
 * Anything but the plain case calls the Python implementation (Handle._init,
 * Loop._run), which is also what PyPy runs: errors are raised by one piece of
 * code. Every attribute is initialised in tp_new, so C never sees NULL unless
 * Python code `del`eted one (then it is treated as None/False).
 */
#include <structmember.h>

typedef struct {
    PyObject_HEAD
    PyObject *ptr;      /* _ptr: the cffi "uvffi_handle_t *", made on first read from raw
                         * (NULL: not made yet); None once closed */
    PyObject *loop;     /* _loop */
    PyObject *callback; /* _callback: keeps the callable C borrows alive */
    PyObject *close_cb; /* _close_cb */
    PyObject *closed;   /* _closed: True or False */
    uvffi_handle_t *raw; /* the open libuv handle that borrows this object, or NULL:
                          * what the finaliser abandons, whatever Python did to _ptr */
} uvffi__hobj_t;

typedef struct {
    PyObject_HEAD
    PyObject *lp;          /* _lp: the cffi "uvffi_loop_t *"; None once closed */
    PyObject *closed;      /* _closed */
    PyObject *running;     /* _running */
    PyObject *threadsafe;  /* _threadsafe: the call_soon_threadsafe queue or None */
    PyObject *scheduler;   /* _scheduler: uvffi.scheduler's state or None */
    PyObject *pending_exc; /* _pending_exc: a BaseException to raise from run() */
} uvffi__lobj_t;

static PyTypeObject uvffi__HandleBase;
static PyTypeObject uvffi__LoopBase;
static PyObject *uvffi__s_init;   /* interned "_init": Handle's Python __init__ */
static PyObject *uvffi__s_kind;   /* interned "_kind": the class's UVFFI_* kind */
static PyObject *uvffi__s_loop_run; /* interned "_run": Loop's Python run */
static PyObject *uvffi__s_close_py; /* interned "_close": Handle's Python close */
static PyObject *uvffi__s_start_py; /* interned "_start": Timer's Python start */
static PyObject *uvffi__s_send_py;  /* interned "_send": Async's Python send */
static PyObject *uvffi__s_tsafe_py; /* interned "_call_soon_threadsafe": Loop's Python one */
static unsigned long uvffi__main_ident; /* threading.main_thread().ident */

#define UVFFI_SETREF(field, value) \
    do { PyObject *uvffi__v = (value); Py_INCREF(uvffi__v); Py_XSETREF(field, uvffi__v); } while (0)

/* -- HandleBase ------------------------------------------------------------ */

static PyObject *uvffi__hobj_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    uvffi__hobj_t *self;
    (void)args;
    (void)kw;
    if (type == &uvffi__HandleBase) {
        PyErr_SetString(PyExc_TypeError, "HandleBase is the C base of uvffi.Handle; subclass Handle");
        return NULL;
    }
    self = (uvffi__hobj_t *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->ptr = NULL;  /* _ptr reads as None while raw is NULL */
    Py_INCREF(Py_None); self->loop = Py_None;
    Py_INCREF(Py_None); self->callback = Py_None;
    Py_INCREF(Py_None); self->close_cb = Py_None;
    Py_INCREF(Py_False); self->closed = Py_False;
    return (PyObject *)self;
}

/* Handle(loop, _callback=None): the plain case here, the rest in Handle._init. */
static int uvffi__hobj_init(PyObject *o, PyObject *args, PyObject *kw)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    Py_ssize_t n = PyTuple_GET_SIZE(args);
    PyObject *loop, *cb, *kind_o, *meth, *r;
    uvffi__lobj_t *lo;
    uvffi_loop_t *lp;
    uvffi_handle_t *h;
    long kind;
    if ((kw != NULL && PyDict_GET_SIZE(kw) != 0) || n < 1 || n > 2 || self->raw != NULL ||
        (self->ptr != NULL && self->ptr != Py_None))
        goto slow;
    loop = PyTuple_GET_ITEM(args, 0);
    cb = n == 2 ? PyTuple_GET_ITEM(args, 1) : Py_None;
    if (!PyObject_TypeCheck(loop, &uvffi__LoopBase))
        goto slow;
    lo = (uvffi__lobj_t *)loop;
    if (lo->closed != Py_False || lo->lp == NULL || (lp = uvffi__cptr(lo->lp, uvffi__ct_loop)) == NULL)
        goto slow;
    kind_o = _PyType_Lookup(Py_TYPE(o), uvffi__s_kind); /* borrowed; the type cache answers */
    if (kind_o == NULL || !PyLong_CheckExact(kind_o))
        goto slow;
    kind = PyLong_AsLong(kind_o);
    if (kind < UVFFI_TIMER || kind > UVFFI_SIGNAL) {
        PyErr_Clear();
        goto slow;
    }
    /* binds: self->raw = h; _ptr's cffi pointer is made only if Python reads it */
    h = uvffi__handle_new(lp, (int)kind, (uintptr_t)o, cb == Py_None ? 0 : (uintptr_t)cb, 1);
    if (h == NULL)  /* the Python path fails the same way, and raises the right error */
        goto slow;
    UVFFI_SETREF(self->loop, loop);
    if (cb != Py_None)
        UVFFI_SETREF(self->callback, cb);
    Py_CLEAR(self->ptr);
    return 0;
slow:
    meth = PyObject_GetAttr(o, uvffi__s_init);
    if (meth == NULL)
        return -1;
    r = PyObject_Call(meth, args, kw);
    Py_DECREF(meth);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

static void uvffi__hobj_bind(uvffi_handle_t *h)
{
    PyObject *o = (PyObject *)h->self;
    if (o != NULL && PyObject_TypeCheck(o, &uvffi__HandleBase))
        ((uvffi__hobj_t *)o)->raw = h;
}

static void uvffi__hobj_unbind(uvffi_handle_t *h)
{
    PyObject *o = (PyObject *)h->self;
    if (o != NULL && PyObject_TypeCheck(o, &uvffi__HandleBase) && ((uvffi__hobj_t *)o)->raw == h)
        ((uvffi__hobj_t *)o)->raw = NULL;
}

/* Handle.__del__: an open handle whose Python object dies is closed on the
 * loop's thread (from any thread); only its raw memory is freed then. The C
 * handle (raw) decides, not _ptr or _closed, which Python code could change:
 * a handle left open would keep a dangling pointer to this object. */
static void uvffi__hobj_finalize(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    if (h == NULL)
        return;
    uvffi_handle_abandon(h);  /* unbinds: raw is NULL after */
    UVFFI_SETREF(self->ptr, Py_None);
}

/* Handle._on_closed's bookkeeping (uvffi__close_cb calls this for classes that
 * do not override _on_closed): returns the close callback's result. */
static PyObject *uvffi__hobj_closed(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject *cb, *r;
    UVFFI_SETREF(self->ptr, Py_None);
    UVFFI_SETREF(self->closed, Py_True);
    UVFFI_SETREF(self->callback, Py_None);
    cb = self->close_cb;
    if (cb == NULL || cb == Py_None)
        Py_RETURN_NONE;
    Py_INCREF(Py_None);
    self->close_cb = Py_None;  /* the reference moves to cb */
    r = PyObject_CallOneArg(cb, o);
    Py_DECREF(cb);
    return r;
}

/* Call self.<name>(*args, **kwargs): the Python implementation of a method whose
 * plain case is done here in C. */
static PyObject *uvffi__call_py(PyObject *name, PyObject *self, PyObject *const *a, size_t nargsf,
                                PyObject *kwnames)
{
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), nkw = kwnames == NULL ? 0 : PyTuple_GET_SIZE(kwnames), i;
    PyObject *stack[8], **st = stack, *r;
    if (n + nkw + 1 > 8 && (st = PyMem_Malloc((size_t)(n + nkw + 1) * sizeof(PyObject *))) == NULL)
        return PyErr_NoMemory();
    st[0] = self;
    for (i = 0; i < n + nkw; i++)
        st[i + 1] = a[i];
    r = PyObject_VectorcallMethod(name, st, (size_t)(n + 1), kwnames);
    if (st != stack)
        PyMem_Free(st);
    return r;
}

/* Handle.close(callback=None); the rest in Handle._close, which raises. */
static PyObject *uvffi__hobj_close(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    PyObject *cb = n == 1 ? a[0] : Py_None;
    uvffi_handle_t *h;
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) || n > 1 || self->closed != Py_False ||
        (cb != Py_None && !PyCallable_Check(cb)) || (h = self->raw) == NULL || uvffi__handle_close(h, 1) != 0)
        return uvffi__call_py(uvffi__s_close_py, o, a, nargsf, kwnames);
    if (cb != Py_None)
        UVFFI_SETREF(self->close_cb, cb);
    UVFFI_SETREF(self->closed, Py_True);
    Py_RETURN_NONE;
}

/* Timer.start(callback, timeout, repeat); the rest in Timer._start, which raises.
 * (uvffi__timer_start fails only in its guard, before any change.) */
static PyObject *uvffi__hobj_timer_start(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h;
    uint64_t t, r;
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) || PyVectorcall_NARGS(nargsf) != 3 ||
        (h = self->raw) == NULL || h->kind != UVFFI_TIMER ||
        !PyCallable_Check(a[0]) || uvffi__to_ms(a[1], &t) || uvffi__to_ms(a[2], &r) ||
        uvffi__timer_start(h, (uintptr_t)a[0], t, r, 1) != 0)
        return uvffi__call_py(uvffi__s_start_py, o, a, nargsf, kwnames);
    UVFFI_SETREF(self->callback, a[0]);
    Py_RETURN_NONE;
}

/* Async.send(); a closed or closing handle goes to Async._send, which raises.
 * No lock: the GIL is held from the read of _ptr to uv_async_send, and the close
 * callback that frees the handle runs holding the GIL too (after Async._on_closed
 * has set _ptr to None), so a send sees either a live handle or None. */
static PyObject *uvffi__hobj_async_send(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h;
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) || PyVectorcall_NARGS(nargsf) != 0 ||
        self->closed != Py_False || (h = self->raw) == NULL || h->kind != UVFFI_ASYNC || h->self == 0 || uv_is_closing(&h->uv.handle) || uv_async_send(&h->uv.async) != 0)
        return uvffi__call_py(uvffi__s_send_py, o, a, nargsf, kwnames);
    Py_RETURN_NONE;
}

static PyMethodDef uvffi__hobj_methods[] = {
    {"close", (PyCFunction)(void (*)(void))uvffi__hobj_close, METH_FASTCALL | METH_KEYWORDS,
     "close(callback=None)\n--\n\n"
     "Close the handle; ``callback(handle)`` runs once libuv has closed it.\n\n"
     "Closing twice raises :class:`~uvffi.error.HandleClosedError`."},
    {"_async_send", (PyCFunction)(void (*)(void))uvffi__hobj_async_send, METH_FASTCALL | METH_KEYWORDS,
     "send()\n--\n\n"
     "Wake the loop; safe from any thread. Raises HandleClosedError once closed."},
    {"_timer_start", (PyCFunction)(void (*)(void))uvffi__hobj_timer_start, METH_FASTCALL | METH_KEYWORDS,
     "start(callback, timeout, repeat)\n--\n\n"
     "Call ``callback(timer)`` after ``timeout`` seconds, then every ``repeat``\n"
     "seconds if ``repeat`` is not 0. Starting again restarts the timer."},
    {NULL, NULL, 0, NULL}
};

static int uvffi__hobj_traverse(PyObject *o, visitproc visit, void *arg)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    Py_VISIT(self->loop);
    Py_VISIT(self->callback);
    Py_VISIT(self->close_cb);
    return 0;
}

static int uvffi__hobj_clear(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    Py_CLEAR(self->loop);
    Py_CLEAR(self->callback);
    Py_CLEAR(self->close_cb);
    return 0;
}

/* Instances are always of a Python subclass: subtype_dealloc has run the
 * finaliser and untracked the object before it calls this. */
static void uvffi__hobj_dealloc(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject_GC_UnTrack(o);
    uvffi__hobj_clear(o);
    Py_CLEAR(self->ptr);
    Py_CLEAR(self->closed);
    Py_TYPE(o)->tp_free(o);
}

/* _ptr: the cffi pointer for the Python methods' lib.* calls, made on first read
 * (the C methods use raw: most handles never need one). */
static PyObject *uvffi__hobj_get_ptr(PyObject *o, void *closure)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject *made;
    (void)closure;
    if (self->ptr == NULL) {
        if (self->raw == NULL)
            Py_RETURN_NONE;
        made = _cffi_from_c_pointer((char *)self->raw, uvffi__ct_handle);
        if (made == NULL)
            return NULL;
        if (self->ptr == NULL)  /* the allocation may have let another thread make one */
            self->ptr = made;
        else
            Py_DECREF(made);
    }
    Py_INCREF(self->ptr);
    return self->ptr;
}

static int uvffi__hobj_set_ptr(PyObject *o, PyObject *value, void *closure)
{
    (void)closure;
    Py_XINCREF(value);
    Py_XSETREF(((uvffi__hobj_t *)o)->ptr, value);  /* del: made again from raw on the next read */
    return 0;
}

static PyGetSetDef uvffi__hobj_getset[] = {
    {"_ptr", uvffi__hobj_get_ptr, uvffi__hobj_set_ptr, "the cffi uvffi_handle_t *, None once closed", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef uvffi__hobj_members[] = {
    {"_loop", T_OBJECT_EX, offsetof(uvffi__hobj_t, loop), 0, "the handle's Loop"},
    {"_callback", T_OBJECT_EX, offsetof(uvffi__hobj_t, callback), 0, "the callback while started"},
    {"_close_cb", T_OBJECT_EX, offsetof(uvffi__hobj_t, close_cb), 0, "the close callback"},
    {"_closed", T_OBJECT_EX, offsetof(uvffi__hobj_t, closed), 0, "True once close() was called"},
    {NULL, 0, 0, 0, NULL}
};

static PyTypeObject uvffi__HandleBase = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.HandleBase",
    .tp_basicsize = sizeof(uvffi__hobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C storage and lifetime of uvffi.Handle (CPython).",
    .tp_new = uvffi__hobj_new,
    .tp_init = uvffi__hobj_init,
    .tp_finalize = uvffi__hobj_finalize,
    .tp_traverse = uvffi__hobj_traverse,
    .tp_clear = uvffi__hobj_clear,
    .tp_dealloc = uvffi__hobj_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_members = uvffi__hobj_members,
    .tp_getset = uvffi__hobj_getset,
    .tp_methods = uvffi__hobj_methods,
};

/* -- LoopBase -------------------------------------------------------------- */

static PyObject *uvffi__lobj_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    uvffi__lobj_t *self;
    (void)args;
    (void)kw;
    if (type == &uvffi__LoopBase) {
        PyErr_SetString(PyExc_TypeError, "LoopBase is the C base of uvffi.Loop; use Loop");
        return NULL;
    }
    self = (uvffi__lobj_t *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    Py_INCREF(Py_None); self->lp = Py_None;
    Py_INCREF(Py_False); self->closed = Py_False;
    Py_INCREF(Py_False); self->running = Py_False;
    Py_INCREF(Py_None); self->threadsafe = Py_None;
    Py_INCREF(Py_None); self->scheduler = Py_None;
    Py_INCREF(Py_None); self->pending_exc = Py_None;
    return (PyObject *)self;
}

/* Loop.run(mode=RUN_DEFAULT). Here: a valid mode, an open loop that is not
 * running, with no call_soon_threadsafe queue or scheduler to serve first, and
 * either RUN_NOWAIT or a thread other than the main one (the main thread's
 * blocking runs watch the signal wakeup fd: Loop._run). Else Loop._run. */
static PyObject *uvffi__lobj_run(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    long mode = UV_RUN_DEFAULT;
    uvffi_loop_t *lp;
    PyObject *exc;
    int ret;
    if (kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0)
        goto slow;
    if (n > 1)
        goto slow;
    if (n == 1) {
        if (!PyLong_CheckExact(a[0]))
            goto slow;
        mode = PyLong_AsLong(a[0]);
        if (mode != UV_RUN_NOWAIT && mode != UV_RUN_DEFAULT && mode != UV_RUN_ONCE) {
            PyErr_Clear();
            goto slow;
        }
    }
    if (self->closed != Py_False || self->running != Py_False || self->threadsafe != Py_None ||
        self->scheduler != Py_None || self->pending_exc != Py_None || self->lp == NULL)
        goto slow;
    if (mode != UV_RUN_NOWAIT && PyThread_get_thread_ident() == uvffi__main_ident)
        goto slow;
    if ((lp = uvffi__cptr(self->lp, uvffi__ct_loop)) == NULL)
        goto slow;
    Py_INCREF(o);
    UVFFI_SETREF(self->running, Py_True);
    ret = uvffi__run_held(lp, (int)mode);
    UVFFI_SETREF(self->running, Py_False);
    exc = self->pending_exc;
    if (exc != NULL && exc != Py_None) {  /* a callback's BaseException stopped the loop */
        Py_INCREF(Py_None);
        self->pending_exc = Py_None;  /* the reference moves to exc */
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
        Py_DECREF(o);
        return NULL;
    }
    Py_DECREF(o);
    return PyBool_FromLong(ret != 0);
slow:  /* self._run(*args, **kwargs), which raises the proper errors */
    return uvffi__call_py(uvffi__s_loop_run, o, a, nargsf, kwnames);
}

/* Loop.call_soon_threadsafe(fn, *args) once the loop has its C queue (_threadsafe.c);
 * before that (the first call makes the queue), Loop._call_soon_threadsafe. */
static PyTypeObject uvffi__TsafeQueue;
static PyObject *uvffi__tsq_push(PyObject *o, PyObject *loop_o, PyObject *fn, PyObject *args);

static PyObject *uvffi__lobj_call_soon_threadsafe(PyObject *o, PyObject *const *a, size_t nargsf,
                                                  PyObject *kwnames)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    PyObject *args, *r, *q = self->threadsafe;
    if ((kwnames != NULL && PyTuple_GET_SIZE(kwnames) != 0) || n < 1 || q == NULL ||
        Py_TYPE(q) != &uvffi__TsafeQueue)
        return uvffi__call_py(uvffi__s_tsafe_py, o, a, nargsf, kwnames);
    args = PyTuple_New(n - 1);
    if (args == NULL)
        return NULL;
    for (Py_ssize_t i = 1; i < n; i++) {
        Py_INCREF(a[i]);
        PyTuple_SET_ITEM(args, i - 1, a[i]);
    }
    Py_INCREF(q);  /* the queue outlives the call, whatever Python code the future's creation runs */
    r = uvffi__tsq_push(q, o, a[0], args);
    Py_DECREF(q);
    Py_DECREF(args);
    return r;
}

static int uvffi__lobj_traverse(PyObject *o, visitproc visit, void *arg)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_VISIT(self->threadsafe);
    Py_VISIT(self->scheduler);
    Py_VISIT(self->pending_exc);
    return 0;
}

static int uvffi__lobj_clear(PyObject *o)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_CLEAR(self->threadsafe);
    Py_CLEAR(self->scheduler);
    Py_CLEAR(self->pending_exc);
    return 0;
}

static void uvffi__lobj_dealloc(PyObject *o)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    PyObject_GC_UnTrack(o);
    uvffi__lobj_clear(o);
    Py_CLEAR(self->lp);
    Py_CLEAR(self->closed);
    Py_CLEAR(self->running);
    Py_TYPE(o)->tp_free(o);
}

static PyMemberDef uvffi__lobj_members[] = {
    {"_lp", T_OBJECT_EX, offsetof(uvffi__lobj_t, lp), 0, "the cffi uvffi_loop_t *, None once closed"},
    {"_closed", T_OBJECT_EX, offsetof(uvffi__lobj_t, closed), 0, "True once close() has run"},
    {"_running", T_OBJECT_EX, offsetof(uvffi__lobj_t, running), 0, "True inside run() or close()"},
    {"_threadsafe", T_OBJECT_EX, offsetof(uvffi__lobj_t, threadsafe), 0, "call_soon_threadsafe's queue"},
    {"_scheduler", T_OBJECT_EX, offsetof(uvffi__lobj_t, scheduler), 0, "uvffi.scheduler's state"},
    {"_pending_exc", T_OBJECT_EX, offsetof(uvffi__lobj_t, pending_exc), 0, "raised by run() after the loop"},
    {NULL, 0, 0, 0, NULL}
};

static PyMethodDef uvffi__lobj_methods[] = {
    {"call_soon_threadsafe", (PyCFunction)(void (*)(void))uvffi__lobj_call_soon_threadsafe,
     METH_FASTCALL | METH_KEYWORDS,
     "call_soon_threadsafe(fn, *args)\n--\n\n"
     "Run ``fn(*args)`` on the loop's thread; safe from any thread. Returns a\n"
     ":class:`concurrent.futures.Future` with ``fn``'s result or exception (see\n"
     "uvffi.threadsafe)."},
    {"run", (PyCFunction)(void (*)(void))uvffi__lobj_run, METH_FASTCALL | METH_KEYWORDS,
     "run(mode=RUN_DEFAULT)\n--\n\n"
     "Run the loop: ``RUN_DEFAULT`` until nothing is left to do, ``RUN_ONCE``\n"
     "one iteration waiting for events, ``RUN_NOWAIT`` one iteration without\n"
     "waiting. Returns True if there is still work (``uv_run``'s result)."},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject uvffi__LoopBase = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.LoopBase",
    .tp_basicsize = sizeof(uvffi__lobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C storage of uvffi.Loop and its run() (CPython).",
    .tp_new = uvffi__lobj_new,
    .tp_traverse = uvffi__lobj_traverse,
    .tp_clear = uvffi__lobj_clear,
    .tp_dealloc = uvffi__lobj_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_members = uvffi__lobj_members,
    .tp_methods = uvffi__lobj_methods,
};

/* Ready both types and put them into the fast-path dict as "HandleBase" and
 * "LoopBase". GIL held. Returns 0, or -1 with an exception set. */
static int uvffi__bases_install(PyObject *dict, unsigned long main_ident)
{
    uvffi__main_ident = main_ident;
    if (uvffi__s_init == NULL) {
        uvffi__s_init = PyUnicode_InternFromString("_init");
        uvffi__s_kind = PyUnicode_InternFromString("_kind");
        uvffi__s_loop_run = PyUnicode_InternFromString("_run");
        uvffi__s_close_py = PyUnicode_InternFromString("_close");
        uvffi__s_start_py = PyUnicode_InternFromString("_start");
        uvffi__s_send_py = PyUnicode_InternFromString("_send");
        uvffi__s_tsafe_py = PyUnicode_InternFromString("_call_soon_threadsafe");
        if (uvffi__s_send_py == NULL || uvffi__s_tsafe_py == NULL || uvffi__s_init == NULL || uvffi__s_kind == NULL || uvffi__s_loop_run == NULL ||
            uvffi__s_close_py == NULL || uvffi__s_start_py == NULL)
            return -1;
    }
    if (PyType_Ready(&uvffi__HandleBase) < 0 || PyType_Ready(&uvffi__LoopBase) < 0)
        return -1;
    if (PyDict_SetItemString(dict, "HandleBase", (PyObject *)&uvffi__HandleBase) < 0 ||
        PyDict_SetItemString(dict, "LoopBase", (PyObject *)&uvffi__LoopBase) < 0)
        return -1;
    return 0;
}
