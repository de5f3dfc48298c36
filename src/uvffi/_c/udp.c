/*
 * UDP: uv_udp_t, and its send request uv_udp_send_t. handles/udp.py and
 * requests/udp_send.py are the Python side.
 *
 * Receiving: libuv's alloc callback is served in C from a buffer that lives in
 * the handle's own allocation (the kind's `extra` bytes, freed with the handle
 * in its close callback): 64 KiB, one datagram's maximum; with UV_UDP_RECVMMSG
 * UVFFI_UDP_MMSG_CHUNKS times that, so one recvmmsg call can take that many
 * datagrams (libuv splits the buffer into 64 KiB chunks and takes at most 20).
 * No buffer is ever handed out twice at once (a handle's datagrams are
 * delivered one after the other, and a loop never runs inside its own
 * callbacks), and none outlives its handle: nothing to lock or free.
 *
 * The receive callback is callback(handle, addr, flags, data, error): on
 * CPython its arguments are built here (addr as pyuv's tuple, mirroring
 * _core/sockaddr.py's from_sockaddr); on PyPy the extern "Python" hook
 * _uvffi_py_udp_recv gets the pointers and handles/udp.py builds them.
 *
 * The keep-alive follows receiving: a receiving UDP handle is kept alive
 * though Python drops it; a send in flight keeps it alive through its request
 * (the Python request holds the handle).
 */

/*@cdef
#define UV_UDP_IPV6ONLY ...
#define UV_UDP_PARTIAL ...
#define UV_UDP_REUSEADDR ...
#define UV_UDP_MMSG_CHUNK ...
#define UV_UDP_MMSG_FREE ...
#define UV_UDP_LINUX_RECVERR ...
#define UV_UDP_RECVMMSG ...
#define UV_JOIN_GROUP ...
#define UV_LEAVE_GROUP ...
// UV_UDP_REUSEPORT (libuv >= 1.49), or 0 when the headers lack it
#define UVFFI_UDP_REUSEPORT ...
#define UVFFI_UDP_BUFSIZE ...
#define UVFFI_UDP_MMSG_CHUNKS ...
// options of uvffi_udp_set / uvffi_udp_get
#define UVFFI_UDP_TTL ...
#define UVFFI_UDP_MULTICAST_TTL ...
#define UVFFI_UDP_MULTICAST_LOOP ...
#define UVFFI_UDP_BROADCAST ...
#define UVFFI_UDP_OPEN ...
#define UVFFI_UDP_SNDBUF ...
#define UVFFI_UDP_RCVBUF ...
#define UVFFI_UDP_QUEUE_SIZE ...
#define UVFFI_UDP_QUEUE_COUNT ...
#define UVFFI_UDP_USING_RECVMMSG ...
int uvffi_udp_recv_start(uvffi_handle_t *h);
int uvffi_udp_recv_stop(uvffi_handle_t *h);
int uvffi_udp_bind(uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags);
int uvffi_udp_connect(uvffi_handle_t *h, const struct sockaddr *addr);
int uvffi_udp_name(uvffi_handle_t *h, int peer, struct sockaddr_storage *out);
int uvffi_udp_set(uvffi_handle_t *h, int option, long value);
int uvffi_udp_get(uvffi_handle_t *h, int option, long *value);
int uvffi_udp_membership(uvffi_handle_t *h, const char *group, const char *iface, const char *source, int membership);
int uvffi_udp_set_multicast_interface(uvffi_handle_t *h, const char *iface);
int uvffi_udp_send(uvffi_handle_t *h, int rkind, uintptr_t self, const struct sockaddr *addr,
                   const uv_buf_t bufs[], unsigned int nbufs, uvffi_req_t **out);
int uvffi_udp_try_send(uvffi_handle_t *h, const uv_buf_t bufs[], unsigned int nbufs, const struct sockaddr *addr);
int uvffi_udp_send_now(uvffi_handle_t *h, const char *data, size_t len, const struct sockaddr *addr);
int uvffi_udp_try_send2(uvffi_handle_t *h, unsigned int count, uv_buf_t *bufs[], unsigned int nbufs[],
                        struct sockaddr *addrs[], unsigned int flags);
extern "Python" void _uvffi_py_udp_recv(uintptr_t self, long nread, const char *data, const struct sockaddr *addr,
                                        unsigned int flags);
*/

#include <arpa/inet.h>
#include <errno.h>
#include <sys/socket.h>

#if UV_VERSION_HEX >= 0x013100
#define UVFFI_UDP_REUSEPORT UV_UDP_REUSEPORT
#else
#define UVFFI_UDP_REUSEPORT 0
#endif

#define UVFFI_UDP_BUFSIZE (64 * 1024)  /* libuv's UV__UDP_DGRAM_MAXSIZE */
#define UVFFI_UDP_MMSG_CHUNKS 20       /* the most datagrams libuv's recvmmsg takes at once */

enum {
    UVFFI_UDP_TTL = 1, UVFFI_UDP_MULTICAST_TTL, UVFFI_UDP_MULTICAST_LOOP, UVFFI_UDP_BROADCAST, UVFFI_UDP_OPEN,
    UVFFI_UDP_SNDBUF, UVFFI_UDP_RCVBUF, UVFFI_UDP_QUEUE_SIZE, UVFFI_UDP_QUEUE_COUNT, UVFFI_UDP_USING_RECVMMSG
};

#if UVFFI_PYPY
static void _uvffi_py_udp_recv(uintptr_t self, long nread, const char *data, const struct sockaddr *addr,
                               unsigned int flags);
#endif

/* The receive buffer: the kind's extra bytes, after the libuv handle. */
#define UVFFI_UDP_BUF(h) UVFFI_EXTRA(h, char)

/* The constructor's argument is uv_udp_init_ex's flags: the family, or-ed with UV_UDP_RECVMMSG. */
static size_t uvffi__udp_extra(long arg)
{
    return (arg & UV_UDP_RECVMMSG) ? (size_t)UVFFI_UDP_MMSG_CHUNKS * UVFFI_UDP_BUFSIZE : UVFFI_UDP_BUFSIZE;
}

static int uvffi__udp_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    if (arg < 0 || arg > (long)(0xFF | UV_UDP_RECVMMSG))
        return UV_EINVAL;
    return uv_udp_init_ex(lp->loop, UVFFI_UV(h, uv_udp_t), (unsigned int)arg);
}

static int uvffi__udp_stop(uv_handle_t *handle) { return uv_udp_recv_stop((uv_udp_t *)handle); }

static const uvffi_kind_t uvffi__kind_udp = {"udp", UV_UDP, uvffi__udp_init, uvffi__udp_stop, 0, 1, NULL,
                                             uvffi__udp_extra};
static const uvffi_rkind_t uvffi__rkind_udp_send = {"udp_send", UV_UDP_SEND, NULL};

static void uvffi__udp_alloc_cb(uv_handle_t *handle, size_t suggested, uv_buf_t *buf)
{
    uvffi_handle_t *h = UVFFI_OF(handle);
    (void)suggested;
    buf->base = UVFFI_UDP_BUF(h);
    buf->len = uv_udp_using_recvmmsg((uv_udp_t *)handle) ? (size_t)UVFFI_UDP_MMSG_CHUNKS * UVFFI_UDP_BUFSIZE
                                                           : UVFFI_UDP_BUFSIZE;
}

#if !UVFFI_PYPY
/* pyuv's address tuple of addr: (host, port) or (host, port, flowinfo, scope_id); None for another family. */
static PyObject *uvffi__udp_addr(const struct sockaddr *addr)
{
    char host[INET6_ADDRSTRLEN + 1];
    if (addr != NULL && addr->sa_family == AF_INET) {
        const struct sockaddr_in *sin = (const struct sockaddr_in *)addr;
        if (uv_ip4_name(sin, host, sizeof host) == 0)
            return Py_BuildValue("(si)", host, (int)ntohs(sin->sin_port));
    } else if (addr != NULL && addr->sa_family == AF_INET6) {
        const struct sockaddr_in6 *sin6 = (const struct sockaddr_in6 *)addr;
        if (uv_ip6_name(sin6, host, sizeof host) == 0)
            return Py_BuildValue("(siII)", host, (int)ntohs(sin6->sin6_port), (unsigned int)ntohl(sin6->sin6_flowinfo),
                                 (unsigned int)sin6->sin6_scope_id);
    }
    Py_RETURN_NONE;
}
#endif

static void uvffi__udp_recv_cb(uv_udp_t *u, ssize_t nread, const uv_buf_t *buf, const struct sockaddr *addr,
                               unsigned flags)
{
    uvffi_handle_t *h = UVFFI_OF(u);
    uvffi_loop_t *lp = h->lp;
    if (nread == 0 && addr == NULL)  /* nothing read (EAGAIN), or recvmmsg's buffer handed back */
        return;
    flags &= ~(unsigned)(UV_UDP_MMSG_CHUNK | UV_UDP_MMSG_FREE);
    {
        GIL_ENTER(lp)
#if UVFFI_PYPY
        if (h->self != 0) {
            _uvffi_py_udp_recv(h->self, (long)nread, nread > 0 ? buf->base : NULL, nread >= 0 ? addr : NULL, flags);
            uvffi__settle(h);
            UVFFI_AFTER_CALLBACK(lp);
        }
#else
        PyObject *args[4];
        if (nread >= 0) {
            args[0] = uvffi__udp_addr(addr);
            args[1] = PyLong_FromUnsignedLong(flags);
            args[2] = PyBytes_FromStringAndSize(nread > 0 ? buf->base : "", (Py_ssize_t)nread);
            Py_INCREF(Py_None);
            args[3] = Py_None;
        } else {
            Py_INCREF(Py_None);
            args[0] = Py_None;
            args[1] = PyLong_FromLong(0);
            Py_INCREF(Py_None);
            args[2] = Py_None;
            args[3] = PyLong_FromLong((long)nread);
        }
        uvffi__call(h, args, 4);
#endif
        GIL_LEAVE(lp)
    }
}

static void uvffi__udp_send_cb(uv_udp_send_t *req, int status)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    GIL_ENTER(lp)
    uvffi__req_done(r, status);
    GIL_LEAVE(lp)
}

static int uvffi__udp_recv_start(uvffi_handle_t *h)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    err = uv_udp_recv_start(UVFFI_UV(h, uv_udp_t), uvffi__udp_alloc_cb, uvffi__udp_recv_cb);
    if (err == 0 && !h->kept)
        uvffi__keep(h);
    return err;
}

/* Stop receiving; queued sends keep libuv's handle active, their requests keep the Python one. */
static int uvffi__udp_recv_stop(uvffi_handle_t *h)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    err = uv_udp_recv_stop(UVFFI_UV(h, uv_udp_t));
    if (h->kept)
        uvffi__release(h);
    return err;
}

static int uvffi__udp_bind(uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
    return uv_udp_bind(UVFFI_UV(h, uv_udp_t), addr, flags);
}

static int uvffi__udp_connect(uvffi_handle_t *h, const struct sockaddr *addr)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
    return uv_udp_connect(UVFFI_UV(h, uv_udp_t), addr);
}

static int uvffi__udp_name(uvffi_handle_t *h, int peer, struct sockaddr_storage *out)
{
    int len = (int)sizeof *out;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    memset(out, 0, sizeof *out);
    return peer ? uv_udp_getpeername(UVFFI_UV(h, uv_udp_t), (struct sockaddr *)out, &len)
                : uv_udp_getsockname(UVFFI_UV(h, uv_udp_t), (struct sockaddr *)out, &len);
}

/* uv_udp_open takes any fd: on a stream socket every receive then fails with
 * ENOTCONN and the loop spins delivering that error, and on a file or pipe with
 * ENOTSOCK. A datagram socket only (SOCK_DGRAM, or SOCK_RAW: message-oriented,
 * no connection): ENOTSOCK for an fd that is not a socket, EPROTOTYPE for a
 * socket of another type. The fd stays the caller's then. */
static int uvffi__udp_open(uv_udp_t *u, int fd)
{
    int type = 0;
    socklen_t len = sizeof type;
    if (getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) != 0)
        return -errno;  /* libuv's codes are negative errnos on unix */
    if (type != SOCK_DGRAM && type != SOCK_RAW)
        return UV_EPROTOTYPE;
    return uv_udp_open(u, (uv_os_sock_t)fd);
}

static int uvffi__udp_set(uvffi_handle_t *h, int option, long value)
{
    uv_udp_t *u;
    int v = (int)value;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    u = UVFFI_UV(h, uv_udp_t);
    if (value < INT32_MIN || value > INT32_MAX)
        return UV_EINVAL;
    switch (option) {
    case UVFFI_UDP_TTL: return uv_udp_set_ttl(u, v);
    case UVFFI_UDP_MULTICAST_TTL: return uv_udp_set_multicast_ttl(u, v);
    case UVFFI_UDP_MULTICAST_LOOP: return uv_udp_set_multicast_loop(u, v);
    case UVFFI_UDP_BROADCAST: return uv_udp_set_broadcast(u, v);
    case UVFFI_UDP_OPEN: return uvffi__udp_open(u, v);
    case UVFFI_UDP_SNDBUF: return v > 0 ? uv_send_buffer_size((uv_handle_t *)u, &v) : UV_EINVAL;
    case UVFFI_UDP_RCVBUF: return v > 0 ? uv_recv_buffer_size((uv_handle_t *)u, &v) : UV_EINVAL;
    default: return UV_EINVAL;
    }
}

static int uvffi__udp_get(uvffi_handle_t *h, int option, long *value)
{
    uv_udp_t *u;
    int v = 0, err = 0;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    u = UVFFI_UV(h, uv_udp_t);
    switch (option) {
    case UVFFI_UDP_SNDBUF: err = uv_send_buffer_size((uv_handle_t *)u, &v); *value = v; break;
    case UVFFI_UDP_RCVBUF: err = uv_recv_buffer_size((uv_handle_t *)u, &v); *value = v; break;
    case UVFFI_UDP_QUEUE_SIZE: *value = (long)uv_udp_get_send_queue_size(u); break;
    case UVFFI_UDP_QUEUE_COUNT: *value = (long)uv_udp_get_send_queue_count(u); break;
    case UVFFI_UDP_USING_RECVMMSG: *value = uv_udp_using_recvmmsg(u); break;
    default: err = UV_EINVAL;
    }
    return err;
}

static int uvffi__udp_membership(uvffi_handle_t *h, const char *group, const char *iface, const char *source,
                                 int membership)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
    if (membership != UV_JOIN_GROUP && membership != UV_LEAVE_GROUP)
        return UV_EINVAL;
    if (source != NULL)
        return uv_udp_set_source_membership(UVFFI_UV(h, uv_udp_t), group, iface, source, (uv_membership)membership);
    return uv_udp_set_membership(UVFFI_UV(h, uv_udp_t), group, iface, (uv_membership)membership);
}

static int uvffi__udp_set_multicast_interface(uvffi_handle_t *h, const char *iface)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
    return uv_udp_set_multicast_interface(UVFFI_UV(h, uv_udp_t), iface);
}

static const uvffi_rkind_t *uvffi__rkind_at(int index); /* module.c */

/* Send bufs to addr (NULL: the connected peer); the request `self` (kind rkind,
 * "udp_send") is kept alive until its done callback. */
static int uvffi__udp_send(uvffi_handle_t *h, int rkind, uintptr_t self, const struct sockaddr *addr,
                           const uv_buf_t bufs[], unsigned int nbufs, uvffi_req_t **out)
{
    uvffi_req_t *r;
    int err;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    if (uvffi__rkind_at(rkind) != &uvffi__rkind_udp_send)
        return UVFFI_EKIND;
    r = uvffi__req_new(h->lp, &uvffi__rkind_udp_send, self, 1);
    if (r == NULL)
        return uvffi__last_err;
    err = uv_udp_send((uv_udp_send_t *)&r->uv.req, UVFFI_UV(h, uv_udp_t), bufs, nbufs, addr, uvffi__udp_send_cb);
    if (err) {
        uvffi__req_discard(r, 1);
        return err;
    }
    *out = r;
    return 0;
}

static int uvffi__udp_try_send(uvffi_handle_t *h, const uv_buf_t bufs[], unsigned int nbufs,
                               const struct sockaddr *addr)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
    return uv_udp_try_send(UVFFI_UV(h, uv_udp_t), bufs, nbufs, addr);
}

/* A callback-less send of one buffer: the datagram now, if the socket takes it
 * (libuv refuses while sends are queued: UV_EAGAIN, so order holds). */
static int uvffi__udp_send_now(uvffi_handle_t *h, const char *data, size_t len, const struct sockaddr *addr)
{
    uv_buf_t buf;
    UVFFI_GUARD(h, &uvffi__kind_udp)
    if (len > INT32_MAX)
        return UV_EMSGSIZE;
    buf = uv_buf_init((char *)data, (unsigned int)len);
    return uv_udp_try_send(UVFFI_UV(h, uv_udp_t), &buf, 1, addr);
}

/* libuv >= 1.50: several datagrams in one sendmmsg; UV_ENOSYS on an older libuv. */
static int uvffi__udp_try_send2(uvffi_handle_t *h, unsigned int count, uv_buf_t *bufs[], unsigned int nbufs[],
                                struct sockaddr *addrs[], unsigned int flags)
{
    UVFFI_GUARD(h, &uvffi__kind_udp)
#if UV_VERSION_HEX >= 0x013200
    return uv_udp_try_send2(UVFFI_UV(h, uv_udp_t), count, bufs, nbufs, addrs, flags);
#else
    (void)count; (void)bufs; (void)nbufs; (void)addrs; (void)flags;
    return UV_ENOSYS;
#endif
}

UVFFI_SERIALISED(int, uvffi_udp_recv_start, (uvffi_handle_t *h), uvffi__udp_recv_start(h))
UVFFI_SERIALISED(int, uvffi_udp_recv_stop, (uvffi_handle_t *h), uvffi__udp_recv_stop(h))
UVFFI_SERIALISED(int, uvffi_udp_bind, (uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags),
                 uvffi__udp_bind(h, addr, flags))
UVFFI_SERIALISED(int, uvffi_udp_connect, (uvffi_handle_t *h, const struct sockaddr *addr), uvffi__udp_connect(h, addr))
UVFFI_SERIALISED(int, uvffi_udp_name, (uvffi_handle_t *h, int peer, struct sockaddr_storage *out),
                 uvffi__udp_name(h, peer, out))
UVFFI_SERIALISED(int, uvffi_udp_set, (uvffi_handle_t *h, int option, long value), uvffi__udp_set(h, option, value))
UVFFI_SERIALISED(int, uvffi_udp_get, (uvffi_handle_t *h, int option, long *value), uvffi__udp_get(h, option, value))
UVFFI_SERIALISED(int, uvffi_udp_membership,
                 (uvffi_handle_t *h, const char *group, const char *iface, const char *source, int membership),
                 uvffi__udp_membership(h, group, iface, source, membership))
UVFFI_SERIALISED(int, uvffi_udp_set_multicast_interface, (uvffi_handle_t *h, const char *iface),
                 uvffi__udp_set_multicast_interface(h, iface))
UVFFI_SERIALISED(int, uvffi_udp_send,
                 (uvffi_handle_t *h, int rkind, uintptr_t self, const struct sockaddr *addr, const uv_buf_t bufs[],
                  unsigned int nbufs, uvffi_req_t **out),
                 uvffi__udp_send(h, rkind, self, addr, bufs, nbufs, out))
UVFFI_SERIALISED(int, uvffi_udp_try_send,
                 (uvffi_handle_t *h, const uv_buf_t bufs[], unsigned int nbufs, const struct sockaddr *addr),
                 uvffi__udp_try_send(h, bufs, nbufs, addr))
UVFFI_SERIALISED(int, uvffi_udp_send_now,
                 (uvffi_handle_t *h, const char *data, size_t len, const struct sockaddr *addr),
                 uvffi__udp_send_now(h, data, len, addr))
UVFFI_SERIALISED(int, uvffi_udp_try_send2,
                 (uvffi_handle_t *h, unsigned int count, uv_buf_t *bufs[], unsigned int nbufs[],
                  struct sockaddr *addrs[], unsigned int flags),
                 uvffi__udp_try_send2(h, count, bufs, nbufs, addrs, flags))
