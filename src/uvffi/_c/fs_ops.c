/*
 * CPython only: the plain case of a synchronous fs.stat / fs.lstat / fs.fstat in
 * one C call (published as C["fs_stat"]; uvffi/fs.py uses it when present), and
 * the StatResult of an asynchronous one built in C (C["fs_stat_result"]).
 *
 * The generic path (fs.py's _run) costs ~38,000 instructions a call against
 * os.stat's ~6,000: the path's conversion in Python, a uv_fs_t from ffi.new, two
 * lambdas, two ffi.unpack calls and the tuple's build. Here the uv_fs_t is on the
 * C stack, the GIL is released around libuv's call (as cffi does), and the
 * StatResult is built directly. Anything but the plain case (a loop that is not
 * open, a path that is not an exact str/bytes without NUL, an fd that is not an
 * exact int) returns NotImplemented, and fs.py's Python path runs and raises
 * the right error; so does PyPy and UVFFI_NO_CBASE=1.
 */

/* A StatResult (a tuple subclass of 16 items, `type`) from libuv's uv_stat_t;
 * times as float seconds, or whole seconds when float_times is 0. The float is
 * computed as fs.py's _stat_of computes it: sec + 1e-9 * nsec. */
static PyObject *uvffi__stat_tuple(const uv_stat_t *s, int float_times, PyTypeObject *type)
{
    PyObject *t, *v;
    int i;
    const uv_timespec_t *ts[4] = {&s->st_atim, &s->st_mtim, &s->st_ctim, &s->st_birthtim};
    PyObject *times[4] = {NULL, NULL, NULL, NULL};
    for (i = 0; i < 4; i++) {
        times[i] = float_times ? PyFloat_FromDouble((double)ts[i]->tv_sec + 1e-9 * (double)ts[i]->tv_nsec)
                               : PyLong_FromLong(ts[i]->tv_sec);
        if (times[i] == NULL)
            goto fail;
    }
    /* tuple.__new__(type, items) does the same: tp_alloc, then the items */
    t = type->tp_alloc(type, 16);
    if (t == NULL)
        goto fail;
#define UVFFI_U64(i, field)                                          \
    if ((v = PyLong_FromUnsignedLongLong(s->field)) == NULL) {       \
        Py_DECREF(t);                                                \
        goto fail;                                                   \
    }                                                                \
    PyTuple_SET_ITEM(t, i, v);
    UVFFI_U64(0, st_mode)
    UVFFI_U64(1, st_ino)
    UVFFI_U64(2, st_dev)
    UVFFI_U64(3, st_nlink)
    UVFFI_U64(4, st_uid)
    UVFFI_U64(5, st_gid)
    UVFFI_U64(6, st_size)
    UVFFI_U64(10, st_blksize)
    UVFFI_U64(11, st_blocks)
    UVFFI_U64(12, st_rdev)
    UVFFI_U64(13, st_flags)
    UVFFI_U64(14, st_gen)
#undef UVFFI_U64
    PyTuple_SET_ITEM(t, 7, times[0]);
    PyTuple_SET_ITEM(t, 8, times[1]);
    PyTuple_SET_ITEM(t, 9, times[2]);
    PyTuple_SET_ITEM(t, 15, times[3]);
    return t;
fail:
    for (i = 0; i < 4; i++)
        Py_XDECREF(times[i]);
    return NULL;
}

/* fs_stat(loop, path_or_fd, which, float_times, StatResult): which 0 stat, 1 lstat,
 * 2 fstat. Returns the StatResult, libuv's negative error code (an int: fs.py
 * raises FSError with it), or NotImplemented for anything but the plain case. */
static PyObject *uvffi__fs_stat(PyObject *mod, PyObject *const *a, Py_ssize_t n)
{
    uvffi__lobj_t *lo;
    PyObject *path = NULL, *result;
    PyTypeObject *type;
    const char *p = NULL;
    long which;
    int float_times, err, fd = -1;
    uv_fs_t req;
    (void)mod;
    if (n != 5 || !PyObject_TypeCheck(a[0], &uvffi__LoopStorage) || !PyLong_CheckExact(a[2]) ||
        !PyType_Check(a[4]) || !PyType_IsSubtype((PyTypeObject *)a[4], &PyTuple_Type))
        Py_RETURN_NOTIMPLEMENTED;
    lo = (uvffi__lobj_t *)a[0];
    if (lo->closed != Py_False || lo->raw == NULL)
        Py_RETURN_NOTIMPLEMENTED;
    which = PyLong_AsLong(a[2]);
    if ((float_times = PyObject_IsTrue(a[3])) < 0)
        return NULL;
    type = (PyTypeObject *)a[4];
    if (which == 2) {
        long v;
        if (!PyLong_CheckExact(a[1]))
            Py_RETURN_NOTIMPLEMENTED;
        v = PyLong_AsLong(a[1]);
        if (v < INT_MIN || v > INT_MAX || (v == -1 && PyErr_Occurred())) {
            PyErr_Clear();
            Py_RETURN_NOTIMPLEMENTED;
        }
        fd = (int)v;
    } else if (which == 0 || which == 1) {
        if (PyBytes_CheckExact(a[1])) {
            path = a[1];
            Py_INCREF(path);
        } else if (PyUnicode_CheckExact(a[1])) {
            /* os.fsencode's encoding: the file system's, with surrogateescape */
            if ((path = PyUnicode_EncodeFSDefault(a[1])) == NULL) {
                PyErr_Clear();
                Py_RETURN_NOTIMPLEMENTED;
            }
        } else {
            Py_RETURN_NOTIMPLEMENTED;
        }
        p = PyBytes_AS_STRING(path);
        if ((Py_ssize_t)strlen(p) != PyBytes_GET_SIZE(path)) {  /* an embedded NUL: Python raises */
            Py_DECREF(path);
            Py_RETURN_NOTIMPLEMENTED;
        }
    } else {
        Py_RETURN_NOTIMPLEMENTED;
    }
    Py_BEGIN_ALLOW_THREADS
    if (which == 2)
        err = uv_fs_fstat(lo->raw->loop, &req, fd, NULL);
    else if (which == 1)
        err = uv_fs_lstat(lo->raw->loop, &req, p, NULL);
    else
        err = uv_fs_stat(lo->raw->loop, &req, p, NULL);
    Py_END_ALLOW_THREADS
    result = err < 0 ? PyLong_FromLong(err) : uvffi__stat_tuple(&req.statbuf, float_times, type);
    uv_fs_req_cleanup(&req);
    Py_XDECREF(path);  /* after the cleanup: a synchronous request points at the caller's path */
    return result;
}

/* stat_result(address, float_times, StatResult): the StatResult of a completed
 * uv_fs_t at `address` (an int: fs.py's finish of an asynchronous stat, which holds
 * the request), built as fs_stat builds it. */
static PyObject *uvffi__fs_stat_result(PyObject *mod, PyObject *const *a, Py_ssize_t n)
{
    void *addr;
    int float_times;
    (void)mod;
    if (n != 3 || !PyLong_CheckExact(a[0]) || !PyType_Check(a[2]) ||
        !PyType_IsSubtype((PyTypeObject *)a[2], &PyTuple_Type))
        Py_RETURN_NOTIMPLEMENTED;
    addr = PyLong_AsVoidPtr(a[0]);
    if (addr == NULL) {
        PyErr_Clear();
        Py_RETURN_NOTIMPLEMENTED;
    }
    if ((float_times = PyObject_IsTrue(a[1])) < 0)
        return NULL;
    return uvffi__stat_tuple(&((uv_fs_t *)addr)->statbuf, float_times, (PyTypeObject *)a[2]);
}

static PyMethodDef uvffi__fs_stat_result_def = {
    "fs_stat_result", (PyCFunction)(void (*)(void))uvffi__fs_stat_result, METH_FASTCALL,
    "fs_stat_result(address, float_times, result_type): the StatResult of the completed uv_fs_t at address."};

static PyMethodDef uvffi__fs_stat_def = {
    "fs_stat", (PyCFunction)(void (*)(void))uvffi__fs_stat, METH_FASTCALL,
    "fs_stat(loop, path_or_fd, which, float_times, result_type): a synchronous stat (0), lstat (1) or "
    "fstat (2); the result, a negative libuv error code, or NotImplemented (the Python path then runs)."};

static int uvffi__fs_ops_install(PyObject *dict)
{
    PyMethodDef *defs[2] = {&uvffi__fs_stat_def, &uvffi__fs_stat_result_def};
    int i, r;
    for (i = 0; i < 2; i++) {
        PyObject *f = PyCFunction_New(defs[i], NULL);
        if (f == NULL)
            return -1;
        r = PyDict_SetItemString(dict, defs[i]->ml_name, f);
        Py_DECREF(f);
        if (r < 0)
            return -1;
    }
    return 0;
}
