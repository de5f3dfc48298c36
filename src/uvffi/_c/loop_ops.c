/*
 * CPython only: LoopStorage, the C storage of uvffi.Loop, and LoopOps, its C
 * run() and call_soon_threadsafe() (see bases.c for the pattern).
 */

/* -- LoopStorage and LoopOps -------------------------------------------------- */

static PyObject *uvffi__lobj_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    uvffi__lobj_t *self;
    (void)args;
    (void)kw;
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

/* The collector's view of a loop: its Python attributes, and the strong
 * references C holds to the loop's active and closing handles (trampoline.c
 * keeps them listed). The rule: C's references to the handles of a loop are
 * the loop's own. A handle reaches its loop (_loop), so a loop that nothing
 * but its own handles (and their callbacks) reaches is a cycle the collector
 * finds unreachable; Loop.__del__ then closes it, which drops C's references.
 * Not when other wrappers share the uv_loop_t (close() refuses then) nor for
 * requests in flight (a pool thread may run them: they keep their loop). */
static int uvffi__lobj_traverse(PyObject *o, visitproc visit, void *arg)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    uvffi_loop_t *lp = self->raw;
    Py_VISIT(self->threadsafe);
    Py_VISIT(self->scheduler);
    Py_VISIT(self->pending_exc);
    if (lp != NULL && lp->pyloop == (uintptr_t)o && lp->shared->users == 1 && !lp->closing) {
        uvffi_handle_t *h;
        for (h = lp->kept_head; h != NULL; h = h->kept_next)
            if (h->self != 0)
                Py_VISIT((PyObject *)h->self);
    }
    return 0;
}

/* A callback's BaseException: kept to be raised by run() (the first one wins)
 * and the loop stopped, as Loop._handle_error does, without Python code. */
static void uvffi__loop_stop_with(PyObject *loop, PyObject *exc)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)loop;
    if (self->pending_exc == NULL || self->pending_exc == Py_None)
        UVFFI_SETREF(self->pending_exc, exc);
    if (self->raw != NULL && self->closed == Py_False)
        uv_stop(self->raw->loop);
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
    if (self->raw != NULL && self->raw->pyloop == (uintptr_t)o)
        self->raw->pyloop = 0;  /* an unclosed loop's C side must not call a freed object */
    uvffi__lobj_clear(o);
    Py_CLEAR(self->lp);
    Py_CLEAR(self->closed);
    Py_CLEAR(self->running);
    Py_TYPE(o)->tp_free(o);
}

static PyObject *uvffi__lobj_get_lp(PyObject *o, void *closure)
{
    PyObject *v = ((uvffi__lobj_t *)o)->lp;
    (void)closure;
    if (v == NULL)
        v = Py_None;
    Py_INCREF(v);
    return v;
}

static int uvffi__lobj_set_lp(PyObject *o, PyObject *value, void *closure)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    uvffi_loop_t *raw = NULL;
    (void)closure;
    if (value != NULL && value != Py_None && (raw = uvffi__cptr(value, uvffi__ct_loop)) == NULL) {
        PyErr_SetString(PyExc_TypeError, "_lp must be a uvffi_loop_t * or None");
        return -1;
    }
    Py_XINCREF(value);
    Py_XSETREF(self->lp, value);
    self->raw = raw;
    return 0;
}

static PyGetSetDef uvffi__lobj_getset[] = {
    {"_lp", uvffi__lobj_get_lp, uvffi__lobj_set_lp, "the cffi uvffi_loop_t *, None once closed", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyMemberDef uvffi__lobj_members[] = {
    {"_closed", T_OBJECT_EX, offsetof(uvffi__lobj_t, closed), 0, "True once close() has run"},
    {"_running", T_OBJECT_EX, offsetof(uvffi__lobj_t, running), 0, "True inside run() or close()"},
    {"_threadsafe", T_OBJECT_EX, offsetof(uvffi__lobj_t, threadsafe), 0, "call_soon_threadsafe's queue"},
    {"_scheduler", T_OBJECT_EX, offsetof(uvffi__lobj_t, scheduler), 0, "uvffi.scheduler's state"},
    {"_pending_exc", T_OBJECT_EX, offsetof(uvffi__lobj_t, pending_exc), 0, "raised by run() after the loop"},
    {NULL, 0, 0, 0, NULL}
};

static PyTypeObject uvffi__LoopStorage = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.LoopStorage",
    .tp_basicsize = sizeof(uvffi__lobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C storage of uvffi.Loop (CPython).",
    .tp_new = uvffi__lobj_new,
    .tp_traverse = uvffi__lobj_traverse,
    .tp_clear = uvffi__lobj_clear,
    .tp_dealloc = uvffi__lobj_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_members = uvffi__lobj_members,
    .tp_getset = uvffi__lobj_getset,
};

static int uvffi__run_held(uvffi_loop_t *lp, int mode);
static PyTypeObject uvffi__LoopOps;
static PyObject *uvffi__lops_run_now(PyObject *o, int mode);

/* Whether the C run may take the loop now: open, not running here or in
 * another thread, nothing queued by other threads or the scheduler, no
 * BaseException waiting to be raised. */
static int uvffi__lops_runnable(uvffi__lobj_t *self)
{
    return self->closed == Py_False && self->running == Py_False && self->threadsafe == Py_None &&
           self->scheduler == Py_None && self->pending_exc == Py_None && self->raw != NULL &&
           !self->raw->shared->running && !self->raw->closing;
}

/* run(mode=RUN_DEFAULT). Here: a valid mode, an open loop that is not running,
 * nothing queued by other threads or the scheduler to serve first, and either
 * RUN_NOWAIT or a thread other than the main one (the main thread's blocking
 * runs watch the signal wakeup fd). Else the Python run. */
static PyObject *uvffi__lops_run(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    long mode = UV_RUN_DEFAULT;
    if (!UVFFI_NOKW(kwnames) || n > 1)
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
    if (!uvffi__lops_runnable(self))
        goto slow;
    if (mode != UV_RUN_NOWAIT && PyThread_get_thread_ident() == uvffi__main_ident)
        goto slow;
    return uvffi__lops_run_now(o, (int)mode);
slow:
    return uvffi__call_next(&uvffi__LoopOps, uvffi__s_lrun, o, a, nargsf, kwnames);
}

/* The run itself, once the caller has checked that the C path may take it (an
 * open loop that is not running, nothing queued to serve first, and a mode that
 * needs no signal wakeup set around it): the running flag around uv_run, and a
 * callback's BaseException raised. */
static PyObject *uvffi__lops_run_now(PyObject *o, int mode)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    PyObject *exc;
    int ret;
    Py_INCREF(o);
    UVFFI_SETREF(self->running, Py_True);
    ret = uvffi__run_held(self->raw, (int)mode);
    UVFFI_SETREF(self->running, Py_False);
    if (ret < 0) {  /* another thread began running it meanwhile */
        Py_DECREF(o);
        PyErr_SetString(PyExc_RuntimeError, "this loop is already running");
        return NULL;
    }
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
}

/* call_soon_threadsafe(fn, *args) once the loop has its C queue (threadsafe.c). */
static PyTypeObject uvffi__TsafeQueue;
static PyObject *uvffi__tsq_push(PyObject *o, PyObject *loop_o, PyObject *fn, PyObject *args);

static PyObject *uvffi__lops_call_soon_threadsafe(PyObject *o, PyObject *const *a, size_t nargsf,
                                                  PyObject *kwnames)
{
    uvffi__lobj_t *self = (uvffi__lobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    PyObject *args, *r, *q = self->threadsafe;
    if (!UVFFI_NOKW(kwnames) || n < 1 || q == NULL || Py_TYPE(q) != &uvffi__TsafeQueue)
        return uvffi__call_next(&uvffi__LoopOps, uvffi__s_tsafe, o, a, nargsf, kwnames);
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

static PyMethodDef uvffi__lops_methods[] = {
    {"call_soon_threadsafe", (PyCFunction)(void (*)(void))uvffi__lops_call_soon_threadsafe,
     METH_FASTCALL | METH_KEYWORDS,
     "call_soon_threadsafe(fn, *args)\n--\n\n"
     "Run ``fn(*args)`` on the loop's thread; safe from any thread. Returns a\n"
     ":class:`concurrent.futures.Future` with ``fn``'s result or exception\n"
     "(see :mod:`uvffi.threadsafe`)."},
    {"run", (PyCFunction)(void (*)(void))uvffi__lops_run, METH_FASTCALL | METH_KEYWORDS,
     "run(mode=uvffi.RUN_DEFAULT)\n--\n\n"
     "Run the loop: ``RUN_DEFAULT`` until nothing is left to do, ``RUN_ONCE``\n"
     "one iteration waiting for events, ``RUN_NOWAIT`` one iteration without\n"
     "waiting. Returns True if there is still work (``uv_run``'s result)."},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject uvffi__LoopOps = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.LoopOps",
    .tp_basicsize = sizeof(uvffi__lobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC and its slots: inherited */
    .tp_doc = "C methods of uvffi.Loop: run() and call_soon_threadsafe() (CPython).",
    .tp_base = &uvffi__LoopStorage,
    .tp_methods = uvffi__lops_methods,
};

