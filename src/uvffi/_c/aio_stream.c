/*
 * CPython only: StreamTransportOps, the C methods put in front of uvffi.aio's
 * stream transport (uvffi/aio/stream.py's UVStreamTransport) in its MRO, as the
 * handles' Ops types are in front of theirs. Each takes the plain case of a
 * call that runs once per chunk of an echo, in one C call instead of Python
 * frames, and hands anything else to the Python method next in the MRO (which
 * is also what PyPy and UVFFI_NO_CBASE=1 run):
 *
 *   write(data)     one non-empty bytes, nothing of the transport's queued, not
 *                   at EOF, in sendfile or lost, on an open stream handle: what
 *                   the kernel takes at once is written (stream.c's
 *                   uvffi__stream_write_now), the rest queued by the Python
 *                   _write_rest; no WriteRequest is made for a write that went
 *                   whole. Nothing taken (UV_EAGAIN, an error): the Python write.
 *   _on_read(handle, data, error)
 *                   the handle's read callback with data, the transport open:
 *                   protocol.data_received(data), an exception of it (but
 *                   SystemExit and KeyboardInterrupt, which propagate) to
 *                   _fatal_error as the Python method does (with the exception
 *                   as sys.exc_info() meanwhile, as in its except clause); a
 *                   BufferedProtocol's data to _feed_buffered; EOF and errors:
 *                   the Python _on_read.
 *
 * The transport's state stays in its Python attributes (its layout is asyncio's
 * flow-control mix-in's slots plus a dict), read here by name: C code runs
 * between two bytecodes, so a KeyboardInterrupt cannot leave it half done.
 */

static PyTypeObject uvffi__StreamTransportOps;

static PyObject *uvffi__ts_eof, *uvffi__ts_sendfile, *uvffi__ts_conn_lost, *uvffi__ts_pending, *uvffi__ts_handle,
    *uvffi__ts_closing, *uvffi__ts_buffered, *uvffi__ts_protocol, *uvffi__ts_data_received, *uvffi__ts_fatal,
    *uvffi__ts_feed, *uvffi__ts_write_rest, *uvffi__ts_write, *uvffi__ts_on_read, *uvffi__ts_msg, *uvffi__ts_zero;

/* The names read of the transport (from its dict: aio_ops.c's uvffi__dict_of). */
static PyObject **const uvffi__ts_names[] = {
    &uvffi__ts_eof, &uvffi__ts_sendfile, &uvffi__ts_conn_lost, &uvffi__ts_pending, &uvffi__ts_handle,
    &uvffi__ts_closing, &uvffi__ts_buffered, &uvffi__ts_protocol};
static uvffi__dict_attrs_t uvffi__ts_attrs = {uvffi__ts_names, sizeof(uvffi__ts_names) / sizeof(uvffi__ts_names[0]),
                                              NULL, 0};

/* Attribute `name` of o (its dict d, or NULL) is `expect` (False, 0: the plain case). An
 * attribute that is missing or another value is not the plain case (0, no exception). */
static int uvffi__ts_is(PyObject *d, PyObject *o, PyObject *name, PyObject *expect)
{
    PyObject *v = uvffi__dict_get(d, o, name);
    int is;
    if (v == NULL) {
        PyErr_Clear();
        return 0;
    }
    is = v == expect;
    Py_DECREF(v);
    return is;
}

static PyObject *uvffi__ts_write_m(PyObject *self, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    Py_ssize_t len;
    PyObject *handle, *view, *rest, *r, *args[3], *d;
    uvffi_handle_t *h;
    int w, plain;
    if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 1 || !PyBytes_CheckExact(a[0]) ||
        (len = PyBytes_GET_SIZE(a[0])) == 0)
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_write, self, a, nargsf, kwnames);
    d = uvffi__dict_of(self, &uvffi__ts_attrs);
    plain = uvffi__ts_is(d, self, uvffi__ts_eof, Py_False) && uvffi__ts_is(d, self, uvffi__ts_sendfile, Py_False) &&
            uvffi__ts_is(d, self, uvffi__ts_conn_lost, uvffi__ts_zero) &&
            uvffi__ts_is(d, self, uvffi__ts_pending, uvffi__ts_zero);
    handle = plain ? uvffi__dict_get(d, self, uvffi__ts_handle) : NULL;
    Py_XDECREF(d);
    if (!plain)
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_write, self, a, nargsf, kwnames);
    if (handle == NULL)
        return NULL;
    if (!PyObject_TypeCheck(handle, &uvffi__HandleStorage) || (h = ((uvffi__hobj_t *)handle)->raw) == NULL ||
        ((uvffi__hobj_t *)handle)->closed != Py_False) {
        Py_DECREF(handle);
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_write, self, a, nargsf, kwnames);
    }
    w = uvffi__stream_write_now(h, PyBytes_AS_STRING(a[0]), (size_t)len);
    if (w == len) {
        Py_DECREF(handle);
        Py_RETURN_NONE;
    }
    if (w <= 0) {  /* nothing went: the Python write queues it or raises what libuv says */
        Py_DECREF(handle);
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_write, self, a, nargsf, kwnames);
    }
    view = PyMemoryView_FromObject(a[0]);
    rest = view == NULL ? NULL : PySequence_GetSlice(view, w, len);
    Py_XDECREF(view);
    if (rest == NULL) {
        Py_DECREF(handle);
        return NULL;
    }
    args[0] = self;
    args[1] = handle;
    args[2] = rest;
    r = PyObject_VectorcallMethod(uvffi__ts_write_rest, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(rest);
    Py_DECREF(handle);
    return r;
}

/* protocol.data_received failed with the pending exception: SystemExit and
 * KeyboardInterrupt propagate (NULL); any other goes to self._fatal_error(exc, msg),
 * called with exc as the exception being handled, as from an except clause (an
 * exception raised there gets exc as its context). */
static PyObject *uvffi__ts_received_failed(PyObject *self)
{
    PyObject *typ, *exc, *tb, *otyp, *oexc, *otb, *r, *args[3];
    if (PyErr_ExceptionMatches(PyExc_SystemExit) || PyErr_ExceptionMatches(PyExc_KeyboardInterrupt))
        return NULL;
    PyErr_Fetch(&typ, &exc, &tb);
    PyErr_NormalizeException(&typ, &exc, &tb);
    if (tb != NULL)
        PyException_SetTraceback(exc, tb);
    PyErr_GetExcInfo(&otyp, &oexc, &otb);
    Py_INCREF(typ);
    Py_INCREF(exc);
    Py_XINCREF(tb);
    PyErr_SetExcInfo(typ, exc, tb);  /* steals the new references */
    args[0] = self;
    args[1] = exc;
    args[2] = uvffi__ts_msg;
    r = PyObject_VectorcallMethod(uvffi__ts_fatal, args, 3 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    PyErr_SetExcInfo(otyp, oexc, otb);
    Py_DECREF(typ);
    Py_DECREF(exc);
    Py_XDECREF(tb);
    return r;
}

static PyObject *uvffi__ts_on_read_m(PyObject *self, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    PyObject *closing, *buffered, *protocol, *r, *args[2], *d;
    if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 3 || !PyBytes_CheckExact(a[1]))
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_on_read, self, a, nargsf, kwnames);
    d = uvffi__dict_of(self, &uvffi__ts_attrs);
    closing = uvffi__dict_get(d, self, uvffi__ts_closing);
    buffered = closing == NULL ? NULL : uvffi__dict_get(d, self, uvffi__ts_buffered);
    protocol = buffered == NULL ? NULL : uvffi__dict_get(d, self, uvffi__ts_protocol);
    Py_XDECREF(d);
    Py_XDECREF(closing);
    Py_XDECREF(buffered);
    if (protocol == NULL)
        return NULL;
    if (closing == Py_True) {  /* closed by an earlier chunk's protocol call */
        Py_DECREF(protocol);
        Py_RETURN_NONE;
    }
    if (closing != Py_False || (buffered != Py_False && buffered != Py_True)) {
        Py_DECREF(protocol);
        return uvffi__call_next(&uvffi__StreamTransportOps, uvffi__ts_on_read, self, a, nargsf, kwnames);
    }
    if (buffered == Py_True) {
        Py_DECREF(protocol);
        args[0] = self;
        args[1] = a[1];
        return PyObject_VectorcallMethod(uvffi__ts_feed, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    }
    args[0] = protocol;
    args[1] = a[1];
    r = PyObject_VectorcallMethod(uvffi__ts_data_received, args, 2 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    Py_DECREF(protocol);
    if (r == NULL)
        return uvffi__ts_received_failed(self);
    Py_DECREF(r);
    Py_RETURN_NONE;
}

static PyMethodDef uvffi__ts_methods[] = {
    {"write", (PyCFunction)(void (*)(void))uvffi__ts_write_m, METH_FASTCALL | METH_KEYWORDS,
     "write(data)\n--\n\n"
     "Write ``data`` (copied unless it is ``bytes``: the caller may reuse its buffer)."},
    {"_on_read", (PyCFunction)(void (*)(void))uvffi__ts_on_read_m, METH_FASTCALL | METH_KEYWORDS,
     "_on_read(handle, data, error)\n--\n\n"
     "libuv's read callback: data, the peer's EOF, or an error."},
    {NULL, NULL, 0, NULL}
};

static PyTypeObject uvffi__StreamTransportOps = {
    PyVarObject_HEAD_INIT(NULL, 0)
    .tp_name = "uvffi._uv.StreamTransportOps",
    .tp_basicsize = sizeof(PyObject),
    .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE,
    .tp_doc = "C methods of uvffi.aio's stream transport: write and the read callback (CPython).",
    .tp_methods = uvffi__ts_methods,
};

/* Put StreamTransportOps into the dict of C types (uvffi._core.native.C). */
static int uvffi__aio_stream_install(PyObject *dict)
{
    UVFFI_INTERN(uvffi__ts_eof, "_eof")
    UVFFI_INTERN(uvffi__ts_sendfile, "_sendfile_active")
    UVFFI_INTERN(uvffi__ts_conn_lost, "_conn_lost")
    UVFFI_INTERN(uvffi__ts_pending, "_pending_writes")
    UVFFI_INTERN(uvffi__ts_handle, "_handle")
    UVFFI_INTERN(uvffi__ts_closing, "_closing")
    UVFFI_INTERN(uvffi__ts_buffered, "_buffered")
    UVFFI_INTERN(uvffi__ts_protocol, "_protocol")
    UVFFI_INTERN(uvffi__ts_data_received, "data_received")
    UVFFI_INTERN(uvffi__ts_fatal, "_fatal_error")
    UVFFI_INTERN(uvffi__ts_feed, "_feed_buffered")
    UVFFI_INTERN(uvffi__ts_write_rest, "_write_rest")
    UVFFI_INTERN(uvffi__ts_write, "write")
    UVFFI_INTERN(uvffi__ts_on_read, "_on_read")
    UVFFI_INTERN(uvffi__ts_msg, "Fatal error: protocol.data_received() call failed.")
    if (uvffi__ts_zero == NULL && (uvffi__ts_zero = PyLong_FromLong(0)) == NULL)
        return -1;
    uvffi__StreamTransportOps.tp_new = PyBaseObject_Type.tp_new;  /* a mix-in: instances are made as object's */
    return uvffi__publish(dict, &uvffi__StreamTransportOps);
}
