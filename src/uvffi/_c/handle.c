/*
 * What every handle kind shares: creation from the kind table, the keep-alive,
 * stop, close, the close callback, ref/unref, and the graveyard that closes a
 * handle whose Python object died (abandon). A kind's own file adds only its
 * init, start and callbacks.
 */

/*@cdef
uvffi_handle_t *uvffi_handle_new(uvffi_loop_t *lp, int kind, uintptr_t self, long arg);
int uvffi_handle_stop(uvffi_handle_t *h);
int uvffi_handle_close(uvffi_handle_t *h);
void uvffi_handle_abandon(uvffi_handle_t *h);
int uvffi_handle_bound(uvffi_handle_t *h);
void *uvffi_handle_owner(uvffi_handle_t *h);
void uvffi_owner_drop(void *owner);
void uvffi_handle_disown(uvffi_handle_t *h);
int uvffi_handle_set_ref(uvffi_handle_t *h, int ref);
int uvffi_handle_active(uvffi_handle_t *h);
int uvffi_handle_has_ref(uvffi_handle_t *h);
int uvffi_handle_kept(uvffi_handle_t *h);
int uvffi_handle_fileno(uvffi_handle_t *h);
uv_handle_t *uvffi_handle_raw(uvffi_handle_t *h);
*/

#if !UVFFI_PYPY
/* bases.c: the C storage of Handle (CPython). */
static PyTypeObject uvffi__HandleStorage;
static void uvffi__hobj_bind(uvffi_handle_t *h);
static void uvffi__hobj_unbind(uvffi_handle_t *h);
static PyObject *uvffi__hobj_closed(PyObject *self);
#else
#define uvffi__hobj_bind(h) ((void)(h))
#define uvffi__hobj_unbind(h) ((void)(h))
#endif

/* signal.c: give back the signals libuv reset to SIG_DFL to their earlier action. */
static void uvffi__signals_restore(void);

/* module.c: the kind table. */
static const uvffi_kind_t *uvffi__kind_at(int index);

#if UVFFI_PYPY
/* PyPy: a handle's Python object holds its owner through ffi.gc, whose finaliser
 * (uvffi_owner_drop) is C and runs no bytecode: no signal handler can split it, as
 * one could split a __del__. C clears `h` when libuv has closed the handle; the
 * finaliser abandons the handle only if it is still open. */
struct uvffi_owner_s {
    uvffi_handle_t *h;
};
static uv_once_t uvffi__owner_once = UV_ONCE_INIT;
static uv_mutex_t uvffi__owner_mutex; /* owner->h and h->owner: the GC's thread meets the loop's */

static void uvffi__owner_init(void)
{
    if (uv_mutex_init(&uvffi__owner_mutex))
        abort();
}

/* The close callback: the owner outlives the handle and must not reach its memory. */
static void uvffi__owner_clear(uvffi_handle_t *h)
{
    uv_mutex_lock(&uvffi__owner_mutex);
    if (h->owner != NULL)
        h->owner->h = NULL;
    h->owner = NULL;
    uv_mutex_unlock(&uvffi__owner_mutex);
}
/* Until the object is bound, C keeps it: the keep hook could not yet tell it is h's. */
#define UVFFI_BOUND(h) ((h)->bound)
#else
#define uvffi__owner_clear(h) ((void)(h))
#define UVFFI_BOUND(h) 1
#define uvffi__batch_drop(h) ((void)(h))
#endif

/* Allocate and initialise a handle of kind `index`; self is the Python object. */
static uvffi_handle_t *uvffi__handle_new(uvffi_loop_t *lp, int index, uintptr_t self, long arg, int held)
{
    const uvffi_kind_t *kind = uvffi__kind_at(index);
    uvffi_handle_t *h;
    int *err = &uvffi__last_err;
    if (kind == NULL) {
        *err = UV_EINVAL;
        return NULL;
    }
    if (uvffi__wrong_thread(lp)) {
        *err = UVFFI_EWRONGTHREAD;
        return NULL;
    }
    if (lp->closing) {  /* close() would have to chase handles its own callbacks make */
        *err = UVFFI_ECLOSING;
        return NULL;
    }
    h = calloc(1, offsetof(uvffi_handle_t, uv) + uvffi__align8(uv_handle_size(kind->type)) +
                  (kind->extra != NULL ? kind->extra(arg) : 0));
    if (h == NULL) {
        *err = UV_ENOMEM;
        return NULL;
    }
    h->lp = lp;
    h->kind = kind;
#if UVFFI_PYPY
    uv_once(&uvffi__owner_once, uvffi__owner_init);
    h->owner = malloc(sizeof *h->owner);
    if (h->owner == NULL) {
        free(h);
        *err = UV_ENOMEM;
        return NULL;
    }
    h->owner->h = h;
#endif
    *err = kind->init(lp, h, arg);
    if (*err) {
#if UVFFI_PYPY
        free(h->owner);
        h->owner = NULL;
#endif
        /* A kind whose init leaves an initialised handle behind (a failed
         * uv_spawn) closed it: its close callback frees the memory. */
        if (!uv_is_closing(&h->uv.handle))
            free(h);
        return NULL;
    }
    h->uv.handle.data = h;
    h->self = self;
    uvffi__hobj_bind(h);
    /* PyPy: the Python object stores the pointer and registers only after this
     * returns, and a signal handler can raise in between: Python holds it in its
     * loop's _kept from before this call until uvffi_handle_bound has answered
     * (handles/base.py), so the object outlives the handle without a keep/release
     * pair of hooks here: no stale cffi handle in self. */
    if (kind->born_active)
        WITH_GIL(held, uvffi__keep_new(h));
    return h;
}

/* Bring the keep-alive in line with libuv's idea of activity. */
static void uvffi__sync_keep(uvffi_handle_t *h, int held)
{
    int active = uv_is_active(&h->uv.handle);
    if (active && !h->kept)
        WITH_GIL(held, uvffi__keep(h));
    else if (!active && h->kept && !uv_is_closing(&h->uv.handle) && UVFFI_BOUND(h))
        WITH_GIL(held, uvffi__release(h));
}

/* A start called from Python: on PyPy the caller put the object in its loop's
 * _kept first (_core.pypy.hold: Timer.start, the loop watchers' start), so C
 * keeps it without the keep hook; `held`: the GIL (CPython). */
#if UVFFI_PYPY
static void uvffi__sync_keep_started(uvffi_handle_t *h, int held)
{
    if (uv_is_active(&h->uv.handle) && !h->kept && h->self != 0)
        uvffi__kept_link(h);
    else
        uvffi__sync_keep(h, held);
}
#else
#define uvffi__sync_keep_started uvffi__sync_keep
#endif

/* PyPy: the Python object holds its pointer, its owner and its registration
 * now (uvffi._core.pypy.bind_handle): keep it alive only while active. Returns
 * whether C keeps it (1), or a negative error: on 0 Python ends its own hold. */
static int uvffi__handle_bound(uvffi_handle_t *h)
{
    UVFFI_GUARD(h, NULL)
#if UVFFI_PYPY
    h->bound = 1;
#endif
    uvffi__sync_keep(h, 1);
    return h->kept;
}

/* The close callback: the bookkeeping C must do (C storage, CPython) or
 * Python's (on_closed), then drop the keep-alive and free the memory. */
static void uvffi__close_cb(uv_handle_t *handle)
{
    uvffi_handle_t *h = UVFFI_OF(handle);
    uvffi_loop_t *lp = h->lp;
    uintptr_t self = h->self;
    uvffi__owner_clear(h);
    if (self == 0) {  /* abandoned: the Python object is gone */
        free(h);
        return;
    }
    {
        GIL_ENTER(lp)
        uvffi__hobj_unbind(h);
        h->self = 0;
#if UVFFI_PYPY
        {
            /* until the bookkeeping is done: UVFFI_PY_ATTEMPTS (trampoline.c); the
             * same hook ends C's keep-alive (one hop where there were two) */
            int i, kept = h->kept;
            for (i = 0; i < UVFFI_PY_ATTEMPTS && !_uvffi_py_closed(lp->pyloop, self, kept); i++)
                ;
            if (kept)
                uvffi__kept_unlink(h);
        }
#else
        {
            PyObject *r;
            if (h->cstorage)
                r = uvffi__hobj_closed((PyObject *)self);
            else
                r = uvffi__on_closed == NULL ? (Py_INCREF(Py_None), Py_None)
                    : PyObject_CallOneArg(uvffi__on_closed, (PyObject *)self);
            if (r == NULL)
                uvffi__report(self);
            else
                Py_DECREF(r);
        }
        if (h->kept) {
            uvffi__kept_unlink(h);
            uvffi__obj_release(lp, self);
        }
#endif
        free(h);
        UVFFI_AFTER_CALLBACK(lp);
        GIL_LEAVE(lp)
    }
}

static int uvffi__handle_stop(uvffi_handle_t *h, const uvffi_kind_t *kind, int held)
{
    int err;
    UVFFI_GUARD(h, kind)
    if (h->kind->stop == NULL)
        return UVFFI_EKIND;
    err = h->kind->stop(&h->uv.handle);
    if (!uv_is_active(&h->uv.handle))
        uvffi__batch_drop(h);
    uvffi__sync_keep(h, held);
    uvffi__signals_restore();
    return err;
}

/* Close from Python: keep self alive until the close callback has run. */
static int uvffi__handle_close(uvffi_handle_t *h, int held)
{
    UVFFI_GUARD(h, NULL)
    if (!h->kept)
        WITH_GIL(held, uvffi__keep(h));
    uvffi__batch_drop(h);
    uv_close(&h->uv.handle, uvffi__close_cb);
    uvffi__signals_restore();
    return 0;
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
    uvffi__signals_restore();
}

/* The Python object died while the handle was inactive and open: close it on
 * the loop's thread (from any thread), freeing only the raw memory. */
void uvffi_handle_abandon(uvffi_handle_t *h)
{
    uvffi_loop_t *lp = h->lp;
    int wake;
    uvffi__hobj_unbind(h);
    h->self = 0;
    uv_mutex_lock(&lp->mutex);
    h->next_dead = lp->graveyard;
    lp->graveyard = h;
    uv_mutex_unlock(&lp->mutex);
    /* after the graveyard: a run starting now sets running before it takes the graveyard */
    uv_mutex_lock(&lp->shared->mutex);
    wake = lp->shared->running;
    uv_mutex_unlock(&lp->shared->mutex);
    if (wake)
        uv_async_send(&lp->reaper);
}

static int uvffi__locked_handle_set_ref(uvffi_handle_t *h, int ref)
{
    UVFFI_GUARD(h, NULL)
    if (ref)
        uv_ref(&h->uv.handle);
    else
        uv_unref(&h->uv.handle);
    return 0;
}

UVFFI_SERIALISED(uvffi_handle_t *, uvffi_handle_new, (uvffi_loop_t *lp, int kind, uintptr_t self, long arg),
                 uvffi__handle_new(lp, kind, self, arg, 1))
UVFFI_SERIALISED(int, uvffi_handle_stop, (uvffi_handle_t *h), uvffi__handle_stop(h, NULL, 1))
UVFFI_SERIALISED(int, uvffi_handle_bound, (uvffi_handle_t *h), uvffi__handle_bound(h))

void *uvffi_handle_owner(uvffi_handle_t *h)
{
#if UVFFI_PYPY
    return h->owner;
#else
    (void)h;
    return NULL;
#endif
}

/* PyPy: the Python object is gone (its ffi.gc finaliser, from any thread). */
void uvffi_owner_drop(void *owner)
{
#if UVFFI_PYPY
    struct uvffi_owner_s *o = owner;
    uvffi_handle_t *h;
    uv_mutex_lock(&uvffi__owner_mutex);
    h = o->h;
    if (h != NULL) {
        h->owner = NULL;
        uvffi_handle_abandon(h);
    }
    uv_mutex_unlock(&uvffi__owner_mutex);
    free(o);
#else
    (void)owner;
#endif
}
/* PyPy, from the keep hook (GIL held, inside a C call): self no longer names
 * h's object (trampoline.c's uvffi__keep). Not serialised: its caller is. */
void uvffi_handle_disown(uvffi_handle_t *h)
{
    h->self = 0;
    uvffi__owner_clear(h);
}

UVFFI_SERIALISED(int, uvffi_handle_close, (uvffi_handle_t *h), uvffi__handle_close(h, 1))
UVFFI_SERIALISED(int, uvffi_handle_set_ref, (uvffi_handle_t *h, int ref), uvffi__locked_handle_set_ref(h, ref))

int uvffi_handle_active(uvffi_handle_t *h) { return uv_is_active(&h->uv.handle); }
int uvffi_handle_has_ref(uvffi_handle_t *h) { return uv_has_ref(&h->uv.handle); }
int uvffi_handle_kept(uvffi_handle_t *h) { return h->kept; }
int uvffi_handle_fileno(uvffi_handle_t *h)
{
    uv_os_fd_t fd;
    int err = uv_fileno(&h->uv.handle, &fd);
    return err ? err : (int)fd;
}
uv_handle_t *uvffi_handle_raw(uvffi_handle_t *h) { return &h->uv.handle; }
