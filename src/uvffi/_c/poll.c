/* fd polling: uv_poll_t. handles/poll.py is the Python side. */

/*@cdef
#define UV_READABLE ...
#define UV_WRITABLE ...
#define UV_DISCONNECT ...
#define UV_PRIORITIZED ...
int uvffi_poll_start(uvffi_handle_t *h, int events);
*/

static int uvffi__poll_init(uvffi_loop_t *lp, uvffi_handle_t *h, long fd)
{
    if (fd < 0 || fd > INT32_MAX)
        return UV_EBADF;
    return uv_poll_init(lp->loop, UVFFI_UV(h, uv_poll_t), (int)fd);
}

static int uvffi__poll_stop(uv_handle_t *handle) { return uv_poll_stop((uv_poll_t *)handle); }

static const uvffi_kind_t uvffi__kind_poll = {"poll", UV_POLL, uvffi__poll_init, uvffi__poll_stop, 0, 1, NULL};

/* callback(handle, events, error): error None or a libuv error code (then events is 0) */
static void uvffi__poll_cb(uv_poll_t *p, int status, int events)
{
    uvffi_handle_t *h = UVFFI_OF(p);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, events, status);
#else
    {
        PyObject *args[2] = {PyLong_FromLong(events), uvffi__error_or_none(status)};
        uvffi__call(h, args, 2);
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__poll_start(uvffi_handle_t *h, int events)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_poll)
    err = uv_poll_start(UVFFI_UV(h, uv_poll_t), events, uvffi__poll_cb);
    uvffi__sync_keep(h, 1);
    return err;
}

UVFFI_SERIALISED(int, uvffi_poll_start, (uvffi_handle_t *h, int events), uvffi__poll_start(h, events))
