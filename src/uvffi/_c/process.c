/* Child processes: uv_process_t. handles/process.py is the Python side.
 *
 * There is no uv_process_init: the kind's init is uv_spawn itself, its argument
 * the uv_process_options_t Python built (valid for the call). uv_spawn
 * initialises the handle before it can fail, so a failed spawn leaves a handle
 * in the loop's queue: init closes it with a callback that frees the memory, and
 * uvffi__handle_new, seeing it closing, leaves the memory to that callback.
 * The handle is born active (kept alive until its exit callback has run), so a
 * Process the program drops still reports its exit; libuv reaps the child. */

/*@cdef
typedef int... uv_stdio_flags;
typedef struct uv_process_s uv_process_t;
typedef struct uv_stream_s uv_stream_t;
typedef struct uv_stdio_container_s {
    uv_stdio_flags flags;
    union { uv_stream_t *stream; int fd; } data;
} uv_stdio_container_t;
typedef struct uv_process_options_s {
    void (*exit_cb)(uv_process_t *, int64_t, int); const char *file; char **args; char **env; const char *cwd;
    unsigned int flags; int stdio_count; uv_stdio_container_t *stdio; uv_uid_t uid; uv_gid_t gid;
} uv_process_options_t;
#define UV_IGNORE ...
#define UV_CREATE_PIPE ...
#define UV_INHERIT_FD ...
#define UV_INHERIT_STREAM ...
#define UV_READABLE_PIPE ...
#define UV_WRITABLE_PIPE ...
#define UV_NONBLOCK_PIPE ...
#define UV_OVERLAPPED_PIPE ...
#define UV_PROCESS_SETUID ...
#define UV_PROCESS_SETGID ...
#define UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS ...
#define UV_PROCESS_DETACHED ...
#define UV_PROCESS_WINDOWS_HIDE ...
#define UV_PROCESS_WINDOWS_HIDE_CONSOLE ...
#define UV_PROCESS_WINDOWS_HIDE_GUI ...
#define UV_TCP ...
#define UV_NAMED_PIPE ...
#define UV_TTY ...
int uv_handle_get_type(const uv_handle_t *handle);
void uv_disable_stdio_inheritance(void);
int uvffi_process_kill(uvffi_handle_t *h, int signum);
int uvffi_process_pid(uvffi_handle_t *h);
*/

static void uvffi__process_exit_cb(uv_process_t *p, int64_t exit_status, int term_signal)
{
    uvffi_handle_t *h = UVFFI_OF(p);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, (long)exit_status, term_signal);
#else
    {
        PyObject *args[2] = {PyLong_FromLongLong(exit_status), PyLong_FromLong(term_signal)};
        uvffi__call(h, args, 2);
    }
#endif
    GIL_LEAVE(lp)
}

static void uvffi__process_failed_cb(uv_handle_t *handle) { free(UVFFI_OF(handle)); }

typedef struct { uv_handle_t *target; int found; } uvffi_process_find_t;

static void uvffi__process_find_cb(uv_handle_t *handle, void *arg)
{
    uvffi_process_find_t *f = (uvffi_process_find_t *)arg;
    if (handle == f->target)
        f->found = 1;
}

static int uvffi__process_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    uv_process_options_t *options = (uv_process_options_t *)(intptr_t)arg;
    uv_process_t *p = UVFFI_UV(h, uv_process_t);
    int err;
    if (options == NULL)
        return UV_EINVAL;
    options->exit_cb = uvffi__process_exit_cb;
    err = uv_spawn(lp->loop, p, options);
    if (err) {
        /* uv_spawn fails in two ways. The exec failing in the child (UV_ENOENT,
         * UV_EACCES, ...) returns with the handle in the loop's handle queue.
         * Failing before or around the fork (a stdio entry it cannot set up: a
         * CREATE_PIPE stream that is not a Pipe, an INHERIT_STREAM stream without
         * an fd; ENOMEM) jumps to its error label, which unlinks the handle from
         * that queue but leaves the node's pointers at its old neighbours; the
         * uv_close below would unlink it a second time in uv__finish_close, through
         * those stale pointers, and corrupt the queue (uv_walk then loops forever:
         * loop.handles and loop.close() hang). So the node is made a queue of its
         * own first when the handle is no longer in the loop's queue (both
         * versions' handle_queue are two pointers, next then prev). uv_close is
         * still needed: after a successful fork the handle may be started and in
         * the loop's process queue, which uv__process_close leaves. */
        uvffi_process_find_t f = {(uv_handle_t *)p, 0};
        uv_walk(lp->loop, uvffi__process_find_cb, &f);
        if (!f.found) {
            void **q = (void **)&p->handle_queue;
            q[0] = q;
            q[1] = q;
        }
        p->data = h;
        uv_close((uv_handle_t *)p, uvffi__process_failed_cb);
    }
    return err;
}

static const uvffi_kind_t uvffi__kind_process = {"process", UV_PROCESS, uvffi__process_init, NULL, 1, 1, NULL};

static int uvffi__process_kill(uvffi_handle_t *h, int signum)
{
    UVFFI_GUARD(h, &uvffi__kind_process)
    /* libuv stops the handle when it reaps the child, and keeps its pid: kill(2) with it
     * then would signal whatever process the kernel has given that pid since. A child
     * not reaped yet is a zombie whose pid cannot be reused, so until then the kill is
     * safe. */
    if (!uv_is_active(&h->uv.handle))
        return UV_ESRCH;
    return uv_process_kill(UVFFI_UV(h, uv_process_t), signum);
}

int uvffi_process_pid(uvffi_handle_t *h) { return uv_process_get_pid(UVFFI_UV(h, uv_process_t)); }

UVFFI_SERIALISED(int, uvffi_process_kill, (uvffi_handle_t *h, int signum), uvffi__process_kill(h, signum))
