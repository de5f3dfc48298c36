/* Polling a path's stat: uv_fs_poll_t. handles/fs_poll.py is the Python side.
 *
 * libuv owns the two stat buffers it passes to the callback; the callback hands
 * Python the address of a uvffi_fs_poll_event_t on the C stack (on CPython as the
 * one extra argument of the handle's internal dispatcher, on PyPy as `a`), which
 * Python copies into two StatResult tuples during the call. Nothing outlives it. */

/*@cdef
typedef struct { int status; const uv_stat_t *prev; const uv_stat_t *curr; } uvffi_fs_poll_event_t;
int uvffi_fs_poll_start(uvffi_handle_t *h, const char *path, unsigned int interval_ms);
int uvffi_fs_poll_getpath(uvffi_handle_t *h, char *buffer, size_t *size);
*/

typedef struct { int status; const uv_stat_t *prev; const uv_stat_t *curr; } uvffi_fs_poll_event_t;

static int uvffi__fs_poll_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_fs_poll_init(lp->loop, UVFFI_UV(h, uv_fs_poll_t));
}

static int uvffi__fs_poll_stop(uv_handle_t *handle) { return uv_fs_poll_stop((uv_fs_poll_t *)handle); }

static const uvffi_kind_t uvffi__kind_fs_poll = {"fs_poll", UV_FS_POLL, uvffi__fs_poll_init,
                                                 uvffi__fs_poll_stop, 0, 0, NULL};

static void uvffi__fs_poll_cb(uv_fs_poll_t *p, int status, const uv_stat_t *prev, const uv_stat_t *curr)
{
    uvffi_handle_t *h = UVFFI_OF(p);
    uvffi_loop_t *lp = h->lp;
    uvffi_fs_poll_event_t ev;
    ev.status = status;
    ev.prev = prev;
    ev.curr = curr;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, (long)(intptr_t)&ev, 0);
#else
    {
        PyObject *args[1] = {PyLong_FromVoidPtr(&ev)};
        uvffi__call(h, args, 1);
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__fs_poll_start(uvffi_handle_t *h, const char *path, unsigned int interval_ms)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_fs_poll)
    err = uv_fs_poll_start(UVFFI_UV(h, uv_fs_poll_t), uvffi__fs_poll_cb, path, interval_ms);
    uvffi__sync_keep(h, 1);
    return err;
}

static int uvffi__fs_poll_getpath(uvffi_handle_t *h, char *buffer, size_t *size)
{
    UVFFI_GUARD(h, &uvffi__kind_fs_poll)
    return uv_fs_poll_getpath(UVFFI_UV(h, uv_fs_poll_t), buffer, size);
}

UVFFI_SERIALISED(int, uvffi_fs_poll_start, (uvffi_handle_t *h, const char *path, unsigned int interval_ms),
                 uvffi__fs_poll_start(h, path, interval_ms))
UVFFI_SERIALISED(int, uvffi_fs_poll_getpath, (uvffi_handle_t *h, char *buffer, size_t *size),
                 uvffi__fs_poll_getpath(h, buffer, size))
