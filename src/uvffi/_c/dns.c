/* dns.c: getaddrinfo/getnameinfo, synchronous, and asynchronous as the request
 * kinds "getaddrinfo" and "getnameinfo" (uvffi_req_t, req.c): C submits (node,
 * service, hints and the address are copied by libuv), the done callback hands
 * the status to the request's _done, which reads the result from the libuv
 * request; the getaddrinfo kind's cleanup frees the addrinfo list.
 *
 * A synchronous libuv DNS call uses its loop only to count the request as active
 * and then done (uv__req_register/unregister: plain increments, not thread-safe).
 * These run on a private zeroed loop struct, so a synchronous lookup from any
 * thread (a work_cb included) never touches the caller's loop. */

/*@cdef
// ---- dns.cdef: uvffi.dns (synchronous path; sockaddr types are in util.cdef) ----
struct addrinfo {
    int ai_flags; int ai_family; int ai_socktype; int ai_protocol; socklen_t ai_addrlen;
    struct sockaddr *ai_addr; char *ai_canonname; struct addrinfo *ai_next; ...;
};
#define NI_MAXHOST ...
#define NI_MAXSERV ...

void uv_freeaddrinfo(struct addrinfo *ai);
int uvffi_getaddrinfo_sync(const char *node, const char *service, int family, int socktype,
                           int protocol, int flags, struct addrinfo **out);
int uvffi_getnameinfo_sync(const struct sockaddr *addr, int flags, char *host, char *service);
int uv_ip4_addr(const char *ip, int port, struct sockaddr_in *addr);
typedef struct uv_getaddrinfo_s { struct addrinfo *addrinfo; ...; } uv_getaddrinfo_t;
typedef struct uv_getnameinfo_s { char host[...]; char service[...]; ...; } uv_getnameinfo_t;
uvffi_req_t *uvffi_getaddrinfo_async(uvffi_loop_t *lp, uintptr_t self, const char *node, const char *service,
                                     int family, int socktype, int protocol, int flags);
uvffi_req_t *uvffi_getnameinfo_async(uvffi_loop_t *lp, uintptr_t self, const struct sockaddr *addr, int flags);
int uv_ip6_addr(const char *ip, int port, struct sockaddr_in6 *addr);
*/
#include <netdb.h>
#include <string.h>

static int uvffi_getaddrinfo_sync(const char *node, const char *service, int family, int socktype,
                                  int protocol, int flags, struct addrinfo **out)
{
    uv_loop_t scratch;
    uv_getaddrinfo_t req;
    struct addrinfo hints;
    int err;

    memset(&scratch, 0, sizeof scratch);
    memset(&req, 0, sizeof req);
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    *out = NULL;
    err = uv_getaddrinfo(&scratch, &req, NULL, node, service, &hints);
    if (err == 0)
        *out = req.addrinfo;
    else if (req.addrinfo != NULL)
        uv_freeaddrinfo(req.addrinfo);
    return err;
}

/* host: NI_MAXHOST bytes, service: NI_MAXSERV bytes. */
static int uvffi_getnameinfo_sync(const struct sockaddr *addr, int flags, char *host, char *service)
{
    uv_loop_t scratch;
    uv_getnameinfo_t req;
    int err;

    memset(&scratch, 0, sizeof scratch);
    memset(&req, 0, sizeof req);
    err = uv_getnameinfo(&scratch, &req, NULL, addr, flags);
    if (err == 0) {
        memcpy(host, req.host, NI_MAXHOST);
        memcpy(service, req.service, NI_MAXSERV);
    }
    return err;
}

/* ---- asynchronous ------------------------------------------------------ */

static void uvffi__gai_cleanup(uv_req_t *req)
{
    uv_getaddrinfo_t *r = (uv_getaddrinfo_t *)req;
    if (r->addrinfo != NULL) {
        uv_freeaddrinfo(r->addrinfo);
        r->addrinfo = NULL;
    }
}

static const uvffi_rkind_t uvffi__rkind_getaddrinfo = {"getaddrinfo", UV_GETADDRINFO, uvffi__gai_cleanup};
static const uvffi_rkind_t uvffi__rkind_getnameinfo = {"getnameinfo", UV_GETNAMEINFO, NULL};

static void uvffi__gai_cb(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    (void)res;  /* req->addrinfo: read by _done, freed by the cleanup */
    GIL_ENTER(lp)
    uvffi__req_done(r, status);
    GIL_LEAVE(lp)
}

static void uvffi__gni_cb(uv_getnameinfo_t *req, int status, const char *host, const char *service)
{
    uvffi_req_t *r = UVFFI_REQ_OF(req);
    uvffi_loop_t *lp = r->lp;
    (void)host; (void)service;  /* req->host, req->service: read by _done */
    GIL_ENTER(lp)
    uvffi__req_done(r, status);
    GIL_LEAVE(lp)
}

static uvffi_req_t *uvffi__getaddrinfo_async(uvffi_loop_t *lp, uintptr_t self, const char *node,
                                             const char *service, int family, int socktype,
                                             int protocol, int flags)
{
    struct addrinfo hints;
    uvffi_req_t *r = uvffi__req_new(lp, &uvffi__rkind_getaddrinfo, self, 1);
    int *err = &uvffi__last_err;
    if (r == NULL)
        return NULL;
    memset(&hints, 0, sizeof hints);
    hints.ai_family = family;
    hints.ai_socktype = socktype;
    hints.ai_protocol = protocol;
    hints.ai_flags = flags;
    *err = uv_getaddrinfo(lp->loop, (uv_getaddrinfo_t *)&r->uv.req, uvffi__gai_cb, node, service, &hints);
    if (*err) {
        uvffi__req_discard(r, 1);
        return NULL;
    }
    return r;
}

static uvffi_req_t *uvffi__getnameinfo_async(uvffi_loop_t *lp, uintptr_t self, const struct sockaddr *addr,
                                             int flags)
{
    uvffi_req_t *r = uvffi__req_new(lp, &uvffi__rkind_getnameinfo, self, 1);
    int *err = &uvffi__last_err;
    if (r == NULL)
        return NULL;
    *err = uv_getnameinfo(lp->loop, (uv_getnameinfo_t *)&r->uv.req, uvffi__gni_cb, addr, flags);
    if (*err) {
        uvffi__req_discard(r, 1);
        return NULL;
    }
    return r;
}

UVFFI_SERIALISED(uvffi_req_t *, uvffi_getaddrinfo_async,
                 (uvffi_loop_t *lp, uintptr_t self, const char *node, const char *service, int family,
                  int socktype, int protocol, int flags),
                 uvffi__getaddrinfo_async(lp, self, node, service, family, socktype, protocol, flags))
UVFFI_SERIALISED(uvffi_req_t *, uvffi_getnameinfo_async,
                 (uvffi_loop_t *lp, uintptr_t self, const struct sockaddr *addr, int flags),
                 uvffi__getnameinfo_async(lp, self, addr, flags))
