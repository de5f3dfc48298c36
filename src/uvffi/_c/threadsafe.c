/*
 * call_soon_threadsafe's queue in C (CPython only; after bases.c). threadsafe.py has the same queue in Python, which PyPy uses; the
 * batch itself (futures, exceptions, the scheduler's ticks) is run by
 * threadsafe.run_batch in both cases, over the same five operations:
 *
 *   submit(loop, fn, args) -> future   any thread: queue, and wake the loop if
 *                                      the queue was empty
 *   take() -> list or None             loop thread: swap the whole queue out
 *   requeue(calls)                     loop thread: put calls back in front
 *   close() -> list                    refuse submits from now on; what was queued
 *   pending                            how many calls wait
 *
 * No lock: each operation's critical section runs under the GIL without
 * releasing it. That holds only if nothing inside it can run Python code, so
 * no object is allocated there (allocation may start the cyclic GC, whose
 * finalisers may switch threads) and no reference is dropped there (a
 * finaliser again): the future, the queued tuple and the fresh list are made
 * before, the references are dropped after. (A free-threaded CPython would need
 * a lock here; cffi does not build for one.)
 */

typedef struct {
    PyObject_HEAD
    PyObject *calls;  /* list of (future, fn, args) */
    int closed;
} uvffi__tsq_t;

static PyTypeObject uvffi__TsafeQueue;
static PyObject *uvffi__tsq_new_future;  /* lazy_future.new_future or Future */
static PyObject *uvffi__tsq_closed_exc;  /* uvffi.error.LoopClosedError */
static PyObject *uvffi__tsq_raise_for;   /* uvffi.error.raise_for(code) */

static PyObject *uvffi__tsq_tp_new(PyTypeObject *type, PyObject *args, PyObject *kw)
{
    uvffi__tsq_t *self;
    if (PyTuple_GET_SIZE(args) != 0 || (kw != NULL && PyDict_GET_SIZE(kw) != 0)) {
        PyErr_SetString(PyExc_TypeError, "ThreadsafeQueue() takes no arguments");
        return NULL;
    }
    self = (uvffi__tsq_t *)type->tp_alloc(type, 0);
    if (self == NULL)
        return NULL;
    self->calls = PyList_New(0);
    if (self->calls == NULL) {
        Py_DECREF(self);
        return NULL;
    }
    return (PyObject *)self;
}

static PyObject *uvffi__tsq_loop_closed(void)
{
    PyErr_SetString(uvffi__tsq_closed_exc != NULL ? uvffi__tsq_closed_exc : PyExc_RuntimeError,
                    "the loop is closed");
    return NULL;
}

/* Queue fn(*args) (args: a tuple) on queue o of loop (a LoopBase); returns the future. */
static PyObject *uvffi__tsq_push(PyObject *o, PyObject *loop_o, PyObject *fn, PyObject *args)
{
    uvffi__tsq_t *self = (uvffi__tsq_t *)o;
    uvffi__lobj_t *loop = (uvffi__lobj_t *)loop_o;
    uvffi_loop_t *lp;
    PyObject *fut, *item, *r;
    int err = 0, closed = 0, failed = 0;
    if (!PyCallable_Check(fn)) {
        PyErr_SetString(PyExc_TypeError, "a callable is required");
        return NULL;
    }
    if (uvffi__tsq_new_future == NULL)
        return uvffi__tsq_loop_closed();
    fut = PyObject_CallNoArgs(uvffi__tsq_new_future);
    if (fut == NULL)
        return NULL;
    item = PyTuple_Pack(3, fut, fn, args);
    if (item == NULL) {
        Py_DECREF(fut);
        return NULL;
    }
    /* -- critical section: no allocation of objects, no reference dropped -- */
    if (self->closed || loop->closed != Py_False || (lp = loop->raw) == NULL) {
        closed = 1;
    } else if (PyList_Append(self->calls, item) < 0) {  /* grows the item array only */
        failed = 1;
    } else if (PyList_GET_SIZE(self->calls) == 1 && (err = uv_async_send(&lp->tsafe)) != 0) {
        /* the queue was empty and no wake-up was sent: take the call back (the list's
         * reference goes; ours is still held, so no finaliser runs) */
        if (PyList_SetSlice(self->calls, 0, 1, NULL) < 0)
            failed = 1;
    }
    /* -- end of the critical section -- */
    Py_DECREF(item);
    if (closed) {
        Py_DECREF(fut);
        return uvffi__tsq_loop_closed();
    }
    if (failed) {
        Py_DECREF(fut);
        return NULL;
    }
    if (err) {
        Py_DECREF(fut);
        if (uvffi__tsq_raise_for == NULL)
            return PyErr_Format(PyExc_OSError, "uv_async_send failed: %d", err);
        r = PyObject_CallFunction(uvffi__tsq_raise_for, "i", err);
        Py_XDECREF(r);
        return NULL;
    }
    return fut;
}

/* submit(loop, fn, args) */
static PyObject *uvffi__tsq_submit(PyObject *o, PyObject *const *a, Py_ssize_t n)
{
    if (n != 3 || !PyObject_TypeCheck(a[0], &uvffi__LoopStorage) || !PyTuple_Check(a[2])) {
        PyErr_SetString(PyExc_TypeError, "submit(loop, fn, args): a uvffi Loop, a callable and a tuple");
        return NULL;
    }
    return uvffi__tsq_push(o, a[0], a[1], a[2]);
}

/* take() -> the queued calls (the queue is left empty), or None */
static PyObject *uvffi__tsq_take(PyObject *o, PyObject *unused)
{
    uvffi__tsq_t *self = (uvffi__tsq_t *)o;
    PyObject *fresh, *old;
    (void)unused;
    if (PyList_GET_SIZE(self->calls) == 0)
        Py_RETURN_NONE;
    fresh = PyList_New(0);
    if (fresh == NULL)
        return NULL;
    old = self->calls;  /* critical section: two stores */
    self->calls = fresh;
    return old;
}

/* requeue(calls): put calls back in front of the queue */
static PyObject *uvffi__tsq_requeue(PyObject *o, PyObject *calls)
{
    uvffi__tsq_t *self = (uvffi__tsq_t *)o;
    if (!PyList_CheckExact(calls)) {
        PyErr_SetString(PyExc_TypeError, "requeue() takes a list");
        return NULL;
    }
    /* inserting references only grows the item array: no allocation of objects */
    if (PyList_SetSlice(self->calls, 0, 0, calls) < 0)
        return NULL;
    Py_RETURN_NONE;
}

/* close() -> what was queued; submit() raises LoopClosedError from now on */
static PyObject *uvffi__tsq_close(PyObject *o, PyObject *unused)
{
    uvffi__tsq_t *self = (uvffi__tsq_t *)o;
    PyObject *fresh = PyList_New(0), *old;
    (void)unused;
    if (fresh == NULL)
        return NULL;
    self->closed = 1;  /* critical section: three stores */
    old = self->calls;
    self->calls = fresh;
    return old;
}

static PyObject *uvffi__tsq_pending(PyObject *o, void *closure)
{
    (void)closure;
    return PyLong_FromSsize_t(PyList_GET_SIZE(((uvffi__tsq_t *)o)->calls));
}

static int uvffi__tsq_traverse(PyObject *o, visitproc visit, void *arg)
{
    Py_VISIT(((uvffi__tsq_t *)o)->calls);
    return 0;
}

static int uvffi__tsq_clear(PyObject *o)
{
    uvffi__tsq_t *self = (uvffi__tsq_t *)o;
    PyObject *fresh = PyList_New(0);  /* the queue stays a list, if an empty one */
    if (fresh == NULL) {
        PyErr_Clear();
        return 0;
    }
    Py_SETREF(self->calls, fresh);
    return 0;
}

static void uvffi__tsq_dealloc(PyObject *o)
{
    PyObject_GC_UnTrack(o);
    Py_CLEAR(((uvffi__tsq_t *)o)->calls);
    Py_TYPE(o)->tp_free(o);
}

static PyObject *uvffi__tsq_setup(PyObject *cls, PyObject *const *a, Py_ssize_t n);

static PyMethodDef uvffi__tsq_methods[] = {
    {"setup", (PyCFunction)(void (*)(void))uvffi__tsq_setup, METH_FASTCALL | METH_CLASS,
     "setup(new_future, LoopClosedError, raise_for): the Python pieces submit() needs (once, at import)."},
    {"submit", (PyCFunction)(void (*)(void))uvffi__tsq_submit, METH_FASTCALL,
     "submit(loop, fn, args) -> Future: queue fn(*args) for the loop thread and wake it; any thread."},
    {"take", uvffi__tsq_take, METH_NOARGS, "take() -> list or None: swap the queued calls out (loop thread)."},
    {"requeue", uvffi__tsq_requeue, METH_O, "requeue(calls): put calls back in front (loop thread)."},
    {"close", uvffi__tsq_close, METH_NOARGS, "close() -> list: refuse submits from now on; what was queued."},
    {NULL, NULL, 0, NULL}
};

static PyGetSetDef uvffi__tsq_getset[] = {
    {"pending", uvffi__tsq_pending, NULL, "How many calls wait for the loop thread.", NULL},
    {NULL, NULL, NULL, NULL, NULL}
};

static PyTypeObject uvffi__TsafeQueue = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.ThreadsafeQueue",
    .tp_basicsize = sizeof(uvffi__tsq_t),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC,
    .tp_doc = "call_soon_threadsafe's per-loop queue (CPython; see threadsafe.py).",
    .tp_new = uvffi__tsq_tp_new,
    .tp_traverse = uvffi__tsq_traverse,
    .tp_clear = uvffi__tsq_clear,
    .tp_dealloc = uvffi__tsq_dealloc,
    .tp_free = PyObject_GC_Del,
    .tp_methods = uvffi__tsq_methods,
    .tp_getset = uvffi__tsq_getset,
};

/* ThreadsafeQueue.setup(new_future, LoopClosedError, raise_for): the Python pieces submit() needs */
static PyObject *uvffi__tsq_setup(PyObject *cls, PyObject *const *a, Py_ssize_t n)
{
    (void)cls;
    if (n != 3 || !PyCallable_Check(a[0]) || !PyExceptionClass_Check(a[1]) || !PyCallable_Check(a[2])) {
        PyErr_SetString(PyExc_TypeError, "tsafe_setup(new_future, LoopClosedError, raise_for)");
        return NULL;
    }
    Py_INCREF(a[0]);
    Py_XSETREF(uvffi__tsq_new_future, a[0]);
    Py_INCREF(a[1]);
    Py_XSETREF(uvffi__tsq_closed_exc, a[1]);
    Py_INCREF(a[2]);
    Py_XSETREF(uvffi__tsq_raise_for, a[2]);
    Py_RETURN_NONE;
}


