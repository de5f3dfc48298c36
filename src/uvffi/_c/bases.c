/*
 * CPython only: the C storage of Handle and Loop, and the C methods that take
 * the plain case of the hot calls (the Loop's are in loop_ops.c).
 *
 *   HandleStorage  base of uvffi.Handle: _ptr, _loop, _callback, _close_cb,
 *                  _closed as struct slots; creation defaults, the finaliser
 *                  (an open handle whose object dies goes to the graveyard) and
 *                  the bookkeeping of the close callback, done in C so that no
 *                  Python code, subclass or KeyboardInterrupt can skip it.
 *   LoopStorage    base of uvffi.Loop: _lp, _closed, _running, _threadsafe,
 *                  _scheduler, _pending_exc.
 *   HandleOps, LoopOps, and each kind's own (TimerOps in timer.c, ...): C
 *                  methods put in front of the Python implementation in the MRO
 *                  (`class Timer(TimerOps, _Timer)`): they do the plain case and
 *                  hand anything else (keyword arguments, odd types, a closed
 *                  handle, errors) to the next class in the MRO, the Python
 *                  implementation, which is also what PyPy and UVFFI_NO_CBASE=1
 *                  run. One implementation raises every error.
 *
 * The storage types are always the base classes on CPython; the Ops types are
 * installed unless UVFFI_NO_CBASE=1 (uvffi/_core/cbase.py decides, once).
 */
#include <structmember.h>

/* The head of cffi's CDataObject (_cffi_backend.c), stable since cffi 1.0;
 * checked at install on a known address before anything relies on it. */
typedef struct {
    PyObject_HEAD
    void *c_type;
    char *c_data;
} uvffi__cdata_t;

static PyTypeObject *uvffi__cdata_type;  /* type of a cffi pointer object */
static void *uvffi__ct_handle;           /* cffi ctype of "uvffi_handle_t *" */
static void *uvffi__ct_loop;             /* cffi ctype of "uvffi_loop_t *" */
static unsigned long uvffi__main_ident;  /* threading.main_thread().ident */

/* The C pointer inside cffi pointer o of ctype `ctype`, or NULL. */
static void *uvffi__cptr(PyObject *o, void *ctype)
{
    if (o == NULL || Py_TYPE(o) != uvffi__cdata_type || ((uvffi__cdata_t *)o)->c_type != ctype)
        return NULL;
    return ((uvffi__cdata_t *)o)->c_data;
}

#define UVFFI_SETREF(field, value) \
    do { PyObject *uvffi__v = (value); Py_INCREF(uvffi__v); Py_XSETREF(field, uvffi__v); } while (0)
#define UVFFI_NOKW(kwnames) ((kwnames) == NULL || PyTuple_GET_SIZE(kwnames) == 0)
/* In a C type's install function (returning int): intern the name s into var once. */
#define UVFFI_INTERN(var, s) if (var == NULL && (var = PyUnicode_InternFromString(s)) == NULL) return -1;


typedef struct {
    PyObject_HEAD
    PyObject *lp;          /* _lp: the cffi "uvffi_loop_t *"; None once closed */
    uvffi_loop_t *raw;     /* the same pointer, kept by _lp's setter */
    PyObject *closed;      /* _closed */
    PyObject *running;     /* _running */
    PyObject *threadsafe;  /* _threadsafe: the call_soon_threadsafe queue or None */
    PyObject *scheduler;   /* _scheduler: uvffi.scheduler's state or None */
    PyObject *pending_exc; /* _pending_exc: a BaseException to raise from run() */
} uvffi__lobj_t;

static PyTypeObject uvffi__LoopStorage;
static PyTypeObject uvffi__LoopOps;

/* Call super(after, self).<name>(*args, **kw): the next implementation in the
 * MRO, for everything a C method does not take itself. */
static PyObject *uvffi__call_next(PyTypeObject *after, PyObject *name, PyObject *self, PyObject *const *a,
                                  size_t nargsf, PyObject *kwnames)
{
    PyObject *sup, *meth, *r;
    sup = PyObject_CallFunctionObjArgs((PyObject *)&PySuper_Type, (PyObject *)after, self, NULL);
    if (sup == NULL)
        return NULL;
    meth = PyObject_GetAttr(sup, name);
    Py_DECREF(sup);
    if (meth == NULL)
        return NULL;
    r = PyObject_Vectorcall(meth, a, nargsf, kwnames);
    Py_DECREF(meth);
    return r;
}

/* Seconds (exact float or int, finite, >= 0) to libuv milliseconds, as
 * handles/timer.py's to_ms; -1: not the plain case (the Python path judges). */
static int uvffi__to_ms(PyObject *o, uint64_t *out)
{
    double sec, ms;
    uint64_t m;
    if (PyFloat_CheckExact(o)) {
        sec = PyFloat_AS_DOUBLE(o);
    } else if (PyLong_CheckExact(o)) {
        sec = PyLong_AsDouble(o);
        if (sec == -1.0 && PyErr_Occurred()) {
            PyErr_Clear();
            return -1;
        }
    } else {
        return -1;
    }
    if (!(sec == 0.0 || (sec >= 0.001 && sec < 1e15)))  /* NaN, negative, sub-ms: Python warns or raises */
        return -1;
    ms = sec * 1000.0;
    m = (uint64_t)ms;
    *out = m;
    return 0;
}

/* -- HandleStorage ---------------------------------------------------------- */

/* h's Python callback as a new reference; NULL (no exception) when there is none. */
static PyObject *uvffi__callback_of(uvffi_handle_t *h)
{
    PyObject *cb;
    if (h->cstorage) {
        cb = ((uvffi__hobj_t *)h->self)->callback;
        if (cb == NULL || cb == Py_None)
            return NULL;
        Py_INCREF(cb);
        return cb;
    }
    /* Python storage (the C core did not recognise cffi's objects): the attribute */
    cb = PyObject_GetAttrString((PyObject *)h->self, "_callback");
    if (cb == NULL)
        PyErr_Clear();
    else if (cb == Py_None)
        Py_CLEAR(cb);
    return cb;
}

static PyObject *uvffi__s_loop;   /* interned "_loop" */

/* The loop of a handle, a request or a loop (borrowed), or NULL. */
static PyObject *uvffi__loop_of(PyObject *source)
{
    PyObject *loop;
    if (source == NULL)
        return NULL;
    if (PyObject_TypeCheck(source, &uvffi__LoopStorage))
        return source;
    if (PyObject_TypeCheck(source, &uvffi__HandleStorage))
        loop = ((uvffi__hobj_t *)source)->loop;
    else if (uvffi__s_loop == NULL)
        return NULL;
    else {
        PyObject *d = PyObject_GenericGetDict(source, NULL);  /* a request's plain __dict__ */
        loop = NULL;
        if (d == NULL)
            PyErr_Clear();
        else {
            loop = PyDict_GetItemWithError(d, uvffi__s_loop);
            if (loop == NULL)
                PyErr_Clear();
            Py_DECREF(d);  /* the instance keeps the dict, and the dict the loop */
        }
    }
    return loop != NULL && PyObject_TypeCheck(loop, &uvffi__LoopStorage) ? loop : NULL;
}

static PyObject *uvffi__hobj_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    uvffi__hobj_t *self;
    (void)args;
    (void)kw;
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

static void uvffi__hobj_bind(uvffi_handle_t *h)
{
    PyObject *o = (PyObject *)h->self;
    if (o != NULL && PyObject_TypeCheck(o, &uvffi__HandleStorage)) {
        ((uvffi__hobj_t *)o)->raw = h;
        h->cstorage = 1;
    }
}

static void uvffi__hobj_unbind(uvffi_handle_t *h)
{
    PyObject *o = (PyObject *)h->self;
    if (o != NULL && h->cstorage && ((uvffi__hobj_t *)o)->raw == h)
        ((uvffi__hobj_t *)o)->raw = NULL;
}

/* An open handle whose Python object dies is closed on the loop's thread (from
 * any thread); only its raw memory is freed then. The C handle (raw) decides,
 * not _ptr or _closed, which Python code could change. */
static void uvffi__hobj_finalize(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    if (h == NULL || h->kept)  /* kept: garbage with its loop, whose close() closes it */
        return;
    uvffi_handle_abandon(h);  /* unbinds: raw is NULL after, _ptr reads None */
    Py_CLEAR(self->ptr);
}

/* The close callback's bookkeeping, then the user's close callback; returns
 * that callback's result. */
static PyObject *uvffi__hobj_closed(PyObject *o)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject *cb, *r;
    Py_CLEAR(self->ptr);  /* raw is NULL already: _ptr reads None */
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

/* _ptr: a view of raw, the C handle: None once the handle is closed (or not yet
 * made), else the cffi pointer for the Python methods' lib.* calls, made on first
 * read and cached (the C methods use raw). */
static PyObject *uvffi__hobj_get_ptr(PyObject *o, void *closure)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject *made;
    (void)closure;
    if (self->raw == NULL)
        Py_RETURN_NONE;
    if (self->ptr == NULL || self->ptr == Py_None) {
        made = _cffi_from_c_pointer((char *)self->raw, uvffi__ct_handle);
        if (made == NULL)
            return NULL;
        if (self->ptr == NULL || self->ptr == Py_None)  /* the allocation may have let another thread make one */
            Py_XSETREF(self->ptr, made);
        else
            Py_DECREF(made);
    }
    Py_INCREF(self->ptr);
    return self->ptr;
}

/* Setting _ptr to the handle's own pointer caches it (Handle.__init__'s Python
 * path); None or del clears the cache only: raw is what C knows. Any other value
 * is refused: the storage cannot be made to point elsewhere. */
static int uvffi__hobj_set_ptr(PyObject *o, PyObject *value, void *closure)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h;
    (void)closure;
    if (value == NULL || value == Py_None) {
        Py_CLEAR(self->ptr);
        return 0;
    }
    if ((h = uvffi__cptr(value, uvffi__ct_handle)) == NULL) {
        PyErr_SetString(PyExc_TypeError, "_ptr must be a uvffi_handle_t * or None");
        return -1;
    }
    if (h != self->raw) {
        PyErr_SetString(PyExc_RuntimeError, self->raw == NULL ? "this handle is closed or not initialised"
                                                             : "this handle is already initialised");
        return -1;
    }
    Py_INCREF(value);
    Py_XSETREF(self->ptr, value);
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

static PyTypeObject uvffi__HandleStorage = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.HandleStorage",
    .tp_basicsize = sizeof(uvffi__hobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "C storage and lifetime of uvffi.Handle (CPython).",
    .tp_new = uvffi__hobj_new,
    .tp_finalize = uvffi__hobj_finalize,
    .tp_traverse = uvffi__hobj_traverse,
    .tp_clear = uvffi__hobj_clear,
    .tp_dealloc = uvffi__hobj_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_members = uvffi__hobj_members,
    .tp_getset = uvffi__hobj_getset,
};

/* -- HandleOps: creation and close ------------------------------------------ */

static PyTypeObject uvffi__HandleOps;
static PyObject *uvffi__s_init;   /* interned "__init__" */
static PyObject *uvffi__s_kind;   /* interned "_kind": the class's kind index */
static PyObject *uvffi__s_close;  /* interned "close" */
static PyObject *uvffi__s_start;  /* interned "start" */
static PyObject *uvffi__s_stop;   /* interned "stop" */
static PyObject *uvffi__s_send;   /* interned "send" */
static PyObject *uvffi__s_lrun;   /* interned "run" */
static PyObject *uvffi__s_tsafe;  /* interned "call_soon_threadsafe" */

/* Handle(loop): the plain case; the rest in the Python __init__. */
static int uvffi__hops_init(PyObject *o, PyObject *args, PyObject *kw)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    PyObject *loop, *kind_o, *sup, *meth, *r;
    uvffi__lobj_t *lo;
    uvffi_handle_t *h;
    long kind;
    if ((kw != NULL && PyDict_GET_SIZE(kw) != 0) || PyTuple_GET_SIZE(args) != 1 || self->raw != NULL ||
        (self->ptr != NULL && self->ptr != Py_None))
        goto slow;
    loop = PyTuple_GET_ITEM(args, 0);
    if (!PyObject_TypeCheck(loop, &uvffi__LoopStorage))
        goto slow;
    lo = (uvffi__lobj_t *)loop;
    if (lo->closed != Py_False || lo->raw == NULL)
        goto slow;
    kind_o = _PyType_Lookup(Py_TYPE(o), uvffi__s_kind); /* borrowed; the type cache answers */
    if (kind_o == NULL || !PyLong_CheckExact(kind_o))
        goto slow;
    kind = PyLong_AsLong(kind_o);
    if (uvffi__kind_at((int)kind) == NULL || uvffi__kind_at((int)kind)->needs_arg) {
        PyErr_Clear();
        goto slow;
    }
    /* binds: self->raw = h; _ptr's cffi pointer is made only if Python reads it */
    h = uvffi__handle_new(lo->raw, (int)kind, (uintptr_t)o, 0, 1);
    if (h == NULL)  /* the Python path fails the same way, and raises the right error */
        goto slow;
    UVFFI_SETREF(self->loop, loop);
    Py_CLEAR(self->ptr);
    return 0;
slow:
    sup = PyObject_CallFunctionObjArgs((PyObject *)&PySuper_Type, (PyObject *)&uvffi__HandleOps, o, NULL);
    if (sup == NULL)
        return -1;
    meth = PyObject_GetAttr(sup, uvffi__s_init);
    Py_DECREF(sup);
    if (meth == NULL)
        return -1;
    r = PyObject_Call(meth, args, kw);
    Py_DECREF(meth);
    if (r == NULL)
        return -1;
    Py_DECREF(r);
    return 0;
}

/* close(callback=None) */
static PyObject *uvffi__hops_close(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf);
    PyObject *cb = n == 1 ? a[0] : Py_None;
    uvffi_handle_t *h;
    if (!UVFFI_NOKW(kwnames) || n > 1 || self->closed != Py_False || (cb != Py_None && !PyCallable_Check(cb)) ||
        (h = self->raw) == NULL || uvffi__handle_close(h, 1) != 0)
        return uvffi__call_next(&uvffi__HandleOps, uvffi__s_close, o, a, nargsf, kwnames);
    if (cb != Py_None)
        UVFFI_SETREF(self->close_cb, cb);
    UVFFI_SETREF(self->closed, Py_True);
    Py_RETURN_NONE;
}

/* stop() as a C method of the kind's Ops type `ops`; the rest in the Python stop. */
#define UVFFI_STOP_METHOD(fname, ops, kind)                             \
    static PyObject *fname(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames) \
    {                                                                   \
        uvffi_handle_t *h = ((uvffi__hobj_t *)o)->raw;                  \
        if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 0 || h == NULL || \
            uvffi__handle_stop(h, (kind), 1) != 0)                      \
            return uvffi__call_next(&(ops), uvffi__s_stop, o, a, nargsf, kwnames); \
        Py_RETURN_NONE;                                                 \
    }
#define UVFFI_STOP_DEF(fname)                                           \
    {"stop", (PyCFunction)(void (*)(void))fname, METH_FASTCALL | METH_KEYWORDS, \
     "stop()\n--\n\nStop the handle: its callback does not run until started again."}

static PyMethodDef uvffi__hops_methods[] = {
    {"close", (PyCFunction)(void (*)(void))uvffi__hops_close, METH_FASTCALL | METH_KEYWORDS,
     "close(callback=None)\n--\n\n"
     "Close the handle; ``callback(handle)`` runs once libuv has closed it.\n\n"
     "Closing twice raises :class:`~uvffi.error.HandleClosedError`."},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject uvffi__HandleOps = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.HandleOps",
    .tp_basicsize = sizeof(uvffi__hobj_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, /* GC and its slots: inherited */
    .tp_doc = "C methods of every handle: creation and close (CPython).",
    .tp_base = &uvffi__HandleStorage,
    .tp_init = uvffi__hops_init,
    .tp_methods = uvffi__hops_methods,
};

/* A kind's C methods: a type derived from HandleOps, adding no storage. */
#define UVFFI_OPS_TYPE(var, pyname, doc, methods)                       \
    static PyTypeObject var = {                                         \
        PyVarObject_HEAD_INIT(NULL, 0)                                  \
        .tp_name = "uvffi._uv." pyname,                                 \
        .tp_basicsize = sizeof(uvffi__hobj_t),                          \
        .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,      \
        .tp_doc = doc,                                                  \
        .tp_base = &uvffi__HandleOps,                                   \
        .tp_methods = methods,                                          \
    };

/* Ready a type and put it into dict under its short name. */
static int uvffi__publish(PyObject *dict, PyTypeObject *type)
{
    const char *dot = strrchr(type->tp_name, '.');
    if (PyType_Ready(type) < 0)
        return -1;
    return PyDict_SetItemString(dict, dot ? dot + 1 : type->tp_name, (PyObject *)type);
}

static int uvffi__bases_install(PyObject *dict, unsigned long main_ident)
{
    uvffi__main_ident = main_ident;
    UVFFI_INTERN(uvffi__s_init, "__init__")
    UVFFI_INTERN(uvffi__s_kind, "_kind")
    UVFFI_INTERN(uvffi__s_close, "close")
    UVFFI_INTERN(uvffi__s_start, "start")
    UVFFI_INTERN(uvffi__s_stop, "stop")
    UVFFI_INTERN(uvffi__s_send, "send")
    UVFFI_INTERN(uvffi__s_lrun, "run")
    UVFFI_INTERN(uvffi__s_tsafe, "call_soon_threadsafe")
    UVFFI_INTERN(uvffi__s_loop, "_loop")
    if (uvffi__publish(dict, &uvffi__HandleStorage) < 0 || uvffi__publish(dict, &uvffi__HandleOps) < 0 ||
        uvffi__publish(dict, &uvffi__LoopStorage) < 0 || uvffi__publish(dict, &uvffi__LoopOps) < 0)
        return -1;
    return 0;
}
