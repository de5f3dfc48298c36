/*
 * Loops: creation (owned, or wrapping a uv_loop_t that C code owns), uv_run
 * with the GIL hand-off around a poll that can block, the signal wakeup
 * watcher, the reaper of abandoned handles, closing and walking uvffi's handles.
 */

/*@cdef
#define UV_LOOP_BLOCK_SIGNAL ...
#define UV_METRICS_IDLE_TIME ...
uvffi_loop_t *uvffi_loop_new(uv_loop_t *existing, uintptr_t pyloop, int own);
int uvffi_last_error(void);
uv_loop_t *uvffi_loop_raw(uvffi_loop_t *lp);
int uvffi_loop_check_thread(uvffi_loop_t *lp);
int uvffi_run(uvffi_loop_t *lp, int mode);
int uvffi_run_wakeup(uvffi_loop_t *lp, int mode, int rfd, int wfd);
int uvffi_run_signals(uvffi_loop_t *lp, int mode, int rfd, int wfd, int before);
int uvffi_wakeup_watch(uvffi_loop_t *lp, int rfd);
int uvffi_loop_active(uvffi_loop_t *lp);
int uvffi_loop_close_check(uvffi_loop_t *lp);
int uvffi_loop_foreign_handles(uvffi_loop_t *lp);
int uvffi_loop_is_closing(uvffi_loop_t *lp);
int uvffi_loop_running(uvffi_loop_t *lp);
void uvffi_loop_close_handles(uvffi_loop_t *lp, int internal);
int uvffi_loop_free(uvffi_loop_t *lp);
int uvffi_loop_walk(uvffi_loop_t *lp, uintptr_t list, uintptr_t *addrs, size_t *n);
int uvffi_loop_stop(uvffi_loop_t *lp);
int uvffi_loop_update_time(uvffi_loop_t *lp);
int uvffi_loop_configure(uvffi_loop_t *lp, int option, int value);
int uvffi_metrics_info(uvffi_loop_t *lp, uint64_t *out);
uint64_t uvffi_metrics_idle_time(uvffi_loop_t *lp);
void uvffi_loop_set_ticks(uvffi_loop_t *lp, int pending);
int uvffi_loop_tsafe_send(uvffi_loop_t *lp);
*/

static void uvffi__bury(uvffi_handle_t *h);       /* handle.c */
static void uvffi__signals_restore(void);          /* signal.c */
static void uvffi__close_cb(uv_handle_t *handle); /* handle.c */
static void uvffi__work_flush(uvffi_loop_t *lp);  /* work.c */
static void uvffi__work_forked_complete(uvffi_loop_t *lp); /* work.c */

/* ---- the wrappers of one uv_loop_t share its running state ------------- */
static uv_once_t uvffi__registry_once = UV_ONCE_INIT;
static uv_mutex_t uvffi__registry_mutex;
static uvffi_shared_t *uvffi__registry;

static void uvffi__registry_init(void)
{
    if (uv_mutex_init(&uvffi__registry_mutex))
        abort();  /* pthread_mutex_init of a default mutex does not fail on Linux */
}

static uvffi_shared_t *uvffi__shared_get(uv_loop_t *loop)
{
    uvffi_shared_t *sh;
    uv_once(&uvffi__registry_once, uvffi__registry_init);
    uv_mutex_lock(&uvffi__registry_mutex);
    for (sh = uvffi__registry; sh != NULL && sh->loop != loop; sh = sh->next)
        ;
    if (sh == NULL && (sh = calloc(1, sizeof *sh)) != NULL) {
        if (uv_mutex_init(&sh->mutex)) {
            free(sh);
            sh = NULL;
        } else {
            sh->loop = loop;
            sh->next = uvffi__registry;
            uvffi__registry = sh;
        }
    }
    if (sh != NULL)
        sh->users++;
    uv_mutex_unlock(&uvffi__registry_mutex);
    return sh;
}

static void uvffi__shared_put(uvffi_shared_t *sh)
{
    uvffi_shared_t **pp;
    uv_mutex_lock(&uvffi__registry_mutex);
    if (--sh->users == 0) {
        for (pp = &uvffi__registry; *pp != NULL && *pp != sh; pp = &(*pp)->next)
            ;
        if (*pp == sh)
            *pp = sh->next;
        uv_mutex_destroy(&sh->mutex);
        free(sh);
    }
    uv_mutex_unlock(&uvffi__registry_mutex);
}

/* Is one of the loop's queues empty? A queue is `struct uv__queue` since libuv
 * 1.4x and `void *[2]` before (Debian's 1.44): both start with `next`, and an
 * empty queue points to itself. */
#define UVFFI_QUEUE_EMPTY(q) (*(void *const *)(q) == (const void *)(q))

/* Can the coming poll block? (uv_backend_timeout() answers 0 whenever a watcher
 * is queued for registration, so decide from the loop's own queues.) */
static int uvffi__poll_may_block(uvffi_loop_t *lp)
{
    uv_loop_t *l = lp->loop;
    return lp->mode != UV_RUN_NOWAIT && l->stop_flag == 0 &&
           UVFFI_QUEUE_EMPTY(&l->idle_handles) &&
           UVFFI_QUEUE_EMPTY(&l->pending_queue) && l->closing_handles == NULL;
}

/* Before poll: release the GIL if poll may block, so other threads run; then
 * hand the work queued during this iteration to the thread pool, whose workers
 * so find the GIL free instead of waking only to wait for it. */
static void uvffi__gil_prepare_cb(uv_prepare_t *p)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)p->data;
#if UVFFI_PYPY
    if (lp->batch_n)  /* the idle and prepare phases' loop watchers (trampoline.c) */
        uvffi__batch_flush(lp);
#else
    if (lp->gil_managed && lp->saved == NULL && uvffi__poll_may_block(lp))
        lp->saved = PyEval_SaveThread();
#endif
    if (lp->deferred_head != NULL)
        uvffi__work_flush(lp);
}

/* A signal arrived while the loop waited: run Python's handlers now. */
static void uvffi__wakeup_cb(uv_poll_t *w, int status, int events)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)w->data;
    char buf[64];
    (void)status;
    (void)events;
    while (read(lp->wakeup_fd, buf, sizeof buf) > 0)
        ;
    if (lp->pyloop == 0)
        return;
    {
        GIL_ENTER(lp)
#if UVFFI_PYPY
        _uvffi_py_signals(lp->pyloop);
#else
        if (PyErr_CheckSignals() < 0)
            uvffi__report(lp->pyloop);
#endif
        GIL_LEAVE(lp)
    }
}

static void uvffi__reap(uvffi_loop_t *lp)
{
    uvffi_handle_t *h;
    uv_mutex_lock(&lp->mutex);
    h = lp->graveyard;
    lp->graveyard = NULL;
    uv_mutex_unlock(&lp->mutex);
    uvffi__bury(h);
}

static void uvffi__reaper_cb(uv_async_t *a)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)a->data;
    uvffi__reap(lp);
    if (lp->forked != NULL)
        uvffi__work_forked_complete(lp);
}

/* call_soon_threadsafe: run the batch queued by other threads (threadsafe.py). */
static void uvffi__tsafe_cb(uv_async_t *a)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)a->data;
    if (lp->pyloop == 0)
        return;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    _uvffi_py_threadsafe(lp->pyloop);
#else
    uvffi__loop_hook(uvffi__on_tsafe, lp->pyloop);
#endif
    UVFFI_AFTER_CALLBACK(lp);
    GIL_LEAVE(lp)
}

static void uvffi__internal_closed(uv_handle_t *handle)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)handle->data;
    lp->internal_closing--;
}

static int uvffi__loop_setup(uvffi_loop_t *lp)
{
    int err;
    lp->wakeup_fd = -1;
    err = uv_mutex_init(&lp->mutex);
    if (err)
        return err;
    err = uv_prepare_init(lp->loop, &lp->gil_prepare);
    if (err)
        return err;
    lp->gil_prepare.data = lp;
    uv_prepare_start(&lp->gil_prepare, uvffi__gil_prepare_cb);
    uv_unref((uv_handle_t *)&lp->gil_prepare);
#if UVFFI_PYPY
    err = uv_check_init(lp->loop, &lp->batch_check);
    if (err)
        return err;
    lp->batch_check.data = lp;
    uv_check_start(&lp->batch_check, uvffi__batch_check_cb);
    uv_unref((uv_handle_t *)&lp->batch_check);
#endif
    err = uv_async_init(lp->loop, &lp->reaper, uvffi__reaper_cb);
    if (err)
        return err;
    lp->reaper.data = lp;
    uv_unref((uv_handle_t *)&lp->reaper);
    err = uv_async_init(lp->loop, &lp->tsafe, uvffi__tsafe_cb);
    if (err)
        return err;
    lp->tsafe.data = lp;
    uv_unref((uv_handle_t *)&lp->tsafe);
    return 0;
}

/* Create a loop owned by uvffi (existing == NULL) or wrap one that C code owns. */
uvffi_loop_t *uvffi_loop_new(uv_loop_t *existing, uintptr_t pyloop, int own)
{
    int *err = &uvffi__last_err;
    uvffi_loop_t *lp = calloc(1, sizeof *lp);
    if (lp == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    lp->pyloop = pyloop;
    if (existing == NULL) {
        *err = uv_loop_init(&lp->own_loop);
        if (*err) {
            free(lp);
            return NULL;
        }
        lp->loop = &lp->own_loop;
        lp->owned = 1;
    } else {
        lp->loop = existing;
        lp->owned = own;
    }
    lp->shared = uvffi__shared_get(lp->loop);
    *err = lp->shared == NULL ? UV_ENOMEM : uvffi__loop_setup(lp);
    if (*err) {
        if (lp->owned && lp->loop == &lp->own_loop)
            uv_loop_close(lp->loop);
        if (lp->shared != NULL)
            uvffi__shared_put(lp->shared);
        free(lp);
        return NULL;
    }
    return lp;
}

int uvffi_last_error(void) { return uvffi__last_err; }
uv_loop_t *uvffi_loop_raw(uvffi_loop_t *lp) { return lp->loop; }
int uvffi_loop_check_thread(uvffi_loop_t *lp) { return uvffi__wrong_thread(lp) ? UVFFI_EWRONGTHREAD : 0; }

/* uv_run with the GIL held on entry and on return (CPython). UVFFI_ERUNNING if
 * this uv_loop_t already runs, here (re-entry) or in another thread, through
 * this wrapper or another: libuv's loop is not re-entrant. */
static int uvffi__run_held(uvffi_loop_t *lp, int mode)
{
    int r, was_managed;
    void *was_saved;
    uvffi_shared_t *sh = lp->shared;
    uvffi_handle_t *dead;
    uv_mutex_lock(&sh->mutex);
    if (sh->running) {
        uv_mutex_unlock(&sh->mutex);
        return UVFFI_ERUNNING;
    }
    sh->running = 1;
    sh->thread = uv_thread_self();
    uv_mutex_unlock(&sh->mutex);
    /* the graveyard after running is set (see uvffi_handle_abandon) */
    uv_mutex_lock(&lp->mutex);
    lp->running = 1;
    lp->thread = sh->thread;
    dead = lp->graveyard;
    lp->graveyard = NULL;
    uv_mutex_unlock(&lp->mutex);
    was_managed = lp->gil_managed;
    was_saved = lp->saved;
    lp->mode = mode;
    lp->saved = NULL;
#if !UVFFI_PYPY
    lp->gil_managed = 1;
#endif
    uvffi__bury(dead);
    r = uv_run(lp->loop, (uv_run_mode)mode);
    if (lp->deferred_head != NULL) {  /* queued after this run's last prepare phase */
        uvffi__work_flush(lp);
        r = 1;
    }
#if !UVFFI_PYPY
    if (lp->saved != NULL)
        PyEval_RestoreThread((PyThreadState *)lp->saved);
#endif
    lp->saved = was_saved;
    lp->gil_managed = was_managed;
    uv_mutex_lock(&lp->mutex);
    lp->running = 0;
    uv_mutex_unlock(&lp->mutex);
    uv_mutex_lock(&sh->mutex);
    sh->running = 0;
    uv_mutex_unlock(&sh->mutex);
    return r;
}

int uvffi_run(uvffi_loop_t *lp, int mode)
{
    int r;
#if !UVFFI_PYPY
    PyGILState_STATE st = PyGILState_Ensure();
#endif
    r = uvffi__run_held(lp, mode);
#if !UVFFI_PYPY
    PyGILState_Release(st);
#endif
    return r;
}

int uvffi_loop_running(uvffi_loop_t *lp) { return lp->shared->running; }

static int uvffi__wakeup_start(uvffi_loop_t *lp, int fd);

#if !UVFFI_PYPY
/* signal.set_wakeup_fd(fd, warn_on_full_buffer=False) from C: the previous fd,
 * or -2 with the error cleared (not the main thread / interpreter). */
static int uvffi__set_wakeup(int fd)
{
    static PyObject *kwnames;
    PyObject *args[2], *r;
    long prev;
    if (uvffi__set_wakeup_fd == NULL)
        return -2;
    if (kwnames == NULL && (kwnames = Py_BuildValue("(s)", "warn_on_full_buffer")) == NULL) {
        PyErr_Clear();
        return -2;
    }
    args[0] = PyLong_FromLong(fd);
    if (args[0] == NULL) {
        PyErr_Clear();
        return -2;
    }
    args[1] = Py_False;
    r = PyObject_Vectorcall(uvffi__set_wakeup_fd, args, 1, kwnames);
    Py_DECREF(args[0]);
    if (r == NULL) {
        PyErr_Clear();
        return -2;
    }
    prev = PyLong_AsLong(r);
    Py_DECREF(r);
    if (prev == -1 && PyErr_Occurred()) {
        PyErr_Clear();
        return -2;
    }
    return (int)prev;
}
#endif

/* A run on the main thread that may block: Python's signal wakeup fd is set to
 * wfd, whose pair rfd the loop watches, so Ctrl-C wakes the poll; the previous
 * wakeup fd is put back before returning. All in C, holding the GIL: no Python
 * code runs between the two set_wakeup_fd calls but the loop's callbacks, whose
 * exceptions never escape, so no KeyboardInterrupt can leave the fd installed.
 * PyPy: UV_ENOSYS (uvffi/loop.py does it in Python). */
int uvffi_run_wakeup(uvffi_loop_t *lp, int mode, int rfd, int wfd)
{
#if UVFFI_PYPY
    (void)lp; (void)mode; (void)rfd; (void)wfd;
    return UV_ENOSYS;
#else
    int r, prev, err;
    PyGILState_STATE st = PyGILState_Ensure();
    if (lp->shared->running) {
        r = UVFFI_ERUNNING;
        goto out;
    }
    prev = uvffi__set_wakeup(wfd);
    if (prev == -2) {  /* not the main thread or interpreter: a plain run */
        r = uvffi__run_held(lp, mode);
        goto out;
    }
    err = uvffi__wakeup_start(lp, rfd);
    if (err) {
        uvffi__set_wakeup(prev);
        r = err;
        goto out;
    }
    r = uvffi__run_held(lp, mode);
    uvffi__set_wakeup(prev);  /* the poll stays started (see uvffi__wakeup_start) */
out:
    PyGILState_Release(st);
    return r;
#endif
}

/* PyPy, main thread: the run of Loop.run and close, which keep Python's signal
 * handlers deferred for their own steps (the running flag, the pending
 * exception: uvffi/loop.py), so that no KeyboardInterrupt can split them. The
 * handlers may run only while the loop runs callbacks, and the signal wakeup fd
 * must be set exactly then: here, between built-ins called as extern "Python"
 * hooks (__pypy__.thread's _signals_enter, signal.set_wakeup_fd, _signals_exit),
 * with no bytecode between them and the run for a handler to raise at. So the
 * fd is set, the loop runs and the fd is restored, as uvffi_run_wakeup does on
 * CPython. (A built-in called from C gets positional arguments only: PyPy's
 * warn_on_full_buffer stays True, a full socket is reported on stderr.)
 * wfd -1: no wakeup fd (RUN_NOWAIT, or no socket). `before`: first serve what
 * Loop.run serves before the first phase (calls queued by other threads,
 * next-tick callbacks). The signals hook runs the handlers of signals that came
 * while deferred, before the fd was set (PyPy keeps them pending until asked).
 * CPython: UV_ENOSYS. */
int uvffi_run_signals(uvffi_loop_t *lp, int mode, int rfd, int wfd, int before)
{
#if UVFFI_PYPY
    int r, prev = -2;
    _uvffi_py_signals_on();
    if (wfd >= 0 && (prev = _uvffi_py_set_wakeup(wfd)) != -2 && uvffi__wakeup_start(lp, rfd) != 0) {
        _uvffi_py_set_wakeup(prev);  /* run all the same: only Ctrl-C may come late */
        prev = -2;
    }
    _uvffi_py_signals(lp->pyloop);
    if (before) {
        _uvffi_py_threadsafe(lp->pyloop);
        _uvffi_py_ticks(lp->pyloop);
    }
    r = uvffi__run_held(lp, mode);
    if (prev != -2)
        _uvffi_py_set_wakeup(prev);  /* the poll stays started (see uvffi__wakeup_start) */
    _uvffi_py_signals_off();
    return r;
#else
    (void)lp; (void)mode; (void)rfd; (void)wfd; (void)before;
    return UV_ENOSYS;
#endif
}

/* The wakeup poll is started by the first run that watches the signal wakeup fd
 * and stays started (unreferenced) until the loop closes its internal handles:
 * stopping it after each run cost an epoll_ctl(DEL) there and an epoll_ctl(ADD)
 * at the next run, two syscalls an iteration for uvffi.aio, which runs libuv
 * once per asyncio iteration. Between runs Python's wakeup fd is not ours, so
 * nothing is written to the socket the poll watches; a byte written at the end
 * of a run is drained (and the signals checked) by the next run of any mode. */
static int uvffi__wakeup_start(uvffi_loop_t *lp, int fd)
{
    int err;
    if (lp->wakeup_fd == fd) {
        if (uv_is_active((uv_handle_t *)&lp->wakeup))
            return 0;
        return uv_poll_start(&lp->wakeup, UV_READABLE, uvffi__wakeup_cb);
    }
    if (lp->wakeup_fd != -1)
        return UV_EBUSY;
    err = uv_poll_init(lp->loop, &lp->wakeup, fd);
    if (err)
        return err;
    lp->wakeup.data = lp;
    lp->wakeup_fd = fd;
    uv_unref((uv_handle_t *)&lp->wakeup);
    return uv_poll_start(&lp->wakeup, UV_READABLE, uvffi__wakeup_cb);
}

/* Start the wakeup poll on rfd now (Loop._hold_wakeup: Python's wakeup fd stays
 * set for many runs, which then run without setting it each time). 0 or a libuv
 * error; UVFFI_ERUNNING while the loop runs. */
int uvffi_wakeup_watch(uvffi_loop_t *lp, int rfd)
{
    if (lp->shared->running)
        return UVFFI_ERUNNING;
    return uvffi__wakeup_start(lp, rfd);
}

/* What uv_loop_alive adds up, as a number: the active referenced handles, the
 * active requests, and 1 while handles are closing (uvffi.aio: whether a
 * non-blocking run has anything to do but its own wakeup, whose 1 it counts). */
int uvffi_loop_active(uvffi_loop_t *lp)
{
    uv_loop_t *l = lp->loop;
    return (int)l->active_handles + (int)l->active_reqs.count + (l->closing_handles != NULL);
}

static int uvffi__is_internal(uvffi_loop_t *lp, uv_handle_t *handle)
{
    return handle == (uv_handle_t *)&lp->gil_prepare || handle == (uv_handle_t *)&lp->reaper ||
           handle == (uv_handle_t *)&lp->tsafe ||
#if UVFFI_PYPY
           handle == (uv_handle_t *)&lp->batch_check ||
#endif
           (lp->wakeup_fd != -1 && handle == (uv_handle_t *)&lp->wakeup);
}

static void uvffi__close_internal_cb(uv_handle_t *handle, void *arg)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)arg;
    if (!uv_is_closing(handle) && uvffi__is_internal(lp, handle)) {
        lp->internal_closing++;
        uv_close(handle, uvffi__internal_closed);
    }
}

/* One of this uvffi loop's handles (not another wrapper's of the same uv_loop_t)? */
static uvffi_handle_t *uvffi__ours(uvffi_loop_t *lp, uv_handle_t *handle)
{
    uvffi_handle_t *h;
    if (uvffi__is_internal(lp, handle) || !UVFFI_IS_OURS(handle))
        return NULL;
    h = UVFFI_OF(handle);
    return h->lp == lp ? h : NULL;
}

static void uvffi__close_ours_cb(uv_handle_t *handle, void *arg)
{
    uvffi_handle_t *h = uvffi__ours((uvffi_loop_t *)arg, handle);
    if (h == NULL || uv_is_closing(handle))
        return;
    if (h->self != 0 && !h->kept)
        uvffi__keep(h);
    uv_close(handle, uvffi__close_cb);
}

/* Close every handle uvffi created on this loop, and uvffi's internal ones. */
void uvffi_loop_close_handles(uvffi_loop_t *lp, int internal)
{
    SERIAL_ENTER()
    lp->closing = 1;
    uvffi__reap(lp);
    uv_walk(lp->loop, uvffi__close_ours_cb, lp);
    uvffi__signals_restore();
    if (internal)
        uv_walk(lp->loop, uvffi__close_internal_cb, lp);
    SERIAL_LEAVE()
}

int uvffi_loop_is_closing(uvffi_loop_t *lp) { return lp->closing; }

/* Can close() begin? Not while the uv_loop_t runs (here or through another
 * wrapper, in any thread): UVFFI_ERUNNING; not for a loop uvffi owns while
 * from_pointer() wrappers of it are open: UVFFI_EWRAPPED. Checked before close()
 * changes anything, so that a refused close leaves the loop as it was. */
int uvffi_loop_close_check(uvffi_loop_t *lp)
{
    int err = 0;
    uv_mutex_lock(&lp->shared->mutex);
    if (lp->shared->running)
        err = UVFFI_ERUNNING;
    uv_mutex_unlock(&lp->shared->mutex);
    if (err == 0 && lp->owned) {
        uv_mutex_lock(&uvffi__registry_mutex);
        if (lp->shared->users > 1)
            err = UVFFI_EWRAPPED;
        uv_mutex_unlock(&uvffi__registry_mutex);
    }
    return err;
}

static void uvffi__count_foreign_cb(uv_handle_t *handle, void *arg)
{
    uvffi_loop_t *lp = ((uvffi_loop_t **)arg)[0];
    if (!uv_is_closing(handle) && !uvffi__is_internal(lp, handle) && !UVFFI_IS_OURS(handle))
        (*(int *)((uvffi_loop_t **)arg)[1])++;
}

/* Open handles on the loop that no uvffi loop made (C code's, through
 * Loop.pointer): uv_loop_close would fail with EBUSY. */
int uvffi_loop_foreign_handles(uvffi_loop_t *lp)
{
    int n = 0;
    void *arg[2];
    arg[0] = lp;
    arg[1] = &n;
    SERIAL_ENTER()
    uv_walk(lp->loop, uvffi__count_foreign_cb, arg);
    SERIAL_LEAVE()
    return n;
}

/* Free the loop: uv_loop_close if uvffi owns it. Returns libuv's result. */
int uvffi_loop_free(uvffi_loop_t *lp)
{
    int err = 0;
    if (lp->owned) {
        err = uv_loop_close(lp->loop);
        if (err)
            return err;
    }
    uv_mutex_destroy(&lp->mutex);
    free(lp->rbuf);
#if UVFFI_PYPY
    free(lp->batch);
    free(lp->batch_h);
#endif
    uvffi__shared_put(lp->shared);
    free(lp);
    return 0;
}

struct uvffi__walk {
    uvffi_loop_t *lp;
    uintptr_t list;   /* CPython: the list to append to */
    uintptr_t *addrs; /* PyPy: where the handles' addresses go, *n of them at most */
    size_t cap, found;
};

static void uvffi__walk_cb(uv_handle_t *handle, void *arg)
{
    struct uvffi__walk *w = arg;
    uvffi_handle_t *h = uvffi__ours(w->lp, handle);
    if (h == NULL || h->self == 0)
        return;
#if UVFFI_PYPY
    if (w->found < w->cap)
        w->addrs[w->found] = (uintptr_t)h;
#else
    PyList_Append((PyObject *)w->list, (PyObject *)h->self);
#endif
    w->found++;
}

/* Every live uvffi handle of the loop. CPython: their Python objects are appended to
 * `list`. PyPy: the handles' addresses go to `addrs` (at most *n; *n becomes the count
 * found, so a caller with too small an array asks again) and Python finds their objects,
 * with no call into Python during the walk: a Ctrl-C there can drop no handle from the
 * answer, it raises from the caller's own code. Walking the handle queue while the loop
 * runs in another thread could follow a freed handle: refused with UVFFI_EWRONGTHREAD.
 * Serialised like every other entry point. */
int uvffi_loop_walk(uvffi_loop_t *lp, uintptr_t list, uintptr_t *addrs, size_t *n)
{
    struct uvffi__walk w;
    int err = 0;
    SERIAL_ENTER()
    if (uvffi__wrong_thread(lp)) {
        err = UVFFI_EWRONGTHREAD;
    } else {
        w.lp = lp;
        w.list = list;
        w.addrs = addrs;
        w.cap = *n;
        w.found = 0;
        uv_walk(lp->loop, uvffi__walk_cb, &w);
        *n = w.found;
    }
    SERIAL_LEAVE()
    return err;
}

/* uv_stop / uv_update_time, refused from a thread other than the running one
 * (libuv's loop state is not thread-safe; use Async.send to stop from elsewhere). */
static int uvffi__loop_stop(uvffi_loop_t *lp)
{
    if (uvffi__wrong_thread(lp))
        return UVFFI_EWRONGTHREAD;
    uv_stop(lp->loop);
    return 0;
}

static int uvffi__loop_update_time(uvffi_loop_t *lp)
{
    if (uvffi__wrong_thread(lp))
        return UVFFI_EWRONGTHREAD;
    uv_update_time(lp->loop);
    return 0;
}

UVFFI_SERIALISED(int, uvffi_loop_stop, (uvffi_loop_t *lp), uvffi__loop_stop(lp))
UVFFI_SERIALISED(int, uvffi_loop_update_time, (uvffi_loop_t *lp), uvffi__loop_update_time(lp))

int uvffi_loop_configure(uvffi_loop_t *lp, int option, int value)
{
    if (option == UV_LOOP_BLOCK_SIGNAL)
        return uv_loop_configure(lp->loop, UV_LOOP_BLOCK_SIGNAL, value);
#if UV_VERSION_HEX >= 0x012700
    if (option == UV_METRICS_IDLE_TIME)
        return uv_loop_configure(lp->loop, UV_METRICS_IDLE_TIME);
#endif
    return UV_ENOSYS;
}

int uvffi_metrics_info(uvffi_loop_t *lp, uint64_t *out)
{
#if UV_VERSION_HEX >= 0x012d00
    uv_metrics_t m;
    int err = uv_metrics_info(lp->loop, &m);
    if (err)
        return err;
    out[0] = m.loop_count;
    out[1] = m.events;
    out[2] = m.events_waiting;
    return 0;
#else
    (void)lp;
    (void)out;
    return UV_ENOSYS;
#endif
}

uint64_t uvffi_metrics_idle_time(uvffi_loop_t *lp) { return uv_metrics_idle_time(lp->loop); }

/* uvffi.scheduler / call_soon_threadsafe: the tick flag and the threadsafe wakeup. */
void uvffi_loop_set_ticks(uvffi_loop_t *lp, int pending) { lp->ticks_pending = pending; }
int uvffi_loop_tsafe_send(uvffi_loop_t *lp) { return uv_async_send(&lp->tsafe); }
