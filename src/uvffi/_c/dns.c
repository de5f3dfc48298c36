/* dns.c: synchronous getaddrinfo/getnameinfo.
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
