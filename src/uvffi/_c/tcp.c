/* TCP: uv_tcp_t, a stream kind. handles/tcp.py is the Python side. */

/* UV_TCP_REUSEPORT arrived in libuv 1.49 (an enum, so not #ifdef-able): 0 before. */
#if UV_VERSION_HEX >= 0x013100
#define UVFFI_TCP_REUSEPORT UV_TCP_REUSEPORT
#else
#define UVFFI_TCP_REUSEPORT 0
#endif

/*@cdef
#define UV_TCP_IPV6ONLY ...
#define UVFFI_TCP_REUSEPORT ...
int uvffi_tcp_bind(uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags);
uvffi_req_t *uvffi_tcp_connect(uvffi_handle_t *h, uintptr_t self, const struct sockaddr *addr);
int uvffi_tcp_open(uvffi_handle_t *h, int fd);
int uvffi_tcp_name(uvffi_handle_t *h, int peer, struct sockaddr_storage *out);
int uvffi_tcp_nodelay(uvffi_handle_t *h, int enable);
int uvffi_tcp_keepalive(uvffi_handle_t *h, int enable, unsigned int delay);
int uvffi_tcp_simultaneous_accepts(uvffi_handle_t *h, int enable);
int uvffi_tcp_close_reset(uvffi_handle_t *h);
*/

static int uvffi__tcp_init(uvffi_loop_t *lp, uvffi_handle_t *h, long family)
{
    if (family != AF_UNSPEC && family != AF_INET && family != AF_INET6)
        return UV_EINVAL;
    return uv_tcp_init_ex(lp->loop, UVFFI_UV(h, uv_tcp_t), (unsigned int)family);
}

static const uvffi_kind_t uvffi__kind_tcp = {"tcp", UV_TCP, uvffi__tcp_init, NULL, 0, 1, UVFFI_OPS(uvffi__StreamOps),
                                             uvffi__stream_extra};

#define UVFFI_TCP(h) UVFFI_UV(h, uv_tcp_t)

/* Bind; unlike libuv (and pyuv), a port in use is an error here, not at listen():
 * libuv keeps bind()'s EADDRINUSE as the stream's delayed error. */
static int uvffi__tcp_bind(uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    err = uv_tcp_bind(UVFFI_TCP(h), addr, flags);
    if (err == 0 && UVFFI_TCP(h)->delayed_error == UV_EADDRINUSE) {
        UVFFI_TCP(h)->delayed_error = 0;
        err = UV_EADDRINUSE;
    }
    return err;
}

static int uvffi__tcp_check(uvffi_handle_t *h)
{
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    return 0;
}

static uvffi_req_t *uvffi__tcp_connect(uvffi_handle_t *h, uintptr_t self, const struct sockaddr *addr)
{
    uvffi_req_t *r;
    int err;
    UVFFI_REQ_GUARD(h, uvffi__tcp_check(h))
    r = uvffi__stream_req(h, &uvffi__rkind_connect, self);
    if (r == NULL)
        return NULL;
    err = uv_tcp_connect((uv_connect_t *)&r->uv.req, UVFFI_TCP(h), addr, uvffi__connect_cb);
    if (err) {
        uvffi__req_discard(r, 1);
        uvffi__last_err = err;
        return NULL;
    }
    return r;
}

static int uvffi__tcp_open(uvffi_handle_t *h, int fd)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    err = uvffi__stream_pollable(h->uv.handle.loop, fd);
    if (err)
        return err;
    return uv_tcp_open(UVFFI_TCP(h), (uv_os_sock_t)fd);
}

static int uvffi__tcp_name(uvffi_handle_t *h, int peer, struct sockaddr_storage *out)
{
    int len = (int)sizeof *out;
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    memset(out, 0, sizeof *out);
    return peer ? uv_tcp_getpeername(UVFFI_TCP(h), (struct sockaddr *)out, &len)
                : uv_tcp_getsockname(UVFFI_TCP(h), (struct sockaddr *)out, &len);
}

static int uvffi__tcp_nodelay(uvffi_handle_t *h, int enable)
{
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    return uv_tcp_nodelay(UVFFI_TCP(h), enable);
}

static int uvffi__tcp_keepalive(uvffi_handle_t *h, int enable, unsigned int delay)
{
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    return uv_tcp_keepalive(UVFFI_TCP(h), enable, delay);
}

static int uvffi__tcp_simultaneous_accepts(uvffi_handle_t *h, int enable)
{
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    return uv_tcp_simultaneous_accepts(UVFFI_TCP(h), enable);
}

/* Close with an RST (uv_tcp_close_reset): the close bookkeeping of uvffi__handle_close. */
static int uvffi__tcp_close_reset(uvffi_handle_t *h)
{
    int err;
    UVFFI_GUARD(h, &uvffi__kind_tcp)
    if (!h->kept)
        uvffi__keep(h);
    err = uv_tcp_close_reset(UVFFI_TCP(h), uvffi__close_cb);
    if (err)
        uvffi__sync_keep(h, 1);
    return err;
}

UVFFI_SERIALISED(int, uvffi_tcp_bind, (uvffi_handle_t *h, const struct sockaddr *addr, unsigned int flags),
                 uvffi__tcp_bind(h, addr, flags))
UVFFI_SERIALISED(uvffi_req_t *, uvffi_tcp_connect, (uvffi_handle_t *h, uintptr_t self, const struct sockaddr *addr),
                 uvffi__tcp_connect(h, self, addr))
UVFFI_SERIALISED(int, uvffi_tcp_open, (uvffi_handle_t *h, int fd), uvffi__tcp_open(h, fd))
UVFFI_SERIALISED(int, uvffi_tcp_name, (uvffi_handle_t *h, int peer, struct sockaddr_storage *out),
                 uvffi__tcp_name(h, peer, out))
UVFFI_SERIALISED(int, uvffi_tcp_nodelay, (uvffi_handle_t *h, int enable), uvffi__tcp_nodelay(h, enable))
UVFFI_SERIALISED(int, uvffi_tcp_keepalive, (uvffi_handle_t *h, int enable, unsigned int delay),
                 uvffi__tcp_keepalive(h, enable, delay))
UVFFI_SERIALISED(int, uvffi_tcp_simultaneous_accepts, (uvffi_handle_t *h, int enable),
                 uvffi__tcp_simultaneous_accepts(h, enable))
UVFFI_SERIALISED(int, uvffi_tcp_close_reset, (uvffi_handle_t *h), uvffi__tcp_close_reset(h))
