/* Pipes (unix domain sockets, and IPC pipes that carry handles): uv_pipe_t, a
 * stream kind. handles/pipe.py is the Python side. Names are bytes with a length,
 * so Linux's abstract names (a leading NUL byte) go through uv_pipe_bind2 and
 * uv_pipe_connect2 like the others. */

/*@cdef
int uvffi_pipe_bind(uvffi_handle_t *h, const char *name, size_t len);
uvffi_req_t *uvffi_pipe_connect(uvffi_handle_t *h, uintptr_t self, const char *name, size_t len);
int uvffi_pipe_open(uvffi_handle_t *h, int fd);
int uvffi_pipe_name(uvffi_handle_t *h, int peer, char *buf, size_t *len);
int uvffi_pipe_pending_instances(uvffi_handle_t *h, int count);
int uvffi_pipe_pending_type(uvffi_handle_t *h);
int uvffi_pipe_ipc(uvffi_handle_t *h);
int uvffi_pipe_chmod(uvffi_handle_t *h, int flags);
*/

static int uvffi__pipe_init(uvffi_loop_t *lp, uvffi_handle_t *h, long ipc)
{
    return uv_pipe_init(lp->loop, UVFFI_UV(h, uv_pipe_t), ipc ? 1 : 0);
}

static const uvffi_kind_t uvffi__kind_pipe = {"pipe", UV_NAMED_PIPE, uvffi__pipe_init, NULL, 0, 1, UVFFI_OPS(uvffi__StreamOps),
                                              uvffi__stream_extra};

#include <sys/socket.h>
#include <sys/un.h>

#define UVFFI_PIPE(h) UVFFI_UV(h, uv_pipe_t)

/* uv_pipe_bind2/uv_pipe_connect2 (names with a length: abstract names, no silent
 * truncation) arrived in libuv 1.46; with an older system libuv a plain name still
 * works (NUL-terminated, too long a name is refused here, not truncated) and an
 * abstract one gives UV_ENOSYS. */
#if UV_VERSION_HEX >= 0x012e00
#define UVFFI_PIPE_NAMES2 1
#else
#define UVFFI_PIPE_NAMES2 0
static int uvffi__pipe_plain_name(const char *name, size_t len)
{
    if (len == 0 || memchr(name, 0, len) != NULL)
        return UV_ENOSYS;
    if (len >= sizeof(((struct sockaddr_un *)0)->sun_path))
        return UV_EINVAL;
    return 0;
}
#endif

static int uvffi__pipe_bind(uvffi_handle_t *h, const char *name, size_t len)
{
    UVFFI_GUARD(h, &uvffi__kind_pipe)
#if UVFFI_PIPE_NAMES2
    return uv_pipe_bind2(UVFFI_PIPE(h), name, len, UV_PIPE_NO_TRUNCATE);
#else
    {
        int err = uvffi__pipe_plain_name(name, len);
        return err ? err : uv_pipe_bind(UVFFI_PIPE(h), name);
    }
#endif
}

static int uvffi__pipe_check(uvffi_handle_t *h)
{
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    return 0;
}

static uvffi_req_t *uvffi__pipe_connect(uvffi_handle_t *h, uintptr_t self, const char *name, size_t len)
{
    uvffi_req_t *r;
    int err;
    UVFFI_REQ_GUARD(h, uvffi__pipe_check(h))
    r = uvffi__stream_req(h, &uvffi__rkind_connect, self);
    if (r == NULL)
        return NULL;
#if UVFFI_PIPE_NAMES2
    err = uv_pipe_connect2((uv_connect_t *)&r->uv.req, UVFFI_PIPE(h), name, len, UV_PIPE_NO_TRUNCATE,
                           uvffi__connect_cb);
#else
    err = uvffi__pipe_plain_name(name, len);
    if (err == 0)
        uv_pipe_connect((uv_connect_t *)&r->uv.req, UVFFI_PIPE(h), name, uvffi__connect_cb);
#endif
    if (err) {
        uvffi__req_discard(r, 1);
        uvffi__last_err = err;
        return NULL;
    }
    return r;
}

static int uvffi__pipe_open(uvffi_handle_t *h, int fd)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    err = uvffi__stream_pollable(h->uv.handle.loop, fd);
    if (err)
        return err;
    return uv_pipe_open(UVFFI_PIPE(h), (uv_file)fd);
}

/* libuv reads whatever address the fd's socket has as a sockaddr_un: a Pipe opened
 * on a TCP socket would give the bytes of its IP address as a path. A socket of
 * another family gets EAFNOSUPPORT; anything else (not a socket, not connected,
 * closed) is left to libuv, whose own call fails the same way. */
static int uvffi__pipe_name(uvffi_handle_t *h, int peer, char *buf, size_t *len)
{
    uv_os_fd_t fd;
    struct sockaddr_storage ss;
    socklen_t sl = sizeof ss;
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    if (uv_fileno(&h->uv.handle, &fd) == 0 &&
        (peer ? getpeername(fd, (struct sockaddr *)&ss, &sl) : getsockname(fd, (struct sockaddr *)&ss, &sl)) == 0 &&
        ss.ss_family != AF_UNIX)
        return UV_EAFNOSUPPORT;
    return peer ? uv_pipe_getpeername(UVFFI_PIPE(h), buf, len) : uv_pipe_getsockname(UVFFI_PIPE(h), buf, len);
}

static int uvffi__pipe_pending_instances(uvffi_handle_t *h, int count)
{
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    uv_pipe_pending_instances(UVFFI_PIPE(h), count);
    return 0;
}

static int uvffi__pipe_pending_type(uvffi_handle_t *h)
{
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    return (int)uv_pipe_pending_type(UVFFI_PIPE(h));
}

static int uvffi__pipe_chmod(uvffi_handle_t *h, int flags)
{
    UVFFI_GUARD(h, &uvffi__kind_pipe)
    return uv_pipe_chmod(UVFFI_PIPE(h), flags);
}

UVFFI_SERIALISED(int, uvffi_pipe_bind, (uvffi_handle_t *h, const char *name, size_t len),
                 uvffi__pipe_bind(h, name, len))
UVFFI_SERIALISED(uvffi_req_t *, uvffi_pipe_connect, (uvffi_handle_t *h, uintptr_t self, const char *name, size_t len),
                 uvffi__pipe_connect(h, self, name, len))
UVFFI_SERIALISED(int, uvffi_pipe_open, (uvffi_handle_t *h, int fd), uvffi__pipe_open(h, fd))
UVFFI_SERIALISED(int, uvffi_pipe_name, (uvffi_handle_t *h, int peer, char *buf, size_t *len),
                 uvffi__pipe_name(h, peer, buf, len))
UVFFI_SERIALISED(int, uvffi_pipe_pending_instances, (uvffi_handle_t *h, int count),
                 uvffi__pipe_pending_instances(h, count))
UVFFI_SERIALISED(int, uvffi_pipe_pending_type, (uvffi_handle_t *h), uvffi__pipe_pending_type(h))
UVFFI_SERIALISED(int, uvffi_pipe_chmod, (uvffi_handle_t *h, int flags), uvffi__pipe_chmod(h, flags))

int uvffi_pipe_ipc(uvffi_handle_t *h) { return h->kind == &uvffi__kind_pipe && UVFFI_PIPE(h)->ipc; }
