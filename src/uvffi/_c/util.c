/* util.c: uvffi.util's C helpers (included by module.c). */

/*@cdef
// ---- util.cdef: uvffi.util (and the socket address types dns.cdef uses) ----
typedef int... sa_family_t;
typedef int... in_port_t;
typedef int... socklen_t;
typedef int... uv_pid_t;
typedef int... uv_file;
typedef int... uv_handle_type;
struct sockaddr { sa_family_t sa_family; ...; };
struct sockaddr_in { sa_family_t sin_family; in_port_t sin_port; ...; };
struct sockaddr_in6 { sa_family_t sin6_family; in_port_t sin6_port; uint32_t sin6_flowinfo;
                      uint32_t sin6_scope_id; ...; };
struct sockaddr_storage { sa_family_t ss_family; ...; };
#define AF_INET ...
#define AF_INET6 ...
#define AF_UNSPEC ...

typedef struct { long tv_sec; long tv_usec; } uv_timeval_t;
typedef struct {
    uv_timeval_t ru_utime; uv_timeval_t ru_stime;
    uint64_t ru_maxrss; uint64_t ru_ixrss; uint64_t ru_idrss; uint64_t ru_isrss;
    uint64_t ru_minflt; uint64_t ru_majflt; uint64_t ru_nswap; uint64_t ru_inblock;
    uint64_t ru_oublock; uint64_t ru_msgsnd; uint64_t ru_msgrcv; uint64_t ru_nsignals;
    uint64_t ru_nvcsw; uint64_t ru_nivcsw;
} uv_rusage_t;
struct uv_cpu_times_s { uint64_t user; uint64_t nice; uint64_t sys; uint64_t idle; uint64_t irq; };
// model is char* in libuv 1.44, const char* in 1.52: read through uvffi_cpu_model.
typedef struct uv_cpu_info_s { int speed; struct uv_cpu_times_s cpu_times; ...; } uv_cpu_info_t;
typedef struct uv_interface_address_s { char *name; char phys_addr[6]; int is_internal; ...; }
    uv_interface_address_t;
typedef struct uv_env_item_s { char *name; char *value; } uv_env_item_t;
typedef struct uv_utsname_s { char sysname[256]; char release[256]; char version[256]; char machine[256]; } uv_utsname_t;

#define UV_UNKNOWN_HANDLE ...
#define UV_TCP ...
#define UV_UDP ...
#define UV_NAMED_PIPE ...
#define UV_TTY ...
#define UV_FILE ...
#define UV_ASYNC ...
#define UV_CHECK ...
#define UV_FS_EVENT ...
#define UV_FS_POLL ...
#define UV_HANDLE ...
#define UV_IDLE ...
#define UV_POLL ...
#define UV_PREPARE ...
#define UV_PROCESS ...
#define UV_STREAM ...
#define UV_TIMER ...
#define UV_SIGNAL ...
#define UV_PRIORITY_LOW ...
#define UV_PRIORITY_BELOW_NORMAL ...
#define UV_PRIORITY_NORMAL ...
#define UV_PRIORITY_ABOVE_NORMAL ...
#define UV_PRIORITY_HIGH ...
#define UV_PRIORITY_HIGHEST ...
#define UV_MAXHOSTNAMESIZE ...

uint64_t uv_get_free_memory(void);
uint64_t uv_get_total_memory(void);
uint64_t uv_get_constrained_memory(void);
void uv_loadavg(double avg[3]);
int uv_uptime(double *uptime);
int uv_resident_set_memory(size_t *rss);
int uv_interface_addresses(uv_interface_address_t **addresses, int *count);
void uv_free_interface_addresses(uv_interface_address_t *addresses, int count);
int uv_cpu_info(uv_cpu_info_t **cpu_infos, int *count);
void uv_free_cpu_info(uv_cpu_info_t *cpu_infos, int count);
int uv_getrusage(uv_rusage_t *rusage);
uv_handle_type uv_guess_handle(uv_file file);
int uv_ip_name(const struct sockaddr *src, char *dst, size_t size);
int uv_ip4_name(const struct sockaddr_in *src, char *dst, size_t size);
int uv_ip6_name(const struct sockaddr_in6 *src, char *dst, size_t size);
int uv_inet_pton(int af, const char *src, void *dst);
unsigned int uv_available_parallelism(void);
uv_pid_t uv_os_getpid(void);
uv_pid_t uv_os_getppid(void);
int uv_os_homedir(char *buffer, size_t *size);
int uv_os_tmpdir(char *buffer, size_t *size);
int uv_os_gethostname(char *buffer, size_t *size);
int uv_os_uname(uv_utsname_t *buffer);
int uv_os_getpriority(uv_pid_t pid, int *priority);
int uv_os_setpriority(uv_pid_t pid, int priority);
int uv_os_environ(uv_env_item_t **envitems, int *count);
void uv_os_free_environ(uv_env_item_t *envitems, int count);
int uv_os_getenv(const char *name, char *buffer, size_t *size);
int uv_os_setenv(const char *name, const char *value);
int uv_os_unsetenv(const char *name);
int uvffi_ifaddr_name(const uv_interface_address_t *a, int netmask, char *buf, size_t size);
const char *uvffi_cpu_model(const uv_cpu_info_t *c);
uint16_t uvffi_ntohs(uint16_t v);
uint32_t uvffi_ntohl(uint32_t v);
int uvffi_random_sync(void *buf, size_t buflen);
uint64_t uvffi_get_available_memory(void);
*/
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
