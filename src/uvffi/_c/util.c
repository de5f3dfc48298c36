/* util.c: uvffi.util's C helpers (#included after _glue.c by build_libuv.py). */
#include <arpa/inet.h>

static uint16_t uvffi_ntohs(uint16_t v) { return ntohs(v); }
static uint32_t uvffi_ntohl(uint32_t v) { return ntohl(v); }

/* The address (netmask 0) or netmask (1) of an interface as text ("" if neither IPv4 nor IPv6). */
static int uvffi_ifaddr_name(const uv_interface_address_t *a, int netmask, char *buf, size_t size)
{
    const struct sockaddr *sa = netmask ? (const struct sockaddr *)&a->netmask.netmask4
                                        : (const struct sockaddr *)&a->address.address4;
    buf[0] = '\0';
    if (sa->sa_family != AF_INET && sa->sa_family != AF_INET6)
        return 0;
    return uv_ip_name(sa, buf, size);
}

static const char *uvffi_cpu_model(const uv_cpu_info_t *c) { return c->model; }

/* Synchronous uv_random: with no callback libuv needs no loop. */
static int uvffi_random_sync(void *buf, size_t buflen)
{
    uv_random_t req;
    return uv_random(NULL, &req, buf, buflen, 0, NULL);
}

/* uv_get_available_memory arrived in libuv 1.45: the Python side checks the
 * version first (require_libuv); against an older system libuv this is 0. */
static uint64_t uvffi_get_available_memory(void)
{
#if UV_VERSION_HEX >= 0x012d00
    return uv_get_available_memory();
#else
    return 0;
#endif
}
