/* Cross-thread wakeups: uv_async_t. handles/async_.py is the Python side.
 * An async handle is active from birth until it is closed. */

/*@cdef
int uvffi_async_send(uvffi_handle_t *h);
*/

static void uvffi__async_cb(uv_async_t *a)
{
    uvffi_handle_t *h = UVFFI_OF(a);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
    UVFFI_EMIT0(h);
    GIL_LEAVE(lp)
}

static int uvffi__async_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_async_init(lp->loop, UVFFI_UV(h, uv_async_t), uvffi__async_cb);
}

#if !UVFFI_PYPY
static PyTypeObject uvffi__AsyncOps;
#endif
static const uvffi_kind_t uvffi__kind_async = {"async", UV_ASYNC, uvffi__async_init, NULL, 1, 0,
                                               UVFFI_OPS(uvffi__AsyncOps)};

/* Any thread. The caller rules out a concurrent close: the GIL on CPython (the
 * close callback frees under the GIL), the handle's lock in Python on PyPy. */
int uvffi_async_send(uvffi_handle_t *h)
{
    if (h->kind != &uvffi__kind_async)
        return UVFFI_EKIND;
    if (h->self == 0 || uv_is_closing(&h->uv.handle))
        return UVFFI_ECLOSED;
    return uv_async_send(UVFFI_UV(h, uv_async_t));
}

#if !UVFFI_PYPY
/* send(): no lock: the GIL is held from the read of raw to uv_async_send, and
 * the close callback that frees the handle unbinds raw holding the GIL too. */
static PyObject *uvffi__aops_send(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    if (!UVFFI_NOKW(kwnames) || PyVectorcall_NARGS(nargsf) != 0 || self->closed != Py_False || h == NULL ||
        uvffi_async_send(h) != 0)
        return uvffi__call_next(&uvffi__AsyncOps, uvffi__s_send, o, a, nargsf, kwnames);
    Py_RETURN_NONE;
}

static PyMethodDef uvffi__aops_methods[] = {
    {"send", (PyCFunction)(void (*)(void))uvffi__aops_send, METH_FASTCALL | METH_KEYWORDS,
     "send()\n--\n\n"
     "Wake the loop; safe from any thread. Raises\n"
     ":class:`~uvffi.error.HandleClosedError` once the handle is closed."},
    {NULL, NULL, 0, NULL}
};
UVFFI_OPS_TYPE(uvffi__AsyncOps, "AsyncOps", "C methods of uvffi.Async (CPython).", uvffi__aops_methods)
#endif
