/* Terminals: uv_tty_t, a stream kind. handles/tty.py is the Python side. */

/*@cdef
#define UV_TTY_MODE_NORMAL ...
#define UV_TTY_MODE_RAW ...
#define UV_TTY_MODE_IO ...
int uvffi_tty_set_mode(uvffi_handle_t *h, int mode);
int uvffi_tty_get_winsize(uvffi_handle_t *h, int *width, int *height);
int uv_tty_reset_mode(void);
*/

/* arg: fd * 2 + readable (the kind's one constructor argument) */
static int uvffi__tty_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    long fd = arg >> 1;
    if (arg < 0 || fd > INT32_MAX)
        return UV_EBADF;
    return uv_tty_init(lp->loop, UVFFI_UV(h, uv_tty_t), (uv_file)fd, (int)(arg & 1));
}

static const uvffi_kind_t uvffi__kind_tty = {"tty", UV_TTY, uvffi__tty_init, NULL, 0, 1, UVFFI_OPS(uvffi__StreamOps),
                                             uvffi__stream_extra};

static int uvffi__tty_set_mode(uvffi_handle_t *h, int mode)
{
    UVFFI_GUARD(h, &uvffi__kind_tty)
    return uv_tty_set_mode(UVFFI_UV(h, uv_tty_t), (uv_tty_mode_t)mode);
}

static int uvffi__tty_get_winsize(uvffi_handle_t *h, int *width, int *height)
{
    UVFFI_GUARD(h, &uvffi__kind_tty)
    return uv_tty_get_winsize(UVFFI_UV(h, uv_tty_t), width, height);
}

UVFFI_SERIALISED(int, uvffi_tty_set_mode, (uvffi_handle_t *h, int mode), uvffi__tty_set_mode(h, mode))
UVFFI_SERIALISED(int, uvffi_tty_get_winsize, (uvffi_handle_t *h, int *width, int *height),
                 uvffi__tty_get_winsize(h, width, height))
