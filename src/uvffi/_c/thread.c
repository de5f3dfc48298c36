/* thread.c: uvffi.thread's allocators. libuv's primitives are unions or opaque
 * pthread types cffi cannot size, so C allocates them; Python frees them with
 * ffi.gc when the owning object dies. */

/*@cdef
// ---- thread.cdef: uvffi.thread (libuv's primitives; allocated in thread.c) ----
typedef ... uv_mutex_t;
typedef ... uv_rwlock_t;
typedef ... uv_sem_t;
typedef ... uv_cond_t;
typedef ... uv_barrier_t;

uv_mutex_t *uvffi_mutex_new(int *err);
void uvffi_mutex_free(uv_mutex_t *m);
void uv_mutex_lock(uv_mutex_t *m);
int uv_mutex_trylock(uv_mutex_t *m);
void uv_mutex_unlock(uv_mutex_t *m);

uv_rwlock_t *uvffi_rwlock_new(int *err);
void uvffi_rwlock_free(uv_rwlock_t *rw);
void uv_rwlock_rdlock(uv_rwlock_t *rw);
int uv_rwlock_tryrdlock(uv_rwlock_t *rw);
void uv_rwlock_rdunlock(uv_rwlock_t *rw);
void uv_rwlock_wrlock(uv_rwlock_t *rw);
int uv_rwlock_trywrlock(uv_rwlock_t *rw);
void uv_rwlock_wrunlock(uv_rwlock_t *rw);

uv_sem_t *uvffi_sem_new(unsigned int value, int *err);
void uvffi_sem_free(uv_sem_t *s);
void uv_sem_post(uv_sem_t *s);
void uv_sem_wait(uv_sem_t *s);
int uv_sem_trywait(uv_sem_t *s);

uv_cond_t *uvffi_cond_new(int *err);
void uvffi_cond_free(uv_cond_t *c);
void uv_cond_signal(uv_cond_t *c);
void uv_cond_broadcast(uv_cond_t *c);
void uv_cond_wait(uv_cond_t *c, uv_mutex_t *m);
int uv_cond_timedwait(uv_cond_t *c, uv_mutex_t *m, uint64_t timeout);

uv_barrier_t *uvffi_barrier_new(unsigned int count, int *err);
void uvffi_barrier_free(uv_barrier_t *b);
int uv_barrier_wait(uv_barrier_t *b);
*/
#include <stdlib.h>

#define UVFFI__PRIM_NEW(type, init_call)            \
    type *p = malloc(sizeof(type));                 \
    int r;                                          \
    if (p == NULL) { *err = UV_ENOMEM; return NULL; } \
    r = (init_call);                                \
    if (r != 0) { free(p); *err = r; return NULL; } \
    *err = 0;                                       \
    return p;

static uv_mutex_t *uvffi_mutex_new(int *err) { UVFFI__PRIM_NEW(uv_mutex_t, uv_mutex_init(p)) }
static uv_rwlock_t *uvffi_rwlock_new(int *err) { UVFFI__PRIM_NEW(uv_rwlock_t, uv_rwlock_init(p)) }
static uv_cond_t *uvffi_cond_new(int *err) { UVFFI__PRIM_NEW(uv_cond_t, uv_cond_init(p)) }
static uv_sem_t *uvffi_sem_new(unsigned int value, int *err) { UVFFI__PRIM_NEW(uv_sem_t, uv_sem_init(p, value)) }
static uv_barrier_t *uvffi_barrier_new(unsigned int count, int *err)
{
    if (count == 0) { *err = UV_EINVAL; return NULL; }
    { UVFFI__PRIM_NEW(uv_barrier_t, uv_barrier_init(p, count)) }
}

/* libuv aborts when destroying a held mutex or rwlock: one still held when its
 * Python object dies (its holder dropped it) is left allocated, not destroyed,
 * and kept on this list, so that the memory stays reachable (not a leak to
 * LeakSanitizer: it is deliberate, a few dozen bytes per lock dropped held). */
static void **uvffi__kept_locks;
static size_t uvffi__kept_locks_n, uvffi__kept_locks_cap;
static pthread_mutex_t uvffi__kept_locks_mutex = PTHREAD_MUTEX_INITIALIZER;

static void uvffi__keep_lock(void *p)
{
    pthread_mutex_lock(&uvffi__kept_locks_mutex);
    if (uvffi__kept_locks_n == uvffi__kept_locks_cap) {
        size_t cap = uvffi__kept_locks_cap ? 2 * uvffi__kept_locks_cap : 16;
        void **grown = realloc(uvffi__kept_locks, cap * sizeof *grown);
        if (grown != NULL) {
            uvffi__kept_locks = grown;
            uvffi__kept_locks_cap = cap;
        }
    }
    if (uvffi__kept_locks_n < uvffi__kept_locks_cap)
        uvffi__kept_locks[uvffi__kept_locks_n++] = p;
    pthread_mutex_unlock(&uvffi__kept_locks_mutex);
}

static void uvffi_mutex_free(uv_mutex_t *m)
{
    if (uv_mutex_trylock(m) != 0) {
        uvffi__keep_lock(m);
        return;
    }
    uv_mutex_unlock(m);
    uv_mutex_destroy(m);
    free(m);
}

static void uvffi_rwlock_free(uv_rwlock_t *rw)
{
    if (uv_rwlock_trywrlock(rw) != 0) {
        uvffi__keep_lock(rw);
        return;
    }
    uv_rwlock_wrunlock(rw);
    uv_rwlock_destroy(rw);
    free(rw);
}

static void uvffi_cond_free(uv_cond_t *c) { uv_cond_destroy(c); free(c); }
static void uvffi_sem_free(uv_sem_t *s) { uv_sem_destroy(s); free(s); }
static void uvffi_barrier_free(uv_barrier_t *b) { uv_barrier_destroy(b); free(b); }

#undef UVFFI__PRIM_NEW
