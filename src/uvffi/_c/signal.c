/* Signals: uv_signal_t. handles/signal.py is the Python side. */

/*@cdef
int uvffi_signal_start(uvffi_handle_t *h, int signum);
*/

static int uvffi__signal_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_signal_init(lp->loop, UVFFI_UV(h, uv_signal_t));
}

static int uvffi__signal_stop(uv_handle_t *handle) { return uv_signal_stop((uv_signal_t *)handle); }

static const uvffi_kind_t uvffi__kind_signal = {"signal", UV_SIGNAL, uvffi__signal_init, uvffi__signal_stop, 0, 0, NULL};

/* callback(handle, signum) */
static void uvffi__signal_cb(uv_signal_t *s, int signum)
{
    uvffi_handle_t *h = UVFFI_OF(s);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, signum, 0);
#else
    {
        PyObject *args[1] = {PyLong_FromLong(signum)};
        uvffi__call(h, args, 1);
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__signal_start(uvffi_handle_t *h, int signum)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_signal)
    err = uv_signal_start(UVFFI_UV(h, uv_signal_t), uvffi__signal_cb, signum);
    uvffi__sync_keep(h, 1);
    return err;
}

UVFFI_SERIALISED(int, uvffi_signal_start, (uvffi_handle_t *h, int signum), uvffi__signal_start(h, signum))
