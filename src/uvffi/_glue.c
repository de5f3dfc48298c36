/*
 * uvffi's C glue: the trampolines from libuv's callbacks into Python, and the
 * little state that must live in C (the GIL hand-off around poll, the signal
 * wakeup watcher, the graveyard of handles whose Python object died).
 *
 * This file is #included into the preamble of the cffi module (build_libuv.py),
 * so it shares one translation unit with cffi's generated wrappers and can call
 * the `extern "Python"` hooks used on PyPy.
 *
 * References to Python objects cross the cffi boundary as uintptr_t:
 *   - CPython: the object's address (`id(obj)`), used with the C API directly;
 *   - PyPy:    a cffi handle (`ffi.new_handle(obj)`), resolved in Python.
 *
 * Ownership (CPython):
 *   - h->self is borrowed while the handle is inactive; while it is active or
 *     closing, C holds one strong reference (h->kept), so a started handle
 *     lives though Python drops it.
 *   - h->callback is borrowed: the Python object keeps it in an attribute.
 *   - The libuv memory is freed only in the close callback.
 */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <stdint.h>
#include <pthread.h>

#ifdef PYPY_VERSION
#define UVFFI_PYPY 1
#else
#define UVFFI_PYPY 0
#endif

#define UVFFI_EWRONGTHREAD (-100001)
#define UVFFI_ECLOSED (-100002)

enum {
    UVFFI_TIMER = 1,
    UVFFI_PREPARE = 2,
    UVFFI_CHECK = 3,
    UVFFI_IDLE = 4,
    UVFFI_ASYNC = 5,
    UVFFI_SIGNAL = 6
};

typedef struct uvffi_handle_s uvffi_handle_t;

/* The error of the last constructor that returned NULL on this thread. */
static __thread int uvffi__last_err;
int uvffi_last_error(void) { return uvffi__last_err; }

typedef struct uvffi_loop_s {
    uv_loop_t *loop;          /* the libuv loop */
    uv_loop_t own_loop;       /* storage when uvffi owns the loop */
    int owned;                /* 1: uvffi initialised own_loop and closes it */
    uintptr_t pyloop;         /* borrowed reference to the Python Loop */
    int running;              /* inside uvffi_run (guarded by mutex for the graveyard) */
    int mode;                 /* uv_run mode of the current run */
    uv_thread_t thread;       /* thread running the loop, valid while running */
    void *saved;              /* PyThreadState* while the GIL is released for poll */
    int gil_managed;          /* callbacks find the GIL held or in `saved` */
    uv_prepare_t gil_prepare; /* releases the GIL before a poll that can block */
    uv_poll_t wakeup;         /* watches the signal wakeup fd */
    int wakeup_fd;
    uv_async_t reaper;        /* wakes the loop to close abandoned handles */
    uv_mutex_t mutex;         /* guards graveyard and running */
    uvffi_handle_t *graveyard;
    int internal_closing;     /* internal handles still to be closed */
    /* uvffi.scheduler / call_soon_threadsafe (threadsafe.py, scheduler.py) */
    int ticks_pending;        /* next-tick callbacks queued: drain after each callback */
    uv_async_t tsafe;         /* call_soon_threadsafe's wakeup: internal, unref'd */
    struct uvffi_work_s *deferred_head, *deferred_tail; /* loop thread only */
} uvffi_loop_t;

struct uvffi_handle_s {
    union {
        uv_handle_t handle;
        uv_timer_t timer;
        uv_prepare_t prepare;
        uv_check_t check;
        uv_idle_t idle;
        uv_async_t async;
        uv_signal_t signal;
    } uv;
    uvffi_loop_t *lp;
    uintptr_t self;           /* the Python handle object (see ownership above) */
    uintptr_t callback;       /* the Python callable (borrowed) */
    int kind;
    int kept;                 /* C holds a strong reference to self */
    uvffi_handle_t *next_dead;
};

typedef struct uvffi_work_s {
    uv_work_t req;
    uvffi_loop_t *lp;
    uintptr_t self;           /* the Python WorkRequest, strong from queue to done */
    struct uvffi_work_s *next_deferred; /* see uvffi__work_flush */
    int deferred;             /* 1 while on lp's deferred list, not yet given to libuv */
} uvffi_work_t;

/* ------------------------------------------------------------------------ */
/* Interpreter-specific pieces                                               */
/* ------------------------------------------------------------------------ */

#if UVFFI_PYPY

/* extern "Python" hooks, defined by cffi from build_libuv.py's cdef */
static void _uvffi_py_call(uintptr_t self, uintptr_t callback, int kind, int arg);
static void _uvffi_py_closed(uintptr_t self);
static void _uvffi_py_release(uintptr_t self);
static void _uvffi_py_keep(uintptr_t self);
static void _uvffi_py_work(uintptr_t self);
static void _uvffi_py_done(uintptr_t self, int status);
static void _uvffi_py_signals(uintptr_t pyloop);
static void _uvffi_py_walk(uintptr_t list, uintptr_t self);
static void _uvffi_py_ticks(uintptr_t pyloop);
static void _uvffi_py_threadsafe(uintptr_t pyloop);

#define GIL_ENTER(lp)
#define GIL_LEAVE(lp)
#define GIL_ENSURE()
#define GIL_RELEASE()

static void uvffi__keep(uvffi_handle_t *h) { h->kept = 1; _uvffi_py_keep(h->self); }
static void uvffi__hobj_bind(uvffi_handle_t *h) { (void)h; }
static void uvffi__hobj_unbind(uvffi_handle_t *h) { (void)h; }
static void uvffi__release(uvffi_handle_t *h) { h->kept = 0; _uvffi_py_release(h->self); }

#else /* CPython */

static PyObject *uvffi__on_error;  /* f(source, exc): routes a callback's exception */
static PyObject *uvffi__on_closed; /* f(handle): the close callback in Python */
static PyObject *uvffi__on_work;   /* f(request): runs work_cb in the pool */
static PyObject *uvffi__on_done;   /* f(request, status): runs done_cb */
static PyObject *uvffi__on_ticks;  /* f(loop): runs the loop's next-tick queue */
static PyObject *uvffi__on_tsafe;  /* f(loop): runs the call_soon_threadsafe batch */
static PyObject *uvffi__s_on_closed; /* interned "_on_closed" */
static PyObject *uvffi__s_run;       /* interned "_run" */
static PyObject *uvffi__s_done;      /* interned "_done" */

/* Take the GIL on the loop thread: either from `saved` (released for poll by
 * this loop's prepare handle) or, when libuv runs outside uvffi_run, from the
 * thread state machinery. */
#define GIL_ENTER(lp)                                                   \
    PyGILState_STATE gil__state = PyGILState_UNLOCKED;                  \
    int gil__ensured = 0;                                               \
    if ((lp)->saved != NULL) {                                          \
        PyEval_RestoreThread((PyThreadState *)(lp)->saved);             \
        (lp)->saved = NULL;                                             \
    } else if (!(lp)->gil_managed) {                                    \
        gil__state = PyGILState_Ensure();                               \
        gil__ensured = 1;                                               \
    }
#define GIL_LEAVE(lp)                                                   \
    if (gil__ensured) PyGILState_Release(gil__state);
#define GIL_ENSURE() PyGILState_STATE gil__st = PyGILState_Ensure();
#define GIL_RELEASE() PyGILState_Release(gil__st);

/* Hand a pending exception to Python's router; never leaves one set. */
static void uvffi__report(uintptr_t source)
{
    PyObject *type, *value, *tb, *r;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        Py_XDECREF(type);
        Py_XDECREF(tb);
        return;
    }
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    r = PyObject_CallFunctionObjArgs(uvffi__on_error, (PyObject *)source, value, NULL);
    if (r == NULL)
        PyErr_WriteUnraisable(uvffi__on_error);
    Py_XDECREF(r);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

static void uvffi__keep(uvffi_handle_t *h) { h->kept = 1; Py_INCREF((PyObject *)h->self); }
static void uvffi__release(uvffi_handle_t *h) { h->kept = 0; Py_DECREF((PyObject *)h->self); }

#endif

/* ------------------------------------------------------------------------ */
/* Callbacks from libuv                                                      */
/* ------------------------------------------------------------------------ */

/* Next-tick callbacks (uvffi.scheduler.next_tick) run right after the callback
 * that queued them returns: Python sets lp->ticks_pending, C drains. GIL held. */
static void uvffi__run_ticks(uvffi_loop_t *lp)
{
    while (lp->ticks_pending) {
        lp->ticks_pending = 0;
#if UVFFI_PYPY
        _uvffi_py_ticks(lp->pyloop);
#else
        {
            PyObject *r = uvffi__on_ticks == NULL ? Py_None
                : PyObject_CallOneArg(uvffi__on_ticks, (PyObject *)lp->pyloop);
            if (r == NULL)
                uvffi__report(lp->pyloop);
            else if (r != Py_None)
                Py_DECREF(r);
        }
#endif
    }
}

/* Run the Python callback of h with the GIL held. */
static inline void uvffi__invoke(uvffi_handle_t *h, int arg)
{
    uintptr_t self = h->self, cb = h->callback;
    if (self == 0 || cb == 0)
        return;
#if UVFFI_PYPY
    _uvffi_py_call(self, cb, h->kind, arg);
    if (h->kept && !uv_is_active(&h->uv.handle) && !uv_is_closing(&h->uv.handle))
        uvffi__release(h);
#else
    {
        PyObject *pself = (PyObject *)self, *pcb = (PyObject *)cb, *r;
        Py_INCREF(pself);
        Py_INCREF(pcb);
        if (h->kind == UVFFI_SIGNAL) {
            PyObject *num = PyLong_FromLong(arg);
            r = num ? PyObject_CallFunctionObjArgs(pcb, pself, num, NULL) : NULL;
            Py_XDECREF(num);
        } else {
            r = PyObject_CallOneArg(pcb, pself);
        }
        if (r == NULL)
            uvffi__report(self);
        else
            Py_DECREF(r);
        Py_DECREF(pcb);
        /* A one-shot timer is inactive after it fired: drop the keep-alive. */
        if (h->kept && !uv_is_active(&h->uv.handle) && !uv_is_closing(&h->uv.handle))
            uvffi__release(h);
        Py_DECREF(pself);
    }
#endif
    if (h->lp->ticks_pending)
        uvffi__run_ticks(h->lp);
}

#define UVFFI_SIMPLE_CB(name, type)                                     \
    static void name(type *handle)                                      \
    {                                                                   \
        uvffi_handle_t *h = (uvffi_handle_t *)handle;                   \
        uvffi_loop_t *lp = h->lp;                                       \
        GIL_ENTER(lp)                                                   \
        uvffi__invoke(h, 0);                                            \
        GIL_LEAVE(lp)                                                   \
    }

UVFFI_SIMPLE_CB(uvffi__timer_cb, uv_timer_t)
UVFFI_SIMPLE_CB(uvffi__prepare_cb, uv_prepare_t)
UVFFI_SIMPLE_CB(uvffi__check_cb, uv_check_t)
UVFFI_SIMPLE_CB(uvffi__idle_cb, uv_idle_t)
UVFFI_SIMPLE_CB(uvffi__async_cb, uv_async_t)

static void uvffi__signal_cb(uv_signal_t *handle, int signum)
{
    uvffi_handle_t *h = (uvffi_handle_t *)handle;
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
    uvffi__invoke(h, signum);
    GIL_LEAVE(lp)
}

#if !UVFFI_PYPY
/* Handle._on_closed, registered by handle.py through fast["base_on_closed"]:
 * for classes that do not override it, the close callback does its bookkeeping
 * in C (uvffi__hobj_closed in _bases.c), so a closed handle costs no Python frame. */
static PyObject *uvffi__base_on_closed;
static PyTypeObject uvffi__HandleBase;
static PyObject *uvffi__hobj_closed(PyObject *self);
#endif
/* h->self's C base keeps h as the authority for its finaliser (_bases.c):
 * bind when h is made, unbind when h is closed or abandoned. */
static void uvffi__hobj_bind(uvffi_handle_t *h);
static void uvffi__hobj_unbind(uvffi_handle_t *h);

/* The close callback: tell Python, drop the keep-alive, free the memory. */
static void uvffi__close_cb(uv_handle_t *handle)
{
    uvffi_handle_t *h = (uvffi_handle_t *)handle;
    uvffi_loop_t *lp = h->lp;
    if (h->self == 0) {           /* abandoned: the Python object is gone */
        free(h);
        return;
    }
    {
        GIL_ENTER(lp)
        uintptr_t self = h->self;
#if UVFFI_PYPY
        h->self = 0;
        _uvffi_py_closed(self);
        if (h->kept)
            _uvffi_py_release(self);
#else
        PyObject *r;
        uvffi__hobj_unbind(h);
        h->self = 0;
        /* handle._on_closed() directly (what _trampoline.on_closed does), one frame less;
         * when the class does not override Handle._on_closed, its bookkeeping in C */
        if (uvffi__base_on_closed != NULL && PyObject_TypeCheck((PyObject *)self, &uvffi__HandleBase) &&
            _PyType_Lookup(Py_TYPE((PyObject *)self), uvffi__s_on_closed) == uvffi__base_on_closed)
            r = uvffi__hobj_closed((PyObject *)self);
        else
            r = PyObject_CallMethodNoArgs((PyObject *)self, uvffi__s_on_closed);
        if (r == NULL)
            uvffi__report(self);
        else
            Py_DECREF(r);
        if (h->kept)
            Py_DECREF((PyObject *)self);
#endif
        free(h);
        if (lp->ticks_pending)
            uvffi__run_ticks(lp);
        GIL_LEAVE(lp)
    }
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

static void uvffi__work_flush(uvffi_loop_t *lp);

/* Before poll: release the GIL if poll may block, so other threads run; then
 * hand the work queued during this iteration to the thread pool, whose workers
 * so find the GIL free instead of waking only to wait for it. */
static void uvffi__gil_prepare_cb(uv_prepare_t *p)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)p->data;
#if !UVFFI_PYPY
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

/* Close the abandoned handles of a list taken from the graveyard. */
static void uvffi__bury(uvffi_handle_t *h)
{
    while (h != NULL) {
        uvffi_handle_t *next = h->next_dead;
        if (!uv_is_closing(&h->uv.handle))
            uv_close(&h->uv.handle, uvffi__close_cb);
        h = next;
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
    uvffi__reap((uvffi_loop_t *)a->data);
}

/* call_soon_threadsafe: run the batch queued by other threads (threadsafe.py). */
static void uvffi__tsafe_cb(uv_async_t *a)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)a->data;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    _uvffi_py_threadsafe(lp->pyloop);
#else
    if (uvffi__on_tsafe != NULL) {
        PyObject *r = PyObject_CallOneArg(uvffi__on_tsafe, (PyObject *)lp->pyloop);
        if (r == NULL)
            uvffi__report(lp->pyloop);
        else
            Py_DECREF(r);
    }
#endif
    if (lp->ticks_pending)
        uvffi__run_ticks(lp);
    GIL_LEAVE(lp)
}

static void uvffi__internal_closed(uv_handle_t *handle)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)handle->data;
    lp->internal_closing--;
}

/* ------------------------------------------------------------------------ */
/* Loops                                                                     */
/* ------------------------------------------------------------------------ */

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
    *err = uvffi__loop_setup(lp);
    if (*err) {
        if (lp->owned)
            uv_loop_close(lp->loop);
        free(lp);
        return NULL;
    }
    return lp;
}

uv_loop_t *uvffi_loop_raw(uvffi_loop_t *lp) { return lp->loop; }

static int uvffi__wrong_thread(uvffi_loop_t *lp)
{
    uv_thread_t me = uv_thread_self();
    return lp->running && !uv_thread_equal(&me, &lp->thread);
}

int uvffi_loop_check_thread(uvffi_loop_t *lp)
{
    return uvffi__wrong_thread(lp) ? UVFFI_EWRONGTHREAD : 0;
}

/* uv_run with the GIL held on entry and on return (CPython). */
static int uvffi__run_held(uvffi_loop_t *lp, int mode)
{
    int r, was_running, was_managed;
    void *was_saved;
    uv_thread_t was_thread;
    uvffi_handle_t *dead;
    /* One critical section marks the loop running and takes the graveyard (each
     * lock/unlock pair is two atomic operations: this is entered per run(NOWAIT)). */
    uv_mutex_lock(&lp->mutex);
    was_running = lp->running;
    was_thread = lp->thread;
    lp->running = 1;
    lp->thread = uv_thread_self();
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
    lp->running = was_running;
    lp->thread = was_thread;
    uv_mutex_unlock(&lp->mutex);
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

int uvffi_loop_wakeup_start(uvffi_loop_t *lp, int fd)
{
    int err;
    if (lp->wakeup_fd == fd)
        return uv_poll_start(&lp->wakeup, UV_READABLE, uvffi__wakeup_cb);
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

int uvffi_loop_wakeup_stop(uvffi_loop_t *lp)
{
    if (lp->wakeup_fd == -1)
        return 0;
    return uv_poll_stop(&lp->wakeup);
}

static int uvffi__is_internal(uvffi_loop_t *lp, uv_handle_t *handle)
{
    return handle == (uv_handle_t *)&lp->gil_prepare || handle == (uv_handle_t *)&lp->reaper ||
           handle == (uv_handle_t *)&lp->tsafe ||
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

static void uvffi__close_ours_cb(uv_handle_t *handle, void *arg)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)arg;
    uvffi_handle_t *h = (uvffi_handle_t *)handle;
    if (uv_is_closing(handle) || uvffi__is_internal(lp, handle))
        return;
    /* Only handles created by uvffi: their callbacks are our trampolines. */
    if (handle->data == (void *)h && h->lp != lp)
        return;  /* another uvffi Loop wrapping the same uv_loop_t (from_pointer) owns it */
    switch (handle->type) {
    case UV_TIMER:
        if (h->uv.timer.timer_cb != NULL && h->uv.timer.timer_cb != uvffi__timer_cb) return;
        break;
    case UV_PREPARE:
        if (h->uv.prepare.prepare_cb != NULL && h->uv.prepare.prepare_cb != uvffi__prepare_cb) return;
        break;
    case UV_CHECK:
        if (h->uv.check.check_cb != NULL && h->uv.check.check_cb != uvffi__check_cb) return;
        break;
    case UV_IDLE:
        if (h->uv.idle.idle_cb != NULL && h->uv.idle.idle_cb != uvffi__idle_cb) return;
        break;
    case UV_ASYNC:
        if (h->uv.async.async_cb != uvffi__async_cb) return;
        break;
    case UV_SIGNAL:
        if (h->uv.signal.signal_cb != NULL && h->uv.signal.signal_cb != uvffi__signal_cb) return;
        break;
    default:
        return;
    }
    if (handle->data != (void *)h)
        return;
    if (h->self != 0 && !h->kept)
        uvffi__keep(h);
    uv_close(handle, uvffi__close_cb);
}

/* Close every handle uvffi created on this loop, and uvffi's internal ones. */
void uvffi_loop_close_handles(uvffi_loop_t *lp, int internal)
{
    GIL_ENSURE()
    uvffi__reap(lp);
    uv_walk(lp->loop, uvffi__close_ours_cb, lp);
    if (internal)
        uv_walk(lp->loop, uvffi__close_internal_cb, lp);
    GIL_RELEASE()
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
    free(lp);
    return 0;
}

static void uvffi__walk_cb(uv_handle_t *handle, void *arg)
{
    uvffi_handle_t *h = (uvffi_handle_t *)handle;
    uintptr_t list = ((uintptr_t *)arg)[0];
    uvffi_loop_t *lp = (uvffi_loop_t *)((uintptr_t *)arg)[1];
    if (uvffi__is_internal(lp, handle))
        return;
    if (handle->data != (void *)h || h->self == 0 || h->lp != lp)
        return;
#if UVFFI_PYPY
    _uvffi_py_walk(list, h->self);
#else
    PyList_Append((PyObject *)list, (PyObject *)h->self);
#endif
}

/* Append every live uvffi handle's Python object to `list`. Walking the handle
 * queue while the loop runs in another thread could follow a freed handle:
 * refused with UVFFI_EWRONGTHREAD. */
int uvffi_loop_walk(uvffi_loop_t *lp, uintptr_t list)
{
    uintptr_t arg[2];
    int err = 0;
    GIL_ENSURE()  /* before the check: serialised with uvffi_run (see below) */
    if (uvffi__wrong_thread(lp)) {
        err = UVFFI_EWRONGTHREAD;
    } else {
    arg[0] = list;
    arg[1] = (uintptr_t)lp;
    uv_walk(lp->loop, uvffi__walk_cb, arg);
    }
    GIL_RELEASE()
    return err;
}

/* uv_stop / uv_update_time, refused from a thread other than the running one
 * (libuv's loop state is not thread-safe; use Async.send to stop from elsewhere). */
static int uvffi__locked_loop_stop(uvffi_loop_t *lp)
{
    if (uvffi__wrong_thread(lp))
        return UVFFI_EWRONGTHREAD;
    uv_stop(lp->loop);
    return 0;
}

static int uvffi__locked_loop_update_time(uvffi_loop_t *lp)
{
    if (uvffi__wrong_thread(lp))
        return UVFFI_EWRONGTHREAD;
    uv_update_time(lp->loop);
    return 0;
}

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

/* ------------------------------------------------------------------------ */
/* Handles                                                                   */
/* ------------------------------------------------------------------------ */

/* Allocate and initialise a handle of `kind`; self is the Python object. */
static uvffi_handle_t *uvffi__handle_new(uvffi_loop_t *lp, int kind, uintptr_t self, uintptr_t callback,
                                         int held)
{
    uvffi_handle_t *h;
    int *err = &uvffi__last_err;
    if (uvffi__wrong_thread(lp)) {
        *err = UVFFI_EWRONGTHREAD;
        return NULL;
    }
    h = calloc(1, sizeof *h);
    if (h == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    h->lp = lp;
    h->kind = kind;
    switch (kind) {
    case UVFFI_TIMER: *err = uv_timer_init(lp->loop, &h->uv.timer); break;
    case UVFFI_PREPARE: *err = uv_prepare_init(lp->loop, &h->uv.prepare); break;
    case UVFFI_CHECK: *err = uv_check_init(lp->loop, &h->uv.check); break;
    case UVFFI_IDLE: *err = uv_idle_init(lp->loop, &h->uv.idle); break;
    case UVFFI_ASYNC: *err = uv_async_init(lp->loop, &h->uv.async, uvffi__async_cb); break;
    case UVFFI_SIGNAL: *err = uv_signal_init(lp->loop, &h->uv.signal); break;
    default: *err = UV_EINVAL; break;
    }
    if (*err) {
        free(h);
        return NULL;
    }
    h->uv.handle.data = h;
    h->self = self;
    h->callback = callback;
    uvffi__hobj_bind(h);
    if (kind == UVFFI_ASYNC) {
        /* An async handle is active from birth until it is closed. */
        if (held) {
            uvffi__keep(h);
        } else {
            GIL_ENSURE()
            uvffi__keep(h);
            GIL_RELEASE()
        }
    }
    return h;
}

/* Bring the keep-alive in line with libuv's idea of activity. `held`: the
 * caller holds the GIL (the CPython fast paths), so no PyGILState round trip. */
static void uvffi__sync_keep_gil(uvffi_handle_t *h, int held)
{
    int active = uv_is_active(&h->uv.handle);
    if (active && !h->kept) {
        if (held) {
            uvffi__keep(h);
        } else {
            GIL_ENSURE()
            uvffi__keep(h);
            GIL_RELEASE()
        }
    } else if (!active && h->kept && !uv_is_closing(&h->uv.handle)) {
        if (held) {
            uvffi__release(h);
        } else {
            GIL_ENSURE()
            uvffi__release(h);
            GIL_RELEASE()
        }
    }
}
#define uvffi__sync_keep(h) uvffi__sync_keep_gil((h), 0)

#define UVFFI_GUARD(h)                                                  \
    if (h->self == 0 || uv_is_closing(&h->uv.handle))                   \
        return UVFFI_ECLOSED;                                           \
    if (uvffi__wrong_thread(h->lp))                                     \
        return UVFFI_EWRONGTHREAD;

static int uvffi__timer_start(uvffi_handle_t *h, uintptr_t callback, uint64_t timeout, uint64_t repeat,
                              int held)
{
    int err;
    UVFFI_GUARD(h)
    h->callback = callback;
    err = uv_timer_start(&h->uv.timer, uvffi__timer_cb, timeout, repeat);
    uvffi__sync_keep_gil(h, held);
    return err;
}

static int uvffi__locked_timer_again(uvffi_handle_t *h)
{
    int err;
    UVFFI_GUARD(h)
    err = uv_timer_again(&h->uv.timer);
    uvffi__sync_keep(h);
    return err;
}

static int uvffi__watcher_start(uvffi_handle_t *h, uintptr_t callback, int held)
{
    int err;
    UVFFI_GUARD(h)
    h->callback = callback;
    switch (h->kind) {
    case UVFFI_PREPARE: err = uv_prepare_start(&h->uv.prepare, uvffi__prepare_cb); break;
    case UVFFI_CHECK: err = uv_check_start(&h->uv.check, uvffi__check_cb); break;
    case UVFFI_IDLE: err = uv_idle_start(&h->uv.idle, uvffi__idle_cb); break;
    default: err = UV_EINVAL; break;
    }
    uvffi__sync_keep_gil(h, held);
    return err;
}

static int uvffi__locked_signal_start(uvffi_handle_t *h, uintptr_t callback, int signum)
{
    int err;
    UVFFI_GUARD(h)
    h->callback = callback;
    err = uv_signal_start(&h->uv.signal, uvffi__signal_cb, signum);
    uvffi__sync_keep(h);
    return err;
}

static int uvffi__handle_stop(uvffi_handle_t *h, int held)
{
    int err;
    UVFFI_GUARD(h)
    switch (h->kind) {
    case UVFFI_TIMER: err = uv_timer_stop(&h->uv.timer); break;
    case UVFFI_PREPARE: err = uv_prepare_stop(&h->uv.prepare); break;
    case UVFFI_CHECK: err = uv_check_stop(&h->uv.check); break;
    case UVFFI_IDLE: err = uv_idle_stop(&h->uv.idle); break;
    case UVFFI_SIGNAL: err = uv_signal_stop(&h->uv.signal); break;
    default: err = UV_EINVAL; break;
    }
    uvffi__sync_keep_gil(h, held);
    return err;
}

/* Close from Python: keep self alive until the close callback has run. */
static int uvffi__handle_close(uvffi_handle_t *h, int held)
{
    UVFFI_GUARD(h)
    if (!h->kept) {
        if (held) {
            uvffi__keep(h);
        } else {
            GIL_ENSURE()
            uvffi__keep(h);
            GIL_RELEASE()
        }
    }
    uv_close(&h->uv.handle, uvffi__close_cb);
    return 0;
}

/* The Python object died while the handle was inactive and open: close it on
 * the loop's thread (from any thread), freeing only the raw memory. */
void uvffi_handle_abandon(uvffi_handle_t *h)
{
    uvffi_loop_t *lp = h->lp;
    int wake;
    uvffi__hobj_unbind(h);
    h->self = 0;
    h->callback = 0;
    uv_mutex_lock(&lp->mutex);
    h->next_dead = lp->graveyard;
    lp->graveyard = h;
    wake = lp->running;
    uv_mutex_unlock(&lp->mutex);
    if (wake)
        uv_async_send(&lp->reaper);
}

static int uvffi__locked_handle_set_ref(uvffi_handle_t *h, int ref)
{
    UVFFI_GUARD(h)
    if (ref)
        uv_ref(&h->uv.handle);
    else
        uv_unref(&h->uv.handle);
    return 0;
}

int uvffi_handle_active(uvffi_handle_t *h) { return uv_is_active(&h->uv.handle); }
int uvffi_handle_has_ref(uvffi_handle_t *h) { return uv_has_ref(&h->uv.handle); }
int uvffi_handle_kept(uvffi_handle_t *h) { return h->kept; }
uv_handle_t *uvffi_handle_raw(uvffi_handle_t *h) { return &h->uv.handle; }

int uvffi_async_send(uvffi_handle_t *h) { return uv_async_send(&h->uv.async); }

uint64_t uvffi_timer_get_repeat(uvffi_handle_t *h) { return uv_timer_get_repeat(&h->uv.timer); }
/* Guarded: libuv's timer fields belong to the loop thread while it runs. */
static int uvffi__locked_timer_set_repeat(uvffi_handle_t *h, uint64_t repeat)
{
    UVFFI_GUARD(h)
    uv_timer_set_repeat(&h->uv.timer, repeat);
    return 0;
}
uint64_t uvffi_timer_get_due_in(uvffi_handle_t *h) { return uv_timer_get_due_in(&h->uv.timer); }

/* ------------------------------------------------------------------------ */
/* Thread-pool work                                                          */
/* ------------------------------------------------------------------------ */

static void uvffi__work_cb(uv_work_t *req)
{
    uvffi_work_t *w = (uvffi_work_t *)req;
#if UVFFI_PYPY
    _uvffi_py_work(w->self);
#else
    PyGILState_STATE st = PyGILState_Ensure();
    /* request._run() directly (what _trampoline.on_work does): the worker holds the GIL
     * one Python frame less */
    PyObject *r = PyObject_CallMethodNoArgs((PyObject *)w->self, uvffi__s_run);
    if (r == NULL)
        PyErr_WriteUnraisable(uvffi__on_work);
    Py_XDECREF(r);
    PyGILState_Release(st);
#endif
}

static void uvffi__after_work_cb(uv_work_t *req, int status)
{
    uvffi_work_t *w = (uvffi_work_t *)req;
    uvffi_loop_t *lp = w->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    _uvffi_py_done(w->self, status);
    _uvffi_py_release(w->self);
#else
    {
        PyObject *st = PyLong_FromLong(status), *r = NULL;
        if (st != NULL)  /* request._done(status), as _trampoline.on_done */
            r = PyObject_CallMethodOneArg((PyObject *)w->self, uvffi__s_done, st);
        if (r == NULL)
            uvffi__report(w->self);
        Py_XDECREF(r);
        Py_XDECREF(st);
        Py_DECREF((PyObject *)w->self);
    }
#endif
    free(w);
    if (lp->ticks_pending)
        uvffi__run_ticks(lp);
    GIL_LEAVE(lp)
}

/* Queue a work request; C keeps the Python request alive until done. */
static uvffi_work_t *uvffi__work_queue(uvffi_loop_t *lp, uintptr_t self, int held)
{
    uvffi_work_t *w;
    int *err = &uvffi__last_err;
    if (uvffi__wrong_thread(lp)) {
        *err = UVFFI_EWRONGTHREAD;
        return NULL;
    }
    w = calloc(1, sizeof *w);
    if (w == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    w->lp = lp;
    w->self = self;
#if UVFFI_PYPY
    (void)held;
    _uvffi_py_keep(self);
#else
    if (held) {
        Py_INCREF((PyObject *)self);
    } else {
        GIL_ENSURE()
        Py_INCREF((PyObject *)self);
        GIL_RELEASE()
    }
#endif
    if (held && lp->running) {
        /* Called from a callback of the running loop (the thread was checked above):
         * submit in this iteration's prepare phase, once the GIL is released. */
        w->deferred = 1;
        if (lp->deferred_tail != NULL) {
            lp->deferred_tail->next_deferred = w;
        } else {
            lp->deferred_head = w;
            /* keep uv_run(DEFAULT) going to the next prepare phase, as a queued
             * request would (uvffi__work_flush drops this reference) */
            uv_ref((uv_handle_t *)&lp->reaper);
        }
        lp->deferred_tail = w;
        return w;
    }
    *err = uv_queue_work(lp->loop, &w->req, uvffi__work_cb, uvffi__after_work_cb);
    if (*err) {
#if UVFFI_PYPY
        _uvffi_py_release(self);
#else
        if (held) {
            Py_DECREF((PyObject *)self);
        } else {
            GIL_ENSURE()
            Py_DECREF((PyObject *)self);
            GIL_RELEASE()
        }
#endif
        free(w);
        return NULL;
    }
    return w;
}

/* Give the deferred work requests to libuv's thread pool, in order. */
static void uvffi__work_flush(uvffi_loop_t *lp)
{
    uvffi_work_t *w = lp->deferred_head;
    lp->deferred_head = lp->deferred_tail = NULL;
    uv_unref((uv_handle_t *)&lp->reaper);
    while (w != NULL) {
        uvffi_work_t *next = w->next_deferred;
        w->next_deferred = NULL;
        w->deferred = 0;
        /* uv_queue_work fails only for a NULL work_cb: it cannot fail here */
        (void)uv_queue_work(lp->loop, &w->req, uvffi__work_cb, uvffi__after_work_cb);
        w = next;
    }
}

int uvffi_work_cancel(uvffi_work_t *w)
{
    if (w->deferred)  /* not with libuv yet: submit the batch, then cancel as usual */
        uvffi__work_flush(w->lp);
    return uv_cancel((uv_req_t *)&w->req);
}

/* ------------------------------------------------------------------------ */
/* CPython fast paths                                                        */
/* ------------------------------------------------------------------------ */
/*
 * Every cffi `lib.*` call releases and re-takes the GIL and unpacks its
 * arguments through cffi's converters; for the calls made per timer or per
 * start/stop that is most of their cost. On CPython the hot entry points are
 * also offered as METH_FASTCALL builtins (as a C extension would have them):
 * they run with the GIL held (no PyGILState round trip), take the cffi pointer
 * objects the Python layer already holds, and convert seconds to milliseconds
 * in C. They return None on success, a negative libuv/uvffi error code, or
 * NotImplemented when an argument is not of the plain kind they handle, in
 * which case the Python layer takes its ordinary (careful, cffi) path, which
 * raises the proper exception. Installed by uvffi_fast_install() only after it
 * has checked cffi's pointer-object layout on a known address.
 */
#if !UVFFI_PYPY

/* The head of cffi's CDataObject (_cffi_backend.c), stable since cffi 1.0. */
typedef struct {
    PyObject_HEAD
    void *c_type;
    char *c_data;
} uvffi__cdata_t;

static PyTypeObject *uvffi__cdata_type;  /* type of a cffi pointer object */
static void *uvffi__ct_handle;           /* cffi ctype of "uvffi_handle_t *" */
static void *uvffi__ct_loop;             /* cffi ctype of "uvffi_loop_t *" */
static void *uvffi__ct_work;             /* cffi ctype of "uvffi_work_t *" */

static void *uvffi__cptr(PyObject *o, void *ctype)
{
    if (Py_TYPE(o) != uvffi__cdata_type || ((uvffi__cdata_t *)o)->c_type != ctype)
        return NULL;
    return ((uvffi__cdata_t *)o)->c_data;
}

/* Seconds (exact float or int, finite, >= 0) to libuv milliseconds, as timer.to_ms. */
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
    if (!(sec >= 0.0 && sec < 1e15))  /* also rejects NaN; the slow path judges the rest */
        return -1;
    ms = sec * 1000.0;
    m = (uint64_t)ms;
    if (m == 0 && sec > 0.0)
        m = 1;
    *out = m;
    return 0;
}

static PyObject *uvffi__result(int err)
{
    if (err == 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(err);
}

#define UVFFI_FAST_DECLINE() Py_RETURN_NOTIMPLEMENTED

/* handle_new(lp, kind, self, callback or None) -> a cffi "uvffi_handle_t *" or an error code */
static PyObject *uvffi__fast_handle_new(PyObject *m, PyObject *const *a, Py_ssize_t n)
{
    uvffi_loop_t *lp;
    uvffi_handle_t *h;
    long kind;
    PyObject *r;
    (void)m;
    if (n != 4 || (lp = uvffi__cptr(a[0], uvffi__ct_loop)) == NULL || !PyLong_CheckExact(a[1]))
        UVFFI_FAST_DECLINE();
    kind = PyLong_AsLong(a[1]);
    if (kind < UVFFI_TIMER || kind > UVFFI_SIGNAL) {
        PyErr_Clear();
        UVFFI_FAST_DECLINE();
    }
    h = uvffi__handle_new(lp, (int)kind, (uintptr_t)a[2], a[3] == Py_None ? 0 : (uintptr_t)a[3], 1);
    if (h == NULL)
        return PyLong_FromLong(uvffi__last_err);
    r = _cffi_from_c_pointer((char *)h, uvffi__ct_handle);
    if (r == NULL) {  /* no Python object will own it: close and free it on the loop */
        PyErr_Clear();
        uvffi_handle_abandon(h);
        return PyLong_FromLong(UV_ENOMEM);
    }
    return r;
}

/* work_queue(lp, request) -> a cffi "uvffi_work_t *" or an error code */
static PyObject *uvffi__fast_work_queue(PyObject *m, PyObject *const *a, Py_ssize_t n)
{
    uvffi_loop_t *lp;
    uvffi_work_t *w;
    PyObject *r;
    (void)m;
    if (n != 2 || uvffi__ct_work == NULL || (lp = uvffi__cptr(a[0], uvffi__ct_loop)) == NULL)
        UVFFI_FAST_DECLINE();
    w = uvffi__work_queue(lp, (uintptr_t)a[1], 1);
    if (w == NULL)
        return PyLong_FromLong(uvffi__last_err);
    r = _cffi_from_c_pointer((char *)w, uvffi__ct_work);
    if (r == NULL) {  /* the request is queued and runs; only cancel() is lost */
        PyErr_Clear();
        Py_RETURN_NONE;
    }
    return r;
}

/* timer_start(ptr, callback, timeout, repeat) */
static PyObject *uvffi__fast_timer_start(PyObject *m, PyObject *const *a, Py_ssize_t n)
{
    uvffi_handle_t *h;
    uint64_t t, r;
    (void)m;
    if (n != 4 || (h = uvffi__cptr(a[0], uvffi__ct_handle)) == NULL || h->kind != UVFFI_TIMER ||
        !PyCallable_Check(a[1]) || uvffi__to_ms(a[2], &t) || uvffi__to_ms(a[3], &r))
        UVFFI_FAST_DECLINE();
    return uvffi__result(uvffi__timer_start(h, (uintptr_t)a[1], t, r, 1));
}

/* watcher_start(ptr, callback): Prepare, Check, Idle */
static PyObject *uvffi__fast_watcher_start(PyObject *m, PyObject *const *a, Py_ssize_t n)
{
    uvffi_handle_t *h;
    (void)m;
    if (n != 2 || (h = uvffi__cptr(a[0], uvffi__ct_handle)) == NULL || !PyCallable_Check(a[1]) ||
        (h->kind != UVFFI_PREPARE && h->kind != UVFFI_CHECK && h->kind != UVFFI_IDLE))
        UVFFI_FAST_DECLINE();
    return uvffi__result(uvffi__watcher_start(h, (uintptr_t)a[1], 1));
}

/* handle_stop(ptr), handle_close(ptr): the handle's pointer only */
#define UVFFI_FAST_HANDLE_OP(name, op)                                  \
    static PyObject *name(PyObject *m, PyObject *const *a, Py_ssize_t n) \
    {                                                                   \
        uvffi_handle_t *h;                                              \
        (void)m;                                                        \
        if (n != 1 || (h = uvffi__cptr(a[0], uvffi__ct_handle)) == NULL) \
            UVFFI_FAST_DECLINE();                                       \
        return uvffi__result(op(h, 1));                                 \
    }
UVFFI_FAST_HANDLE_OP(uvffi__fast_handle_stop, uvffi__handle_stop)
UVFFI_FAST_HANDLE_OP(uvffi__fast_handle_close, uvffi__handle_close)

/* base_on_closed(Handle._on_closed): enables uvffi__hobj_closed (see uvffi__close_cb) */
static PyObject *uvffi__fast_base_on_closed(PyObject *m, PyObject *fn)
{
    (void)m;
    Py_INCREF(fn);
    Py_XSETREF(uvffi__base_on_closed, fn);
    Py_RETURN_NONE;
}

/* run(lp, mode) -> uv_run's result; the caller validated mode */
static PyObject *uvffi__fast_run(PyObject *m, PyObject *const *a, Py_ssize_t n)
{
    uvffi_loop_t *lp;
    long mode;
    (void)m;
    if (n != 2 || (lp = uvffi__cptr(a[0], uvffi__ct_loop)) == NULL || !PyLong_CheckExact(a[1]))
        UVFFI_FAST_DECLINE();
    mode = PyLong_AsLong(a[1]);
    if (mode != UV_RUN_DEFAULT && mode != UV_RUN_ONCE && mode != UV_RUN_NOWAIT) {
        PyErr_Clear();
        UVFFI_FAST_DECLINE();
    }
    return PyLong_FromLong(uvffi__run_held(lp, (int)mode));
}

#include "_bases.c"
#include "_threadsafe.c"

static PyMethodDef uvffi__fast_methods[] = {
    {"handle_new", (PyCFunction)(void (*)(void))uvffi__fast_handle_new, METH_FASTCALL, NULL},
    {"work_queue", (PyCFunction)(void (*)(void))uvffi__fast_work_queue, METH_FASTCALL, NULL},
    {"timer_start", (PyCFunction)(void (*)(void))uvffi__fast_timer_start, METH_FASTCALL, NULL},
    {"watcher_start", (PyCFunction)(void (*)(void))uvffi__fast_watcher_start, METH_FASTCALL, NULL},
    {"handle_stop", (PyCFunction)(void (*)(void))uvffi__fast_handle_stop, METH_FASTCALL, NULL},
    {"handle_close", (PyCFunction)(void (*)(void))uvffi__fast_handle_close, METH_FASTCALL, NULL},
    {"run", (PyCFunction)(void (*)(void))uvffi__fast_run, METH_FASTCALL, NULL},
    {"base_on_closed", uvffi__fast_base_on_closed, METH_O, NULL},
    {"tsafe_setup", (PyCFunction)(void (*)(void))uvffi__fast_tsafe_setup, METH_FASTCALL, NULL},
    {NULL, NULL, 0, NULL}
};


#endif /* !UVFFI_PYPY */

/* Put the fast paths into the dict `dict` (CPython). hsample and lsample are
 * cffi pointers cast from `expect`; returns 1 if installed, 0 if not. */
int uvffi_fast_install(uintptr_t dict, uintptr_t hsample, uintptr_t lsample, uintptr_t wsample,
                       uintptr_t expect, unsigned long main_ident)
{
#if UVFFI_PYPY
    (void)dict; (void)hsample; (void)lsample; (void)wsample; (void)expect; (void)main_ident;
    return 0;
#else
    PyMethodDef *def;
    int ok = 1;
    uvffi__cdata_t *hs = (uvffi__cdata_t *)hsample, *ls = (uvffi__cdata_t *)lsample;
    uvffi__cdata_t *ws = (uvffi__cdata_t *)wsample;
    GIL_ENSURE()
    if (Py_TYPE(hs) != Py_TYPE(ls) || Py_TYPE(ws) != Py_TYPE(ls) || hs->c_data != (char *)expect ||
        ls->c_data != (char *)expect || ws->c_data != (char *)expect || hs->c_type == ls->c_type ||
        ws->c_type == ls->c_type || ws->c_type == hs->c_type) {
        ok = 0;
    } else {
        uvffi__cdata_type = Py_TYPE(hs);
        uvffi__ct_handle = hs->c_type;
        uvffi__ct_loop = ls->c_type;
        uvffi__ct_work = ws->c_type;
        for (def = uvffi__fast_methods; def->ml_name != NULL && ok; def++) {
            PyObject *f = PyCFunction_New(def, NULL);
            if (f == NULL || PyDict_SetItemString((PyObject *)dict, def->ml_name, f) < 0)
                ok = 0;
            Py_XDECREF(f);
        }
        if (ok && (uvffi__bases_install((PyObject *)dict, main_ident) < 0 || uvffi__tsq_install((PyObject *)dict) < 0))
            ok = 0;
        if (!ok)
            PyErr_Clear();
    }
    GIL_RELEASE()
    return ok;
#endif
}

/* ------------------------------------------------------------------------ */
/* Serialised entry points                                                   */
/* ------------------------------------------------------------------------ */

/* cffi releases the GIL around every lib.* call, so two Python threads could
 * call into libuv on the same loop at once while no thread runs it (the loop
 * thread check only refuses calls while it runs): concurrent uv_timer_start /
 * uv_timer_stop corrupted the timer heap (a segfault, tests/test_reliability.py).
 * Each non-thread-safe entry point holds the GIL for its whole duration, which
 * serialises them with each other and with uvffi_run (which takes the GIL before
 * marking the loop running). Most of them took the GIL anyway to adjust the
 * keep-alive reference; the nested PyGILState_Ensure inside is then a counter. */
#if UVFFI_PYPY
/* PyPy has no GIL to hold from C: a recursive process-wide mutex serialises the
 * same entry points (recursive: a keep-alive hook may run Python code that calls
 * back in). cffi releases PyPy's GIL around the call, so no deadlock with it. */
static pthread_mutex_t uvffi__serial_mutex;
static pthread_once_t uvffi__serial_once = PTHREAD_ONCE_INIT;
static void uvffi__serial_init(void)
{
    pthread_mutexattr_t attr;
    pthread_mutexattr_init(&attr);
    pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&uvffi__serial_mutex, &attr);
    pthread_mutexattr_destroy(&attr);
}
#define SERIAL_ENTER()                                                  \
    pthread_once(&uvffi__serial_once, uvffi__serial_init);              \
    pthread_mutex_lock(&uvffi__serial_mutex);
#define SERIAL_LEAVE() pthread_mutex_unlock(&uvffi__serial_mutex);
#else
#define SERIAL_ENTER() GIL_ENSURE()
#define SERIAL_LEAVE() GIL_RELEASE()
#endif

/* `ret name(params)`: the locked body `call`, run holding SERIAL_ENTER. */
#define UVFFI_SERIALISED(ret, name, params, call)                       \
    ret name params                                                     \
    {                                                                   \
        ret r;                                                          \
        SERIAL_ENTER()                                                  \
        r = call;                                                       \
        SERIAL_LEAVE()                                                  \
        return r;                                                       \
    }

UVFFI_SERIALISED(int, uvffi_timer_start, (uvffi_handle_t *h, uintptr_t callback, uint64_t timeout, uint64_t repeat), uvffi__timer_start(h, callback, timeout, repeat, 1))

UVFFI_SERIALISED(int, uvffi_timer_again, (uvffi_handle_t *h), uvffi__locked_timer_again(h))

UVFFI_SERIALISED(int, uvffi_watcher_start, (uvffi_handle_t *h, uintptr_t callback), uvffi__watcher_start(h, callback, 1))

UVFFI_SERIALISED(int, uvffi_signal_start, (uvffi_handle_t *h, uintptr_t callback, int signum), uvffi__locked_signal_start(h, callback, signum))

UVFFI_SERIALISED(int, uvffi_handle_stop, (uvffi_handle_t *h), uvffi__handle_stop(h, 1))

UVFFI_SERIALISED(int, uvffi_handle_close, (uvffi_handle_t *h), uvffi__handle_close(h, 1))

UVFFI_SERIALISED(int, uvffi_handle_set_ref, (uvffi_handle_t *h, int ref), uvffi__locked_handle_set_ref(h, ref))

UVFFI_SERIALISED(int, uvffi_timer_set_repeat, (uvffi_handle_t *h, uint64_t repeat), uvffi__locked_timer_set_repeat(h, repeat))

UVFFI_SERIALISED(uvffi_handle_t *, uvffi_handle_new, (uvffi_loop_t *lp, int kind, uintptr_t self, uintptr_t callback), uvffi__handle_new(lp, kind, self, callback, 1))

UVFFI_SERIALISED(uvffi_work_t *, uvffi_work_queue, (uvffi_loop_t *lp, uintptr_t self), uvffi__work_queue(lp, self, 1))

UVFFI_SERIALISED(int, uvffi_loop_stop, (uvffi_loop_t *lp), uvffi__locked_loop_stop(lp))

UVFFI_SERIALISED(int, uvffi_loop_update_time, (uvffi_loop_t *lp), uvffi__locked_loop_update_time(lp))

/* ------------------------------------------------------------------------ */
/* Module set-up                                                             */
/* ------------------------------------------------------------------------ */

/* uvffi.scheduler / call_soon_threadsafe: the tick flag and the threadsafe wakeup. */
void uvffi_loop_set_ticks(uvffi_loop_t *lp, int pending) { lp->ticks_pending = pending; }
int uvffi_loop_tsafe_send(uvffi_loop_t *lp) { return uv_async_send(&lp->tsafe); }

/* CPython: register the Python functions behind next_tick and call_soon_threadsafe. */
void uvffi_set_loop_hooks(uintptr_t on_ticks, uintptr_t on_tsafe)
{
#if !UVFFI_PYPY
    GIL_ENSURE()
    Py_XINCREF((PyObject *)on_ticks);
    Py_XINCREF((PyObject *)on_tsafe);
    uvffi__on_ticks = (PyObject *)on_ticks;
    uvffi__on_tsafe = (PyObject *)on_tsafe;
    GIL_RELEASE()
#else
    (void)on_ticks;
    (void)on_tsafe;
#endif
}

int uvffi_is_pypy(void) { return UVFFI_PYPY; }

/* CPython: register the Python functions the trampolines call. */
void uvffi_set_hooks(uintptr_t on_error, uintptr_t on_closed, uintptr_t on_work, uintptr_t on_done)
{
#if !UVFFI_PYPY
    GIL_ENSURE()
    Py_XINCREF((PyObject *)on_error);
    Py_XINCREF((PyObject *)on_closed);
    Py_XINCREF((PyObject *)on_work);
    Py_XINCREF((PyObject *)on_done);
    uvffi__on_error = (PyObject *)on_error;
    uvffi__on_closed = (PyObject *)on_closed;
    uvffi__on_work = (PyObject *)on_work;
    uvffi__on_done = (PyObject *)on_done;
    if (uvffi__s_on_closed == NULL) {
        uvffi__s_on_closed = PyUnicode_InternFromString("_on_closed");
        uvffi__s_run = PyUnicode_InternFromString("_run");
        uvffi__s_done = PyUnicode_InternFromString("_done");
    }
    GIL_RELEASE()
#else
    (void)on_error;
    (void)on_closed;
    (void)on_work;
    (void)on_done;
#endif
}

#define UVFFI_ERRNO_XX(code, _) UV_##code,
static const int uvffi__errno_codes[] = { UV_ERRNO_MAP(UVFFI_ERRNO_XX) };
#undef UVFFI_ERRNO_XX
#define UVFFI_ERRNO_XX(code, _) "UV_" #code,
static const char *uvffi__errno_names[] = { UV_ERRNO_MAP(UVFFI_ERRNO_XX) };
#undef UVFFI_ERRNO_XX

int uvffi_errno_count(void) { return (int)(sizeof uvffi__errno_codes / sizeof uvffi__errno_codes[0]); }
int uvffi_errno_code(int i) { return uvffi__errno_codes[i]; }
const char *uvffi_errno_name(int i) { return uvffi__errno_names[i]; }
