/*
 * Thread-pool work: uv_work_t. requests/work.py is the Python side.
 *
 * Work queued from a callback of the running loop is handed to libuv in the
 * loop's next prepare phase, after the GIL is released (loop.c), so pool
 * threads find the GIL free instead of waking only to wait for it.
 */

/*@cdef
uvffi_req_t *uvffi_work_queue(uvffi_loop_t *lp, uintptr_t self);
*/

static const uvffi_rkind_t uvffi__rkind_work = {"work", UV_WORK, NULL};

static void uvffi__work_cb(uv_work_t *req)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
#if UVFFI_PYPY
    _uvffi_py_work(r->self);
#else
    PyGILState_STATE st = PyGILState_Ensure();
    PyObject *res = PyObject_CallMethodNoArgs((PyObject *)r->self, uvffi__s_run);
    if (res == NULL)
        PyErr_WriteUnraisable((PyObject *)r->self);
    Py_XDECREF(res);
    PyGILState_Release(st);
#endif
}

static void uvffi__after_work_cb(uv_work_t *req, int status)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    GIL_ENTER(lp)
    uvffi__req_done(r, status);
    GIL_LEAVE(lp)
}

/* Queue a work request; C keeps the Python request alive until done. */
static uvffi_req_t *uvffi__work_queue(uvffi_loop_t *lp, uintptr_t self, int held)
{
    uvffi_req_t *r = uvffi__req_new(lp, &uvffi__rkind_work, self, held);
    int *err = &uvffi__last_err;
    if (r == NULL)
        return NULL;
    if (held && lp->running) {
        /* Called from a callback of the running loop (the thread was checked):
         * submit in this iteration's prepare phase, once the GIL is released. */
        r->deferred = 1;
        if (lp->deferred_tail != NULL) {
            lp->deferred_tail->next_deferred = r;
        } else {
            lp->deferred_head = r;
            /* keep uv_run(DEFAULT) going to the next prepare phase, as a queued
             * request would (uvffi__work_flush drops this reference) */
            uv_ref((uv_handle_t *)&lp->reaper);
        }
        lp->deferred_tail = r;
        return r;
    }
    *err = uv_queue_work(lp->loop, (uv_work_t *)&r->uv.req, uvffi__work_cb, uvffi__after_work_cb);
    if (*err) {
        uvffi__req_discard(r, held);
        return NULL;
    }
    return r;
}

/* Give the deferred work requests to libuv's thread pool, in order. */
static void uvffi__work_flush(uvffi_loop_t *lp)
{
    uvffi_req_t *r = lp->deferred_head;
    lp->deferred_head = lp->deferred_tail = NULL;
    uv_unref((uv_handle_t *)&lp->reaper);
    while (r != NULL) {
        uvffi_req_t *next = r->next_deferred;
        r->next_deferred = NULL;
        r->deferred = 0;
        /* uv_queue_work fails only for a NULL work_cb: it cannot fail here */
        (void)uv_queue_work(lp->loop, (uv_work_t *)&r->uv.req, uvffi__work_cb, uvffi__after_work_cb);
        r = next;
    }
}

UVFFI_SERIALISED(uvffi_req_t *, uvffi_work_queue, (uvffi_loop_t *lp, uintptr_t self), uvffi__work_queue(lp, self, 1))
