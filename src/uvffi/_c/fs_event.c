/* Watching a path for changes: uv_fs_event_t. handles/fs_event.py is the Python side. */

/*@cdef
int uvffi_fs_event_start(uvffi_handle_t *h, const char *path, unsigned int flags);
int uvffi_fs_event_getpath(uvffi_handle_t *h, char *buffer, size_t *size);
*/

static int uvffi__fs_event_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_fs_event_init(lp->loop, UVFFI_UV(h, uv_fs_event_t));
}

static int uvffi__fs_event_stop(uv_handle_t *handle) { return uv_fs_event_stop((uv_fs_event_t *)handle); }

static const uvffi_kind_t uvffi__kind_fs_event = {"fs_event", UV_FS_EVENT, uvffi__fs_event_init,
                                                  uvffi__fs_event_stop, 0, 0, NULL};

/* callback(handle, filename, events, error): filename str or None, error None or a
 * libuv error code. PyPy: a is the filename's address (valid during the call), b
 * the events, or the error when negative. */
static void uvffi__fs_event_cb(uv_fs_event_t *e, const char *filename, int events, int status)
{
    uvffi_handle_t *h = UVFFI_OF(e);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, (long)(intptr_t)filename, status < 0 ? status : events);
#else
    {
        PyObject *name;
        if (filename != NULL) {
            name = PyUnicode_DecodeFSDefault(filename);
        } else {
            name = Py_None;
            Py_INCREF(name);
        }
        {
            PyObject *args[3] = {name, PyLong_FromLong(events), uvffi__error_or_none(status)};
            uvffi__call(h, args, 3);
        }
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__fs_event_start(uvffi_handle_t *h, const char *path, unsigned int flags)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_fs_event)
    err = uv_fs_event_start(UVFFI_UV(h, uv_fs_event_t), uvffi__fs_event_cb, path, flags);
    uvffi__sync_keep(h, 1);
    return err;
}

static int uvffi__fs_event_getpath(uvffi_handle_t *h, char *buffer, size_t *size)
{
    UVFFI_GUARD(h, &uvffi__kind_fs_event)
    return uv_fs_event_getpath(UVFFI_UV(h, uv_fs_event_t), buffer, size);
}

UVFFI_SERIALISED(int, uvffi_fs_event_start, (uvffi_handle_t *h, const char *path, unsigned int flags),
                 uvffi__fs_event_start(h, path, flags))
UVFFI_SERIALISED(int, uvffi_fs_event_getpath, (uvffi_handle_t *h, char *buffer, size_t *size),
                 uvffi__fs_event_getpath(h, buffer, size))
