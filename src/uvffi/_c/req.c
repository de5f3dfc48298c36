/*
 * What every request kind shares (work, and later fs, dns, stream writes):
 * allocation from the request table, the keep-alive of the Python request from
 * submission until its done callback, and the done callback itself, after
 * which the kind's cleanup runs and the memory is freed.
 */

/*@cdef
uvffi_req_t *uvffi_req_new(uvffi_loop_t *lp, int kind, uintptr_t self);
void uvffi_req_discard(uvffi_req_t *r);
uv_req_t *uvffi_req_uv(uvffi_req_t *r);
int uvffi_req_cancel(uvffi_req_t *r);
*/

static const uvffi_rkind_t *uvffi__rkind_at(int index); /* module.c */
static void uvffi__work_flush(uvffi_loop_t *lp);         /* work.c */

/* A request of `kind` (NULL: refused) for Python object self (kept alive from now on).
 * C refers to request kinds by their struct, Python by their index in the table. */
static uvffi_req_t *uvffi__req_new(uvffi_loop_t *lp, const uvffi_rkind_t *kind, uintptr_t self, int held)
{
    uvffi_req_t *r;
    int *err = &uvffi__last_err;
    if (kind == NULL) {
        *err = UV_EINVAL;
        return NULL;
    }
    if (uvffi__wrong_thread(lp)) {
        *err = UVFFI_EWRONGTHREAD;
        return NULL;
    }
    r = calloc(1, offsetof(uvffi_req_t, uv) + uv_req_size(kind->type));
    if (r == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    r->lp = lp;
    r->kind = kind;
    r->self = self;
    r->uv.req.data = r;
    WITH_GIL(held, uvffi__obj_keep(lp, self));
    return r;
}

/* libuv will not call back (the submission failed): drop the request. */
static void uvffi__req_discard(uvffi_req_t *r, int held)
{
    WITH_GIL(held, uvffi__obj_release(r->lp, r->self));
    free(r);
}

#if !UVFFI_PYPY
/* How often uvffi__req_done calls into Python in all: _done, then _salvage while each
 * raised (PyPy's count, UVFFI_PY_ATTEMPTS: only a hook failing for ever uses them up). */
#define UVFFI_REQ_ATTEMPTS 8
static PyObject *uvffi__s_salvage; /* interned "_salvage" */
static PyObject *uvffi__s_req;    /* interned "_req" */
static PyObject *uvffi__s_pinned; /* interned "_pinned" */

/* Request._finish's bookkeeping, in C once _done has returned or raised and the
 * kind's cleanup ran: a KeyboardInterrupt landing anywhere in a _done cannot leave
 * the Python request holding the C request that is about to be freed, and the
 * pinned buffers outlive libuv's last look at them. (_done itself may still read
 * the request's fields through _req.) */
static void uvffi__req_forget(PyObject *self)
{
    if (uvffi__s_req == NULL) {
        uvffi__s_req = PyUnicode_InternFromString("_req");
        uvffi__s_pinned = PyUnicode_InternFromString("_pinned");
        if (uvffi__s_req == NULL || uvffi__s_pinned == NULL) {
            PyErr_Clear();
            return;
        }
    }
    if (PyObject_SetAttr(self, uvffi__s_req, Py_None) < 0 || PyObject_SetAttr(self, uvffi__s_pinned, Py_None) < 0)
        uvffi__report((uintptr_t)self);
}
#endif

/* The kind's cleanup (uv_fs_req_cleanup reads the readdir buffers: it runs
 * while the Python request still pins them), the keep-alive dropped, the memory
 * freed. */
static void uvffi__req_free(uvffi_req_t *r)
{
    uvffi_loop_t *lp = r->lp;
    if (r->kind->cleanup != NULL)
        r->kind->cleanup(&r->uv.req);
#if !UVFFI_PYPY
    uvffi__req_forget((PyObject *)r->self);
#endif
    uvffi__obj_release(lp, r->self);
    free(r);
    UVFFI_AFTER_CALLBACK(lp);
}

/* The done callback of every kind, GIL held: self._done(status), then the
 * kind's cleanup, the keep-alive dropped, the memory freed. */
static void uvffi__req_done(uvffi_req_t *r, int status)
{
#if UVFFI_PYPY
    /* The first attempt runs _done; the later ones (UVFFI_PY_ATTEMPTS, trampoline.c)
     * run _salvage, which does what an interrupted _done left undone. */
    int i;
    for (i = 0; i < UVFFI_PY_ATTEMPTS && !_uvffi_py_done(r->self, status, i); i++)
        ;
#else
    /* As on PyPy: _done once; if it raised (a signal's KeyboardInterrupt landing in its
     * bookkeeping, or the user's callback), each exception is reported (a
     * KeyboardInterrupt stops run()) and _salvage completes what _done left undone: the
     * user's callback runs exactly once. */
    PyObject *st, *res = NULL;
    int i;
    st = PyLong_FromLong(status);
    if (st != NULL)
        res = PyObject_CallMethodOneArg((PyObject *)r->self, uvffi__s_done, st);
    if (res == NULL) {
        uvffi__report(r->self);
        if (uvffi__s_salvage == NULL && (uvffi__s_salvage = PyUnicode_InternFromString("_salvage")) == NULL)
            PyErr_Clear();
        for (i = 1; i < UVFFI_REQ_ATTEMPTS && st != NULL && uvffi__s_salvage != NULL && res == NULL; i++) {
            res = PyObject_CallMethodOneArg((PyObject *)r->self, uvffi__s_salvage, st);
            if (res == NULL)
                uvffi__report(r->self);
        }
    }
    Py_XDECREF(res);
    Py_XDECREF(st);
#endif
    uvffi__req_free(r);
}

UVFFI_SERIALISED(uvffi_req_t *, uvffi_req_new, (uvffi_loop_t *lp, int kind, uintptr_t self),
                 uvffi__req_new(lp, uvffi__rkind_at(kind), self, 1))

void uvffi_req_discard(uvffi_req_t *r)
{
    SERIAL_ENTER()
    uvffi__req_discard(r, 1);
    SERIAL_LEAVE()
}

uv_req_t *uvffi_req_uv(uvffi_req_t *r) { return &r->uv.req; }

/* uv_cancel, from the loop's thread: a request no thread has started gets its
 * done callback with UV_ECANCELED. */
static int uvffi__req_cancel(uvffi_req_t *r)
{
    if (uvffi__wrong_thread(r->lp))
        return UVFFI_EWRONGTHREAD;
    if (r->deferred)  /* not with libuv yet: submit the batch, then cancel as usual */
        uvffi__work_flush(r->lp);
    return uv_cancel(&r->uv.req);
}

UVFFI_SERIALISED(int, uvffi_req_cancel, (uvffi_req_t *r), uvffi__req_cancel(r))
