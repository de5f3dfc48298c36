/*
 * The stream machinery TCP, Pipe and TTY share (uv_stream_t): reading into the
 * loop's buffer, listen/accept, and the write, shutdown and connect requests.
 * handles/stream.py is the Python side; tcp.c, pipe.c and tty.c add the kinds.
 *
 * Reads, CPython: after a read of more than UVFFI_READ_ZC_MIN bytes and less
 * than UVFFI_READ_ZC_MAX, libuv reads straight into the `bytes` the callback gets,
 * with no copy: the alloc callback hands libuv the storage of a fresh bytes object
 * of at most UVFFI_READ_ZC_MAX bytes, the read callback shrinks it to what was read
 * and passes it on, or drops it when nothing was (EAGAIN, EOF, an error). libuv
 * calls the read callback once for every buffer the alloc callback gave, whatever
 * happens, so each one is handed on or dropped exactly once. After a smaller read,
 * or one that filled that (while the stream asked for more per read), the next
 * one goes into the loop's buffer and is copied out, as on PyPy (see
 * uvffi__alloc_cb for why).
 *
 * Reads, PyPy (and CPython's copied ones): libuv's alloc callback is served from one
 * buffer per loop, grown to the largest read size a stream asked for, and the
 * bytes are copied out before any Python code runs (CPython builds the bytes in
 * the read callback; PyPy gets (nread, address) through uvffi__emit and its
 * _emit copies them), so the buffer is free again for the next read.
 *
 * Requests (write, shutdown, connect) hold their Python request, which holds the
 * handle and, for writes, the pinned buffers, until libuv's callback. Closing a
 * stream with requests in flight makes libuv call them with UV_ECANCELED before
 * the close callback.
 */

#include <errno.h>
#include <sys/stat.h>
#ifdef __linux__
#include <sys/epoll.h>
#endif

/*@cdef
#define UV_EOF ...
#define UVFFI_READ_SIZE ...
int uvffi_stream_listen(uvffi_handle_t *h, int backlog);
int uvffi_stream_accept(uvffi_handle_t *server, uvffi_handle_t *client);
int uvffi_stream_read_start(uvffi_handle_t *h, size_t size);
int uvffi_stream_read_stop(uvffi_handle_t *h);
uvffi_req_t *uvffi_stream_write(uvffi_handle_t *h, uintptr_t self, uv_buf_t *bufs, unsigned int n,
                                uvffi_handle_t *send);
int uvffi_stream_try_write(uvffi_handle_t *h, uv_buf_t *bufs, unsigned int n);
int uvffi_stream_write_now(uvffi_handle_t *h, const char *data, size_t len);
uvffi_req_t *uvffi_stream_shutdown(uvffi_handle_t *h, uintptr_t self);
int uvffi_stream_set_blocking(uvffi_handle_t *h, int blocking);
int uvffi_stream_readable(uvffi_handle_t *h);
int uvffi_stream_writable(uvffi_handle_t *h);
size_t uvffi_stream_write_queue_size(uvffi_handle_t *h);
int uvffi_handle_type(uvffi_handle_t *h);
int uvffi_handle_buffer_size(uvffi_handle_t *h, int send, int *value);
int uv_socketpair(int type, int protocol, int socket_vector[2], int flags0, int flags1);
int uv_pipe(int fds[2], int read_flags, int write_flags);
#define UV_NONBLOCK_PIPE ...
*/

#define UVFFI_READ_SIZE 262144 /* per read callback at most: asyncio reads 256 KiB, uvloop 250 kB */
#ifndef UVFFI_READ_ZC_MAX
/* CPython: the largest bytes object libuv reads into. It must come from warm heap
 * memory, as every read takes a fresh one: glibc's malloc serves 128 KiB and more
 * with a fresh mmap (until it has seen such a block freed whole), a page fault per
 * 4 KiB read into it, and shrinking it to a small read and freeing it never raises
 * that threshold; measured here, a 1 KiB read into a fresh 256 KiB bytes cost an
 * mmap, an mremap, a munmap and two page faults. 64 bytes over 64 KiB: a 64 KiB
 * message does not fill it (libuv reads again after a full buffer, to find
 * nothing). */
#define UVFFI_READ_ZC_MAX (65536 + 64)
#endif
#ifndef UVFFI_READ_ZC_MIN
/* CPython: reads of at most this many bytes are copied, and so is the read after
 * one. Copying a small read costs less than a fresh 64 KiB block and its shrinking
 * (measured here, in C: about even at 1-2 KiB, the copy dearer from 4 KiB up). */
#define UVFFI_READ_ZC_MIN 2048
#endif

static const uvffi_rkind_t uvffi__rkind_write = {"write", UV_WRITE, NULL};
static const uvffi_rkind_t uvffi__rkind_shutdown = {"shutdown", UV_SHUTDOWN, NULL};
static const uvffi_rkind_t uvffi__rkind_connect = {"connect", UV_CONNECT, NULL};

#if !UVFFI_PYPY
static PyTypeObject uvffi__StreamOps; /* the kinds of tcp.c, pipe.c and tty.c put it in front */
#endif

/* Every stream kind's own state. */
typedef struct {
    size_t read_size;   /* bytes per read callback at most */
    int zero_copy;      /* CPython: the next read goes into a fresh bytes (see uvffi__alloc_cb) */
    /* shutdown() while the stream connects with no write queued: libuv would take it
     * and never run it (its connect completion drains only a non-empty write queue,
     * so the loop hangs with the request pending). uvffi holds it here instead and
     * submits it from the connect callback; meanwhile the stream is not writable, as
     * libuv's own shutdown would have made it. */
    uvffi_req_t *deferred_shutdown;
} uvffi_stream_state_t;

#define UVFFI_STREAM_STATE(h) UVFFI_EXTRA(h, uvffi_stream_state_t)

/* A stream kind's extra bytes (uvffi_kind_t.extra): its state. */
static size_t uvffi__stream_extra(long arg)
{
    (void)arg;
    return sizeof(uvffi_stream_state_t);
}

static int uvffi__is_stream(uvffi_handle_t *h)
{
    uv_handle_type t = h->uv.handle.type;
    return t == UV_TCP || t == UV_NAMED_PIPE || t == UV_TTY;
}

#define UVFFI_STREAM_GUARD(h)                                           \
    UVFFI_GUARD(h, NULL)                                                \
    if (!uvffi__is_stream(h))                                           \
        return UVFFI_EKIND;

#define UVFFI_STREAM(h) UVFFI_UV(h, uv_stream_t)

/* Whether the loop can watch `fd` (0, or the error to refuse it with). libuv's open
 * functions take any fd, but its poller aborts the process when the kernel refuses to
 * watch it, and it finds out only once the loop polls: epoll takes no regular file,
 * directory or /dev/null (EPERM). So TCP.open and Pipe.open ask the loop's own epoll
 * first (add, then remove: what libuv's uv_poll_init does with uv__io_check_fd);
 * elsewhere, regular files and directories are refused. */
static int uvffi__stream_pollable(uv_loop_t *loop, int fd)
{
    struct stat st;
#ifdef __linux__
    int backend = uv_backend_fd(loop);
    if (backend >= 0) {
        struct epoll_event e;
        memset(&e, 0, sizeof e);
        if (epoll_ctl(backend, EPOLL_CTL_ADD, fd, &e) == 0) {
            epoll_ctl(backend, EPOLL_CTL_DEL, fd, &e);
            return 0;
        }
        return errno == EEXIST ? 0 : uv_translate_sys_error(errno);
    }
#else
    (void)loop;
#endif
    if (fstat(fd, &st))
        return uv_translate_sys_error(errno);
    if (S_ISREG(st.st_mode) || S_ISDIR(st.st_mode))
        return UV_EINVAL;
    return 0;
}

/* ---- reading ------------------------------------------------------------ */

/* The loop's read buffer, grown to `want` bytes: libuv's buffer for the reads
 * whose bytes are copied out (PyPy's, CPython's small or bulk ones). NULL when out of memory:
 * libuv then reports UV_ENOBUFS to the read callback. */
static void uvffi__loop_rbuf(uvffi_loop_t *lp, size_t want, uv_buf_t *buf)
{
    if (lp->rbuf_size < want) {
        char *p = realloc(lp->rbuf, want);
        if (p == NULL) {
            buf->base = NULL;
            buf->len = 0;
            return;
        }
        lp->rbuf = p;
        lp->rbuf_size = want;
    }
    buf->base = lp->rbuf;
    buf->len = want;
}

static size_t uvffi__read_size(uvffi_handle_t *h)
{
    size_t want = UVFFI_STREAM_STATE(h)->read_size;
    return want != 0 ? want : UVFFI_READ_SIZE;
}

#if UVFFI_PYPY
static void uvffi__alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    uvffi_handle_t *h = UVFFI_OF(handle);
    (void)suggested;
    uvffi__loop_rbuf(h->lp, uvffi__read_size(h), buf);
}

/* callback(handle, data, error): bytes and None, or None and an error (UV_EOF). */
static void uvffi__read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    uvffi_handle_t *h = UVFFI_OF(s);
    if (nread == 0)  /* EAGAIN: nothing read */
        return;
    if (nread < 0)  /* EOF or an error: delivered once, reading stops (pyuv's rule) */
        uv_read_stop(s);
    uvffi__emit(h, (long)nread, nread < 0 ? 0 : (long)(intptr_t)buf->base);
}
#else
/* The bytes object whose storage the alloc callback handed out as `base`. */
#define UVFFI_READ_BYTES(base) ((PyObject *)((char *)(base) - offsetof(PyBytesObject, ob_sval)))

/* A fresh bytes object's storage (at most UVFFI_READ_ZC_MAX) when the last read
 * was of a size worth it, the loop's buffer otherwise. Why not always the whole
 * read size into a fresh bytes: see UVFFI_READ_ZC_MAX. Why not always at most
 * that: a stream that moves data in bulk then takes four times the reads and
 * callbacks, which cost more than the copy (measured: the process's CPU time per
 * MiB of a one-way stream, 64 KiB reads without the copy 1.4x that of 256 KiB
 * reads with it). Why not for small reads: see UVFFI_READ_ZC_MIN. */
static void uvffi__alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    uvffi_handle_t *h = UVFFI_OF(handle);
    uvffi_loop_t *lp = h->lp;
    size_t want = uvffi__read_size(h);
    PyObject *b;
    (void)suggested;
    if (!UVFFI_STREAM_STATE(h)->zero_copy) {
        uvffi__loop_rbuf(lp, want, buf);
        return;
    }
    if (want > UVFFI_READ_ZC_MAX)
        want = UVFFI_READ_ZC_MAX;
    {
        GIL_ENTER(lp)
        b = PyBytes_FromStringAndSize(NULL, (Py_ssize_t)want);
        if (b == NULL)  /* MemoryError: libuv reports UV_ENOBUFS to the read callback */
            PyErr_Clear();
        GIL_LEAVE(lp)
    }
    if (b == NULL) {
        buf->base = NULL;
        buf->len = 0;
        return;
    }
    buf->base = PyBytes_AS_STRING(b);
    buf->len = want;
}

/* callback(handle, data, error): bytes and None, or None and an error (UV_EOF).
 * A buffer that is not the loop's is a bytes object of ours: shrunk and passed
 * on, or dropped. */
static void uvffi__read_cb(uv_stream_t *s, ssize_t nread, const uv_buf_t *buf)
{
    uvffi_handle_t *h = UVFFI_OF(s);
    uvffi_loop_t *lp = h->lp;
    int copied = buf->base == lp->rbuf;
    PyObject *b = buf->base != NULL && !copied ? UVFFI_READ_BYTES(buf->base) : NULL;
    PyObject *args[2];
    if (nread == 0 && b == NULL)  /* EAGAIN, nothing to drop */
        return;
    GIL_ENTER(lp)
    if (nread == 0) {  /* EAGAIN: nothing read */
        Py_DECREF(b);
    } else if (nread > 0) {
        /* Without a copy next time after a read of a middling size: more than the
         * smallest worth it, and less than a full zero-copy buffer (unless the
         * stream asks for no more than that per read). */
        UVFFI_STREAM_STATE(h)->zero_copy =
            (size_t)nread > UVFFI_READ_ZC_MIN &&
            ((size_t)nread < UVFFI_READ_ZC_MAX || uvffi__read_size(h) <= UVFFI_READ_ZC_MAX);
        if (copied) {
            b = PyBytes_FromStringAndSize(buf->base, nread);
        } else if ((size_t)nread < buf->len) {
            /* Shrinking reallocates in place (the tail goes back to malloc); on failure
             * b is freed and NULL, which uvffi__call reports as the pending MemoryError. */
            _PyBytes_Resize(&b, (Py_ssize_t)nread);
        }
        args[0] = b;
        args[1] = (Py_INCREF(Py_None), Py_None);
        uvffi__call(h, args, 2);
    } else {  /* EOF or an error: delivered once, reading stops (pyuv's rule) */
        Py_XDECREF(b);
        uv_read_stop(s);
        args[0] = (Py_INCREF(Py_None), Py_None);
        args[1] = PyLong_FromLong((long)nread);
        uvffi__call(h, args, 2);
    }
    GIL_LEAVE(lp)
}
#endif

static int uvffi__stream_read_start(uvffi_handle_t *h, size_t size)
{
    int err;
    UVFFI_STREAM_GUARD(h)
    if (size == 0 || size > (size_t)INT32_MAX)
        return UV_EINVAL;
    UVFFI_STREAM_STATE(h)->read_size = size;
    err = uv_read_start(UVFFI_STREAM(h), uvffi__alloc_cb, uvffi__read_cb);
    if (err == UV_EALREADY)  /* pyuv: start_read again replaces the callback */
        err = 0;
    uvffi__sync_keep(h, 1);
    return err;
}

static int uvffi__stream_read_stop(uvffi_handle_t *h)
{
    int err;
    UVFFI_STREAM_GUARD(h)
    err = uv_read_stop(UVFFI_STREAM(h));
    uvffi__sync_keep(h, 1);
    return err;
}

/* ---- listen / accept ------------------------------------------------------ */

/* callback(handle, error) */
static void uvffi__listen_cb(uv_stream_t *s, int status)
{
    uvffi_handle_t *h = UVFFI_OF(s);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, status, -1);
#else
    {
        PyObject *args[1] = {uvffi__error_or_none(status)};
        uvffi__call(h, args, 1);
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__stream_listen(uvffi_handle_t *h, int backlog)
{
    int err;
    UVFFI_STREAM_GUARD(h)
    err = uv_listen(UVFFI_STREAM(h), backlog, uvffi__listen_cb);
    uvffi__sync_keep(h, 1);
    return err;
}

static int uvffi__stream_accept(uvffi_handle_t *server, uvffi_handle_t *client)
{
    uv_handle_type t;
    UVFFI_STREAM_GUARD(server)
    UVFFI_GUARD(client, NULL)
    t = client->uv.handle.type;
    if (t != UV_TCP && t != UV_NAMED_PIPE && t != UV_UDP)
        return UVFFI_EKIND;
    if (client->lp != server->lp)
        return UV_EINVAL;
    return uv_accept(UVFFI_STREAM(server), UVFFI_STREAM(client));
}

/* ---- requests --------------------------------------------------------------- */

static void uvffi__req_cb(uv_req_t *req, int status)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    GIL_ENTER(lp)
    uvffi__req_done(r, status);
    GIL_LEAVE(lp)
}

static void uvffi__write_cb(uv_write_t *req, int status) { uvffi__req_cb((uv_req_t *)req, status); }
static void uvffi__shutdown_cb(uv_shutdown_t *req, int status) { uvffi__req_cb((uv_req_t *)req, status); }

/* The connect callback; a shutdown deferred while connecting (see uvffi_stream_state_t)
 * is submitted before the Python callback runs, so that the callback sees the stream
 * as libuv's shutdown leaves it, and fails after it (with the connect's error, or
 * UV_ECANCELED when the stream was closed first) when it cannot be submitted. The
 * handle's memory is valid throughout: libuv frees nothing before the close callback. */
static void uvffi__connect_cb(uv_connect_t *req, int status)
{
    uv_stream_t *s = req->handle;
    uvffi_stream_state_t *st = UVFFI_STREAM_STATE(UVFFI_OF(s));
    uvffi_req_t *sr = st->deferred_shutdown;
    int serr = 0;
    if (sr != NULL) {
        st->deferred_shutdown = NULL;
        serr = status;
        if (serr == 0)
            serr = uv_shutdown((uv_shutdown_t *)&sr->uv.req, s, uvffi__shutdown_cb);
    }
    uvffi__req_cb((uv_req_t *)req, status);
    if (sr != NULL && serr != 0) {
        uvffi_loop_t *lp = sr->lp;
        GIL_ENTER(lp)
        uvffi__req_done(sr, serr);
        GIL_LEAVE(lp)
    }
}

/* A shutdown is held back (not with libuv yet): the stream is not writable. */
static int uvffi__shutdown_deferred(uvffi_handle_t *h)
{
    return UVFFI_STREAM_STATE(h)->deferred_shutdown != NULL;
}

/* A new request of `kind` for handle h (guarded by the caller). */
static uvffi_req_t *uvffi__stream_req(uvffi_handle_t *h, const uvffi_rkind_t *kind, uintptr_t self)
{
    return uvffi__req_new(h->lp, kind, self, 1);
}

#define UVFFI_REQ_GUARD(h, check)                                       \
    {                                                                   \
        int guard__err = (check);                                       \
        if (guard__err) {                                               \
            uvffi__last_err = guard__err;                               \
            return NULL;                                                \
        }                                                               \
    }

static int uvffi__stream_check(uvffi_handle_t *h)
{
    UVFFI_STREAM_GUARD(h)
    return 0;
}

static int uvffi__send_check(uvffi_handle_t *h, uvffi_handle_t *send)
{
    uv_handle_type t;
    if (send == NULL)
        return 0;
    if (h->uv.handle.type != UV_NAMED_PIPE || !UVFFI_UV(h, uv_pipe_t)->ipc)
        return UV_EINVAL;
    UVFFI_GUARD(send, NULL)
    t = send->uv.handle.type;
    if (t != UV_TCP && t != UV_NAMED_PIPE && t != UV_UDP)
        return UVFFI_EKIND;
    return 0;
}

static uvffi_req_t *uvffi__stream_write(uvffi_handle_t *h, uintptr_t self, uv_buf_t *bufs, unsigned int n,
                                        uvffi_handle_t *send)
{
    uvffi_req_t *r;
    int err;
    UVFFI_REQ_GUARD(h, uvffi__stream_check(h))
    UVFFI_REQ_GUARD(h, uvffi__send_check(h, send))
    UVFFI_REQ_GUARD(h, uvffi__shutdown_deferred(h) ? UV_EPIPE : 0)  /* libuv's answer after shutdown */
    r = uvffi__stream_req(h, &uvffi__rkind_write, self);
    if (r == NULL)
        return NULL;
    if (send != NULL)
        err = uv_write2((uv_write_t *)&r->uv.req, UVFFI_STREAM(h), bufs, n, UVFFI_STREAM(send), uvffi__write_cb);
    else
        err = uv_write((uv_write_t *)&r->uv.req, UVFFI_STREAM(h), bufs, n, uvffi__write_cb);
    if (err) {
        uvffi__req_discard(r, 1);
        uvffi__last_err = err;
        return NULL;
    }
    return r;
}

static int uvffi__stream_try_write(uvffi_handle_t *h, uv_buf_t *bufs, unsigned int n)
{
    UVFFI_STREAM_GUARD(h)
    if (uvffi__shutdown_deferred(h))
        return UV_EPIPE;
    return uv_try_write(UVFFI_STREAM(h), bufs, n);
}

/* The first step of a callback-less write of one buffer (both write paths):
 * what the kernel takes at once. UV_EAGAIN while writes are queued (libuv
 * refuses, so order holds) or once the stream is not writable (shut down). */
static int uvffi__stream_write_now(uvffi_handle_t *h, const char *data, size_t len)
{
    uv_buf_t buf;
    UVFFI_STREAM_GUARD(h)
    if (len == 0 || len > INT32_MAX || !uv_is_writable(UVFFI_STREAM(h)) || uvffi__shutdown_deferred(h))
        return UV_EAGAIN;
    buf = uv_buf_init((char *)data, (unsigned int)len);
    return uv_try_write(UVFFI_STREAM(h), &buf, 1);
}

/* Whether libuv holds no write request for the stream. libuv 1.45 turned its private
 * QUEUE (two void pointers) into struct uv__queue; the system libuv may be older. */
#if UV_VERSION_HEX >= 0x012d00
#define UVFFI_WRITE_QUEUE_EMPTY(s) ((s)->write_queue.next == &(s)->write_queue)
#else
#define UVFFI_WRITE_QUEUE_EMPTY(s) ((s)->write_queue[0] == (void *)&(s)->write_queue)
#endif

static uvffi_req_t *uvffi__stream_shutdown(uvffi_handle_t *h, uintptr_t self)
{
    uvffi_req_t *r;
    uv_stream_t *s;
    int err;
    UVFFI_REQ_GUARD(h, uvffi__stream_check(h))
    UVFFI_REQ_GUARD(h, uvffi__shutdown_deferred(h) ? UV_ENOTCONN : 0)  /* libuv's answer to a second one */
    s = UVFFI_STREAM(h);
    r = uvffi__stream_req(h, &uvffi__rkind_shutdown, self);
    if (r == NULL)
        return NULL;
    if (s->connect_req != NULL && uv_is_writable(s) && !uv_is_closing((uv_handle_t *)s)
        && UVFFI_WRITE_QUEUE_EMPTY(s)) {
        UVFFI_STREAM_STATE(h)->deferred_shutdown = r;  /* uvffi__connect_cb submits it */
        return r;
    }
    err = uv_shutdown((uv_shutdown_t *)&r->uv.req, UVFFI_STREAM(h), uvffi__shutdown_cb);
    if (err) {
        uvffi__req_discard(r, 1);
        uvffi__last_err = err;
        return NULL;
    }
    return r;
}

static int uvffi__stream_set_blocking(uvffi_handle_t *h, int blocking)
{
    UVFFI_STREAM_GUARD(h)
    return uv_stream_set_blocking(UVFFI_STREAM(h), blocking);
}

static int uvffi__handle_buffer_size(uvffi_handle_t *h, int send, int *value)
{
    UVFFI_GUARD(h, NULL)
    return send ? uv_send_buffer_size(&h->uv.handle, value) : uv_recv_buffer_size(&h->uv.handle, value);
}

UVFFI_SERIALISED(int, uvffi_stream_listen, (uvffi_handle_t *h, int backlog), uvffi__stream_listen(h, backlog))
UVFFI_SERIALISED(int, uvffi_stream_accept, (uvffi_handle_t *server, uvffi_handle_t *client),
                 uvffi__stream_accept(server, client))
UVFFI_SERIALISED(int, uvffi_stream_read_start, (uvffi_handle_t *h, size_t size), uvffi__stream_read_start(h, size))
UVFFI_SERIALISED(int, uvffi_stream_read_stop, (uvffi_handle_t *h), uvffi__stream_read_stop(h))
#if !UVFFI_PYPY
static PyObject *uvffi__s_write;   /* interned "write" */
static PyObject *uvffi__s_qwrite;  /* interned "_write" */

/* write(data[, None]) when data is one bytes and there is no callback: what the
 * kernel takes at once goes now (uvffi__stream_write_now); only the rest is
 * queued, by the Python _write. All written: a WriteRequest already finished (a
 * callback-less write's state once done: not pending, handle None). Anything
 * else: the Python write, which does the same steps. */
static PyObject *uvffi__sops_write(PyObject *o, PyObject *const *a, size_t nargsf, PyObject *kwnames)
{
    uvffi__hobj_t *self = (uvffi__hobj_t *)o;
    uvffi_handle_t *h = self->raw;
    Py_ssize_t n = PyVectorcall_NARGS(nargsf), len;
    PyTypeObject *type = (PyTypeObject *)uvffi__written_type;
    PyObject *req, *view, *rest, *r, *args[4];
    int w;
    if (uvffi__s_qwrite == NULL && ((uvffi__s_write = PyUnicode_InternFromString("write")) == NULL ||
                                    (uvffi__s_qwrite = PyUnicode_InternFromString("_write")) == NULL))
        return NULL;
    if (!UVFFI_NOKW(kwnames) || n < 1 || n > 2 || (n == 2 && a[1] != Py_None) || h == NULL || type == NULL ||
        self->closed != Py_False || !PyBytes_CheckExact(a[0]))
        return uvffi__call_next(&uvffi__StreamOps, uvffi__s_write, o, a, nargsf, kwnames);
    len = PyBytes_GET_SIZE(a[0]);
    w = uvffi__stream_write_now(h, PyBytes_AS_STRING(a[0]), (size_t)len);
    if (w == len) {
        req = type->tp_alloc(type, 0);
        if (req != NULL && PyObject_SetAttr(req, uvffi__s_loop, self->loop) < 0)
            Py_CLEAR(req);
        return req;
    }
    if (w <= 0)  /* nothing went: the Python write (which raises the errors) */
        return uvffi__call_next(&uvffi__StreamOps, uvffi__s_write, o, a, nargsf, kwnames);
    view = PyMemoryView_FromObject(a[0]);
    if (view == NULL)
        return NULL;
    rest = PySequence_GetSlice(view, w, len);
    Py_DECREF(view);
    if (rest == NULL)
        return NULL;
    args[0] = o;
    args[1] = rest;
    args[2] = args[3] = Py_None;
    r = PyObject_VectorcallMethod(uvffi__s_qwrite, args, 4, NULL);
    Py_DECREF(rest);
    return r;
}

static PyMethodDef uvffi__sops_methods[] = {
    {"write", (PyCFunction)(void (*)(void))uvffi__sops_write, METH_FASTCALL | METH_KEYWORDS,
     "write(data, callback=None)\n--\n\n"
     "Queue ``data`` (a bytes-like object, or a sequence of them written in one go)\n"
     "for writing; ``callback(handle, error)`` once it is written or failed."},
    {NULL, NULL, 0, NULL}
};
UVFFI_OPS_TYPE(uvffi__StreamOps, "StreamOps", "C methods of uvffi's streams: TCP, Pipe, TTY (CPython).",
               uvffi__sops_methods)
#endif

UVFFI_SERIALISED(uvffi_req_t *, uvffi_stream_write,
                 (uvffi_handle_t *h, uintptr_t self, uv_buf_t *bufs, unsigned int n, uvffi_handle_t *send),
                 uvffi__stream_write(h, self, bufs, n, send))
UVFFI_SERIALISED(int, uvffi_stream_try_write, (uvffi_handle_t *h, uv_buf_t *bufs, unsigned int n),
                 uvffi__stream_try_write(h, bufs, n))
UVFFI_SERIALISED(int, uvffi_stream_write_now, (uvffi_handle_t *h, const char *data, size_t len),
                 uvffi__stream_write_now(h, data, len))
UVFFI_SERIALISED(uvffi_req_t *, uvffi_stream_shutdown, (uvffi_handle_t *h, uintptr_t self),
                 uvffi__stream_shutdown(h, self))
UVFFI_SERIALISED(int, uvffi_stream_set_blocking, (uvffi_handle_t *h, int blocking),
                 uvffi__stream_set_blocking(h, blocking))
UVFFI_SERIALISED(int, uvffi_handle_buffer_size, (uvffi_handle_t *h, int send, int *value),
                 uvffi__handle_buffer_size(h, send, value))

int uvffi_stream_readable(uvffi_handle_t *h) { return uvffi__is_stream(h) && uv_is_readable(UVFFI_STREAM(h)); }
int uvffi_stream_writable(uvffi_handle_t *h)
{
    return uvffi__is_stream(h) && !uvffi__shutdown_deferred(h) && uv_is_writable(UVFFI_STREAM(h));
}
size_t uvffi_stream_write_queue_size(uvffi_handle_t *h)
{
    return uvffi__is_stream(h) ? uv_stream_get_write_queue_size(UVFFI_STREAM(h)) : 0;
}
int uvffi_handle_type(uvffi_handle_t *h) { return (int)h->uv.handle.type; }
