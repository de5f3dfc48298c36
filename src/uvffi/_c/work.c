/*
 * Thread-pool work: uv_work_t. requests/work.py is the Python side.
 *
 * Work queued from a callback of the running loop is handed to libuv in the
 * loop's next prepare phase, after the GIL is released (loop.c), so pool
 * threads find the GIL free instead of waking only to wait for it.
 *
 * Reliability rules kept here:
 *   - every request gets its done callback exactly once. On CPython the whole
 *     of WorkRequest._done is done in C (uvffi__work_done): the bookkeeping and
 *     the call of done_cb happen with no Python code of uvffi's in between, so
 *     a KeyboardInterrupt (a signal handler runs at any bytecode) can land only
 *     in the user's own callbacks.
 *   - fork: libuv's pool starts afresh in the child and drops the work it had;
 *     the child completes that work as cancelled (UV_ECANCELED), so its loop
 *     neither waits for it for ever nor loses a done callback.
 *   - the pool's threads are created by libuv on its first request, and libuv
 *     aborts the process if it cannot create them: uvffi__pool_ready first makes
 *     sure threads of the pool's stack size can be created (ENOMEM/EAGAIN
 *     otherwise). Every request kind that uses the pool calls it.
 *   - exit: see uvffi__exit_check.
 */

/*@cdef
uvffi_req_t *uvffi_work_queue(uvffi_loop_t *lp, uintptr_t self);
void uvffi_loop_after_fork(uvffi_loop_t *lp);
void uvffi_work_after_fork(void);
int uvffi_work_busy(void);
*/

#include <stdio.h>

#define UVFFI_REQ_INFLIGHT 1 /* in lp->inflight: handed to the pool */
#define UVFFI_REQ_NOMEM 2    /* the pool thread had no memory to run Python code */

static const uvffi_rkind_t uvffi__rkind_work = {"work", UV_WORK, NULL};

/* Work handed to the pool whose work_cb has not finished (atomic). */
static int uvffi__pool_busy;

/* ---- exit ----------------------------------------------------------------
 * libuv's library destructor joins the pool's threads, so a work_cb that never
 * returns (threading.Event().wait) would make the process hang at exit, after
 * Python has finalised. The policy: at exit, if uvffi work is still queued or
 * running, the process ends at once with its exit status (_exit, after
 * flushing C's stdio), skipping the C-level exit handlers registered before
 * uvffi's first queue_work and the library destructors; the work is abandoned,
 * as daemon threads are. With no work in flight, exit is the normal one. */
static void uvffi__exit_check(int status, void *arg)
{
    (void)arg;
    if (__atomic_load_n(&uvffi__pool_busy, __ATOMIC_SEQ_CST) > 0) {
        fflush(NULL);
        _exit(status);
    }
}

static pthread_once_t uvffi__exit_once = PTHREAD_ONCE_INIT;
static void uvffi__exit_install(void) { on_exit(uvffi__exit_check, NULL); }

/* ---- can the pool start? ------------------------------------------------- */
static int uvffi__pool_started; /* libuv has created its threads (reset in a fork child) */
static uv_mutex_t uvffi__probe_mutex;

static void uvffi__probe_thread(void *arg)
{
    (void)arg;
    uv_mutex_lock(&uvffi__probe_mutex);  /* wait until every probe thread exists */
    uv_mutex_unlock(&uvffi__probe_mutex);
}

/* 0 if the thread pool is running or can be started: as many threads as libuv
 * will create, with its stack size, all at once. Else the error, and libuv is
 * not asked (it would abort). Serialised (GIL / PyPy's mutex). */
static int uvffi__pool_ready(void)
{
    uv_thread_options_t config;
    uv_thread_t tids[1024];
    char buf[16];
    size_t len = sizeof buf;
    int n = 4, made = 0, err = 0, i;
    if (uvffi__pool_started)
        return 0;
    pthread_once(&uvffi__exit_once, uvffi__exit_install);
    if (uv_os_getenv("UV_THREADPOOL_SIZE", buf, &len) == 0)
        n = atoi(buf);
    if (n <= 0)
        n = 1;
    if (n > 1024)
        n = 1024;
    if (uv_mutex_init(&uvffi__probe_mutex))
        return UV_ENOMEM;
    config.flags = UV_THREAD_HAS_STACK_SIZE;
    config.stack_size = 8u << 20;  /* libuv's pool threads' (threadpool.c) */
    uv_mutex_lock(&uvffi__probe_mutex);
    for (i = 0; i < n && err == 0; i++) {
        err = uv_thread_create_ex(&tids[i], &config, uvffi__probe_thread, NULL);
        if (err == 0)
            made++;
    }
    uv_mutex_unlock(&uvffi__probe_mutex);
    for (i = 0; i < made; i++)
        uv_thread_join(&tids[i]);
    uv_mutex_destroy(&uvffi__probe_mutex);
    return err;
}

/* ---- the loop's list of work handed to the pool -------------------------- */
static void uvffi__inflight_link(uvffi_req_t *r)
{
    uvffi_loop_t *lp = r->lp;
    r->flags |= UVFFI_REQ_INFLIGHT;
    r->fl_prev = NULL;
    r->fl_next = lp->inflight;
    if (lp->inflight != NULL)
        lp->inflight->fl_prev = r;
    lp->inflight = r;
}

static void uvffi__inflight_unlink(uvffi_req_t *r)
{
    uvffi_loop_t *lp = r->lp;
    if (!(r->flags & UVFFI_REQ_INFLIGHT))
        return;
    r->flags &= ~UVFFI_REQ_INFLIGHT;
    if (r->fl_prev != NULL)
        r->fl_prev->fl_next = r->fl_next;
    else
        lp->inflight = r->fl_next;
    if (r->fl_next != NULL)
        r->fl_next->fl_prev = r->fl_prev;
    r->fl_prev = r->fl_next = NULL;
}

static void uvffi__work_cb(uv_work_t *req)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
#if UVFFI_PYPY
    _uvffi_py_work(r->self);
#else
    PyGILState_STATE st;
    PyObject *res;
    if (PyGILState_GetThisThreadState() == NULL) {
        /* PyGILState_Ensure aborts the process if it cannot allocate this
         * thread's state: make sure memory is there first */
        void *probe = malloc(64 * 1024);
        if (probe == NULL) {
            r->flags |= UVFFI_REQ_NOMEM;
            goto out;
        }
        free(probe);
    }
    st = PyGILState_Ensure();
    res = PyObject_CallMethodNoArgs((PyObject *)r->self, uvffi__s_run);
    if (res == NULL)
        PyErr_WriteUnraisable((PyObject *)r->self);
    Py_XDECREF(res);
    PyGILState_Release(st);
out:
#endif
    __atomic_fetch_sub(&uvffi__pool_busy, 1, __ATOMIC_SEQ_CST);
}

#if !UVFFI_PYPY
/* getattr(o, name) and set it to None: a new reference, or NULL (no error). */
static PyObject *uvffi__take_attr(PyObject *o, const char *name)
{
    PyObject *v = PyObject_GetAttrString(o, name);
    if (v == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (PyObject_SetAttrString(o, name, Py_None) < 0)
        PyErr_Clear();
    if (v == Py_None)
        Py_CLEAR(v);
    return v;
}

/* The callback in a box of _core/once.py ([cb] or []), emptying it: a new
 * reference, or NULL (no error). */
static PyObject *uvffi__take_boxed(PyObject *o, const char *name)
{
    PyObject *box = PyObject_GetAttrString(o, name), *v = NULL;
    if (box == NULL) {
        PyErr_Clear();
        return NULL;
    }
    if (PyList_CheckExact(box) && PyList_GET_SIZE(box) == 1) {
        v = PyList_GET_ITEM(box, 0);
        Py_INCREF(v);
    }
    if (PyList_CheckExact(box) && PyList_SetSlice(box, 0, PyList_GET_SIZE(box), NULL) < 0)
        PyErr_Clear();
    Py_DECREF(box);
    return v;
}
#endif

/* WorkRequest._done, GIL held: work_cb's exception to the loop's router, then
 * done_cb(None or the error), then the request freed. CPython: in C (see the
 * top of this file); PyPy: the Python _done. */
static void uvffi__work_done(uvffi_req_t *r, int status)
{
#if UVFFI_PYPY
    uvffi__req_done(r, status);
#else
    PyObject *self = (PyObject *)r->self, *exc, *cb, *work, *arg, *res;
    uvffi__req_forget(self);
    exc = uvffi__take_attr(self, "_exc");
    cb = uvffi__take_boxed(self, "_done_box");
    work = uvffi__take_attr(self, "_work_cb");
    Py_XDECREF(work);
    if (exc != NULL) {
        PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
        Py_DECREF(exc);
        uvffi__report((uintptr_t)self);
    }
    if (cb != NULL) {
        arg = status < 0 ? PyLong_FromLong(status) : (Py_INCREF(Py_None), Py_None);
        res = arg == NULL ? NULL : PyObject_CallOneArg(cb, arg);
        if (res == NULL)
            uvffi__report((uintptr_t)self);
        Py_XDECREF(res);
        Py_XDECREF(arg);
        Py_DECREF(cb);
    }
    uvffi__req_free(r);
#endif
}

static void uvffi__after_work_cb(uv_work_t *req, int status)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    if (status == UV_ECANCELED)  /* cancelled before a pool thread took it: work_cb never ran */
        __atomic_fetch_sub(&uvffi__pool_busy, 1, __ATOMIC_SEQ_CST);
    uvffi__inflight_unlink(r);
    if (status == 0 && (r->flags & UVFFI_REQ_NOMEM))
        status = UV_ENOMEM;
    {
        GIL_ENTER(lp)
        uvffi__work_done(r, status);
        GIL_LEAVE(lp)
    }
}

/* uv_queue_work, counted and listed. */
static int uvffi__work_submit(uvffi_req_t *r)
{
    int err;
    __atomic_fetch_add(&uvffi__pool_busy, 1, __ATOMIC_SEQ_CST);
    err = uv_queue_work(r->lp->loop, (uv_work_t *)&r->uv.req, uvffi__work_cb, uvffi__after_work_cb);
    if (err) {
        __atomic_fetch_sub(&uvffi__pool_busy, 1, __ATOMIC_SEQ_CST);
        return err;
    }
    uvffi__pool_started = 1;
    uvffi__inflight_link(r);
    return 0;
}

/* Queue a work request; C keeps the Python request alive until done. */
static uvffi_req_t *uvffi__work_queue(uvffi_loop_t *lp, uintptr_t self, int held)
{
    uvffi_req_t *r;
    int *err = &uvffi__last_err;
    *err = uvffi__pool_ready();
    if (*err)
        return NULL;
    r = uvffi__req_new(lp, &uvffi__rkind_work, self, held);
    if (r == NULL)
        return NULL;
    if (held && lp->shared->running) {
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
    *err = uvffi__work_submit(r);
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
        (void)uvffi__work_submit(r);
        r = next;
    }
}

/* ---- fork ------------------------------------------------------------------ */

/* In the child, after uv_loop_fork: the work this loop had handed to the pool
 * is gone with the parent's threads (or sits in a queue no thread serves).
 * Take each request out of whatever queue holds it (libuv's pool queue, the
 * loop's completed queue, or none while a thread ran it) and complete it as
 * cancelled from the loop's reaper, in the child's next run. The loop's shared
 * state is reset too: a thread that ran it or held its locks is not in the
 * child. No Python code runs here. */
void uvffi_loop_after_fork(uvffi_loop_t *lp)
{
    uvffi_req_t *r = lp->inflight, *next;
    uv_thread_t me = uv_thread_self();
    uvffi_shared_t *sh = lp->shared;
    uv_mutex_init(&lp->mutex);
    uv_mutex_init(&sh->mutex);
    if (sh->running && !uv_thread_equal(&sh->thread, &me))
        sh->running = lp->running = 0;
    lp->inflight = NULL;
    while (r != NULL) {
        void **q = (void **)&((uv_work_t *)&r->uv.req)->work_req.wq;
        void **qnext = (void **)q[0], **qprev = (void **)q[1];
        next = r->fl_next;
        qprev[0] = qnext;  /* uv__queue_remove, for struct uv__queue and libuv 1.44's QUEUE */
        qnext[1] = qprev;
        q[0] = q[1] = q;
        r->flags &= ~UVFFI_REQ_INFLIGHT;
        r->fl_prev = NULL;
        r->fl_next = lp->forked;
        lp->forked = r;
        r = next;
    }
    if (lp->forked != NULL)
        uv_async_send(&lp->reaper);
}

/* In the child: libuv's pool starts afresh (its own pthread_atfork handler). */
void uvffi_work_after_fork(void)
{
    __atomic_store_n(&uvffi__pool_busy, 0, __ATOMIC_SEQ_CST);
    uvffi__pool_started = 0;
}

/* From the reaper: complete the work uv_loop_fork dropped, as cancelled. */
static void uvffi__work_forked_complete(uvffi_loop_t *lp)
{
    uvffi_req_t *r = lp->forked, *next;
    lp->forked = NULL;
    while (r != NULL) {
        next = r->fl_next;
        r->fl_next = NULL;
        lp->loop->active_reqs.count--;  /* uv__req_unregister: libuv will not */
        {
            GIL_ENTER(lp)
            uvffi__work_done(r, UV_ECANCELED);
            GIL_LEAVE(lp)
        }
        r = next;
    }
}

int uvffi_work_busy(void) { return __atomic_load_n(&uvffi__pool_busy, __ATOMIC_SEQ_CST); }

UVFFI_SERIALISED(uvffi_req_t *, uvffi_work_queue, (uvffi_loop_t *lp, uintptr_t self), uvffi__work_queue(lp, self, 1))
