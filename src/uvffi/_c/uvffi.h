/*
 * uvffi's C core: the structures every C file shares, and the macros that take
 * the GIL, check the calling thread and keep Python objects alive.
 *
 * The C files are #included, in order, by module.c, which build_libuv.py puts
 * into the preamble of the cffi module: one translation unit with cffi's
 * generated wrappers, so PyPy's `extern "Python"` hooks are callable from here.
 *
 * References to Python objects cross into C as uintptr_t:
 *   - CPython: the object's address (`id(obj)`), used through the C API;
 *   - PyPy:    a cffi handle (`ffi.new_handle(obj)`), resolved in Python.
 *
 * The lifetime rules (stated for handle authors in handles/base.py):
 *   - A handle's libuv memory is uvffi_handle_t's header followed by
 *     uv_handle_size(type) bytes; it is freed only in the close callback.
 *   - h->self is borrowed while the handle is inactive; while it is active or
 *     closing C holds one strong reference (h->kept), so a started handle lives
 *     though Python drops it. On PyPy the reference lives in the loop's dict.
 *   - A handle's callback is owned by its Python object (the _callback slot,
 *     set before the C call that starts the handle); C reads it from there at
 *     each call, so no pointer to it can dangle.
 *   - A request (uvffi_req_t) holds its Python object from submission until its
 *     done callback has run; then C frees it.
 */
#ifndef UVFFI_H
#define UVFFI_H

/*@cdef
typedef struct uv_loop_s uv_loop_t;
typedef struct uv_handle_s uv_handle_t;
typedef struct uv_req_s uv_req_t;
typedef struct uvffi_loop_s uvffi_loop_t;
typedef struct uvffi_handle_s uvffi_handle_t;
typedef struct uvffi_req_s uvffi_req_t;
#define UVFFI_EWRONGTHREAD ...
#define UVFFI_ECLOSED ...
#define UVFFI_EKIND ...
#define UVFFI_ERUNNING ...
#define UVFFI_ECLOSING ...
#define UVFFI_EWRAPPED ...
#define UV_RUN_DEFAULT ...
#define UV_RUN_ONCE ...
#define UV_RUN_NOWAIT ...
#define UV_VERSION_HEX ...
unsigned int uv_version(void);
const char *uv_version_string(void);
const char *uv_strerror(int err);
const char *uv_err_name(int err);
uv_loop_t *uv_default_loop(void);
uint64_t uv_now(const uv_loop_t *);
void uv_update_time(uv_loop_t *);
int uv_loop_alive(const uv_loop_t *loop);
int uv_backend_fd(const uv_loop_t *);
int uv_backend_timeout(const uv_loop_t *);
void uv_stop(uv_loop_t *);
int uv_loop_fork(uv_loop_t *loop);
uint64_t uv_hrtime(void);
*/

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <pthread.h>

#ifdef PYPY_VERSION
#define UVFFI_PYPY 1
#else
#define UVFFI_PYPY 0
#endif

/* uvffi's own error codes, beside libuv's (negative, far from them). */
#define UVFFI_EWRONGTHREAD (-100001) /* the loop runs in another thread */
#define UVFFI_ECLOSED (-100002)      /* the handle is closing or closed */
#define UVFFI_EKIND (-100003)        /* the handle is not of the kind the call needs */
#define UVFFI_ERUNNING (-100004)     /* the uv_loop_t is already running (this or another wrapper) */
#define UVFFI_ECLOSING (-100005)     /* the loop is closing: no new handles */
#define UVFFI_EWRAPPED (-100006)     /* from_pointer() wrappers of this loop are still open */

typedef struct uvffi_loop_s uvffi_loop_t;
typedef struct uvffi_handle_s uvffi_handle_t;
typedef struct uvffi_kind_s uvffi_kind_t;
typedef struct uvffi_req_s uvffi_req_t;
typedef struct uvffi_rkind_s uvffi_rkind_t;

/* A handle kind describes itself once, in its own C file (timer.c, poll.c, ...),
 * and is listed once in module.c's kind table. */
struct uvffi_kind_s {
    const char *name;       /* "timer": what handles/<name>.py asks for */
    uv_handle_type type;    /* sizes the allocation: uv_handle_size(type) */
    /* initialise h's libuv handle on lp->loop; `arg` is the kind's one constructor
     * argument (Poll: the fd), 0 for the others */
    int (*init)(uvffi_loop_t *lp, uvffi_handle_t *h, long arg);
    int (*stop)(uv_handle_t *handle); /* NULL: the kind cannot be stopped */
    int born_active;        /* active from init until closed (Async) */
    int needs_arg;          /* the constructor takes an argument (Poll's fd): no C plain path */
    void *ops;              /* CPython: the PyTypeObject of its C methods (TimerOps, ...), put
                             * before its Python class in the MRO; NULL: HandleOps only */
    size_t (*extra)(long arg); /* bytes of the kind's own state after libuv's handle, freed with it
                                 * (UVFFI_EXTRA: a stream's read size, UDP's receive buffer); NULL: none */
};

/* A kind's C methods type, or NULL where there are none (PyPy). */
#if UVFFI_PYPY
#define UVFFI_OPS(type) NULL
#else
#define UVFFI_OPS(type) ((void *)&(type))
#endif

/* The header of every handle uvffi makes; libuv's handle follows it. */
struct uvffi_handle_s {
    uvffi_loop_t *lp;
    const uvffi_kind_t *kind;
    uintptr_t self;           /* the Python handle object (see the rules above) */
    int kept;                 /* C holds a strong reference to self */
    int cstorage;             /* CPython: self is a HandleStorage (its slots are read directly) */
    uvffi_handle_t *next_dead;
    uvffi_handle_t *kept_prev, *kept_next; /* the loop's list of kept handles (GIL held) */
#if UVFFI_PYPY
    struct uvffi_owner_s *owner; /* what the Python object's finaliser hands back (handle.c) */
    int bound;                /* the Python object is registered: the keep-alive may end */
    int due;                  /* 1 + its place in lp->batch while its callback waits there */
#endif
    union {                   /* the first bytes of uv_handle_size(kind->type) */
        uv_handle_t handle;
        max_align_t align_;
    } uv;
};

#if !UVFFI_PYPY
/* CPython: the C storage of a Python handle (bases.c's HandleStorage). */
typedef struct {
    PyObject_HEAD
    PyObject *ptr;      /* _ptr's cache: the cffi "uvffi_handle_t *" (NULL or None: not made) */
    PyObject *loop;     /* _loop */
    PyObject *callback; /* _callback: the handle owns its callback; C reads it at each call */
    PyObject *close_cb; /* _close_cb */
    PyObject *closed;   /* _closed: True or False */
    uvffi_handle_t *raw; /* the open libuv handle that borrows this object, or NULL:
                          * what the finaliser abandons, whatever Python did to _ptr */
} uvffi__hobj_t;
#endif

/* libuv's handle of kind T inside h, and h back from libuv's handle. */
#define UVFFI_UV(h, T) ((T *)&(h)->uv.handle)
#define UVFFI_OF(handle) ((uvffi_handle_t *)((uv_handle_t *)(handle))->data)
/* The kind's own state (kind->extra bytes, zeroed) after libuv's handle. */
#define UVFFI_EXTRA(h, T) \
    ((T *)((char *)(h) + offsetof(uvffi_handle_t, uv) + uvffi__align8(uv_handle_size((h)->kind->type))))
static inline size_t uvffi__align8(size_t n) { return (n + 7) & ~(size_t)7; }
/* Is `handle` one of ours? Ours point `data` at their own header, which sits
 * right before them; the test reads no memory but the handle's own. */
#define UVFFI_IS_OURS(handle) \
    ((handle)->data == (void *)((char *)(handle) - offsetof(uvffi_handle_t, uv)))

/* A request kind: the libuv request type and what to release after the done
 * callback (uv_fs_req_cleanup, uv_freeaddrinfo, ...). */
struct uvffi_rkind_s {
    const char *name;
    uv_req_type type;
    void (*cleanup)(uv_req_t *req);
};

/* The header of every request uvffi makes; libuv's request follows it. */
struct uvffi_req_s {
    uvffi_loop_t *lp;
    const uvffi_rkind_t *kind;
    uintptr_t self;           /* the Python request, strong from submission to done */
    uvffi_req_t *next_deferred; /* work: see work.c */
    int deferred;
    int flags;                /* work.c: UVFFI_REQ_* */
    uvffi_req_t *fl_prev, *fl_next; /* work.c: the loop's list of work handed to the pool */
    union {
        uv_req_t req;
        max_align_t align_;
    } uv;
};
#define UVFFI_REQ_OF(r) ((uvffi_req_t *)((char *)(r) - offsetof(uvffi_req_t, uv)))

/* What every uvffi wrapper of one uv_loop_t shares (the owner and its
 * from_pointer() wrappers): whether it runs, and on which thread. Found in a
 * process-wide list under uvffi__shared_mutex (loop.c). */
typedef struct uvffi_shared_s {
    uv_loop_t *loop;
    uv_mutex_t mutex;         /* guards running and thread */
    int users;                /* uvffi loops wrapping it (the registry's mutex) */
    int running;              /* inside uvffi_run of any of them */
    uv_thread_t thread;       /* the running thread, valid while running */
    struct uvffi_shared_s *next;
} uvffi_shared_t;

struct uvffi_loop_s {
    uv_loop_t *loop;          /* the libuv loop */
    uvffi_shared_t *shared;   /* running state shared with the other wrappers */
    int closing;              /* close() began: no new handles */
    uvffi_handle_t *kept_head; /* handles C keeps alive (their Python objects), GIL held */
    uvffi_req_t *inflight;    /* work handed to the pool, not done yet (work.c) */
    uvffi_req_t *forked;      /* work dropped by uv_loop_fork, to complete as cancelled */
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
    int ticks_pending;        /* next-tick callbacks queued: drain after each callback */
    uv_async_t tsafe;         /* call_soon_threadsafe's wakeup: internal, unref'd */
    uvffi_req_t *deferred_head, *deferred_tail; /* work queued from callbacks (work.c) */
    char *rbuf;               /* streams' read buffer, shared by the loop's streams (stream.c) */
    size_t rbuf_size;
#if UVFFI_PYPY
    /* PyPy: the loop watchers' callbacks due in the current phase, run by one hook
     * (trampoline.c's uvffi__batch_flush) */
    uintptr_t *batch;         /* their objects' cffi handles; 0: stopped or run since */
    uvffi_handle_t **batch_h; /* the handles, to clear their `due` */
    int batch_n, batch_cap, batch_busy;
    const uvffi_kind_t *batch_kind; /* the kind (so the phase) of the waiting callbacks */
    uv_check_t batch_check;   /* started first, so the check phase's last: runs its batch */
#endif
};

/* The error of the last constructor that returned NULL on this thread. */
static __thread int uvffi__last_err;

/* ---- the GIL ---------------------------------------------------------- */
#if UVFFI_PYPY
#define GIL_ENTER(lp)
#define GIL_LEAVE(lp)
#define GIL_ENSURE()
#define GIL_RELEASE()
#else
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
#endif

/* Run `stmt` holding the GIL: `held` says the caller already holds it. */
#define WITH_GIL(held, stmt)                                            \
    do {                                                                \
        if (held) {                                                     \
            stmt;                                                       \
        } else {                                                        \
            GIL_ENSURE()                                                \
            stmt;                                                       \
            GIL_RELEASE()                                               \
        }                                                               \
    } while (0)

/* ---- serialised entry points ------------------------------------------- */
/* cffi releases the GIL around every lib.* call, so two Python threads could
 * call into libuv on one loop at once while no thread runs it: each
 * non-thread-safe entry point holds the GIL (CPython) or a recursive
 * process-wide mutex (PyPy, which has no GIL to hold from C) for its whole
 * duration, serialising them with each other and with uvffi_run. */
#if UVFFI_PYPY
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

/* `ret name(params)`: the exported entry point, `call` run serialised. */
#define UVFFI_SERIALISED(ret, name, params, call)                       \
    ret name params                                                     \
    {                                                                   \
        ret serial__r;                                                  \
        SERIAL_ENTER()                                                  \
        serial__r = call;                                               \
        SERIAL_LEAVE()                                                  \
        return serial__r;                                               \
    }

/* ---- checks every entry point makes ------------------------------------ */
static int uvffi__wrong_thread(uvffi_loop_t *lp)
{
    uv_thread_t me = uv_thread_self();
    uvffi_shared_t *sh = lp->shared;
    return sh->running && !uv_thread_equal(&me, &sh->thread);
}

/* An open handle of kind k, called from the loop's thread. */
#define UVFFI_GUARD(h, k)                                               \
    if ((k) != NULL && (h)->kind != (k))                                \
        return UVFFI_EKIND;                                             \
    if ((h)->self == 0 || uv_is_closing(&(h)->uv.handle))               \
        return UVFFI_ECLOSED;                                           \
    if (uvffi__wrong_thread((h)->lp))                                   \
        return UVFFI_EWRONGTHREAD;

#endif /* UVFFI_H */
