/*
 * The one translation unit: every C file of uvffi's core, in dependency order,
 * and the registration tables. A new handle kind is one C file (its kind, init,
 * callbacks, start) included here and one line in uvffi__kinds; a new request
 * kind likewise in uvffi__rkinds. Python finds a kind by name
 * (uvffi_kind_index) once, at import.
 */

/*@cdef
int uvffi_kind_index(const char *name, int request);
const char *uvffi_handle_kind_name(uvffi_handle_t *h);
int uvffi_cbase_install(uintptr_t dict, uintptr_t hsample, uintptr_t lsample, uintptr_t expect,
                        unsigned long main_ident, int with_ops);
*/
#include "uvffi.h"

#include "trampoline.c"
#include "loop.c"
#include "handle.c"
#if !UVFFI_PYPY
#include "bases.c"
#include "loop_ops.c"
#include "aio_ops.c"
#endif
#include "req.c"
#include "timer.c"
#include "loop_watchers.c"
#include "async.c"
#include "signal.c"
#include "poll.c"
#include "work.c"
#if !UVFFI_PYPY
#include "threadsafe.c"
#endif
#include "errno.c"
#include "util.c"
#include "fs.c"
#include "fs_event.c"
#include "fs_poll.c"
#include "process.c"
#include "thread.c"
#include "dns.c"
#include "udp.c"
#include "stream.c"
#include "tcp.c"
#include "pipe.c"
#include "tty.c"
#if !UVFFI_PYPY
#include "fs_ops.c"
#include "aio_stream.c"
#endif

/* The handle kinds. Index 0 is no kind (the abstract Handle). */
static const uvffi_kind_t *const uvffi__kinds[] = {
    NULL,
    &uvffi__kind_timer,
    &uvffi__kind_prepare,
    &uvffi__kind_check,
    &uvffi__kind_idle,
    &uvffi__kind_async,
    &uvffi__kind_signal,
    &uvffi__kind_poll,
    &uvffi__kind_udp,
    &uvffi__kind_fs_event,
    &uvffi__kind_fs_poll,
    &uvffi__kind_process,
    &uvffi__kind_tcp,
    &uvffi__kind_pipe,
    &uvffi__kind_tty,
};

/* The request kinds (C refers to them by their struct, Python by index). */
static const uvffi_rkind_t *const uvffi__rkinds[] = {
    NULL,
    &uvffi__rkind_work,
    &uvffi__rkind_udp_send,
    &uvffi__rkind_fs,
    &uvffi__rkind_getaddrinfo,
    &uvffi__rkind_getnameinfo,
    &uvffi__rkind_write,
    &uvffi__rkind_shutdown,
    &uvffi__rkind_connect,
};

#define UVFFI_COUNT(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const uvffi_kind_t *uvffi__kind_at(int index)
{
    return index > 0 && index < UVFFI_COUNT(uvffi__kinds) ? uvffi__kinds[index] : NULL;
}

static const uvffi_rkind_t *uvffi__rkind_at(int index)
{
    return index > 0 && index < UVFFI_COUNT(uvffi__rkinds) ? uvffi__rkinds[index] : NULL;
}

/* The index of the handle kind (requests: 0) called `name`; 0 if none. */
int uvffi_kind_index(const char *name, int request)
{
    int i;
    if (request) {
        for (i = 1; i < UVFFI_COUNT(uvffi__rkinds); i++)
            if (strcmp(uvffi__rkinds[i]->name, name) == 0)
                return i;
    } else {
        for (i = 1; i < UVFFI_COUNT(uvffi__kinds); i++)
            if (strcmp(uvffi__kinds[i]->name, name) == 0)
                return i;
    }
    return 0;
}

/* The name of the kind of h (what Python reports for a wrong-kind call). */
const char *uvffi_handle_kind_name(uvffi_handle_t *h) { return h->kind->name; }

#if !UVFFI_PYPY
/* Each kind's Ops type (or HandleOps) under the kind's name: what its Python
 * class puts before itself in the MRO. */
static int uvffi__publish_ops(PyObject *d)
{
    int i;
    for (i = 1; i < UVFFI_COUNT(uvffi__kinds); i++) {
        PyTypeObject *ops = uvffi__kinds[i]->ops ? (PyTypeObject *)uvffi__kinds[i]->ops : &uvffi__HandleOps;
        if (PyType_Ready(ops) < 0 || PyDict_SetItemString(d, uvffi__kinds[i]->name, (PyObject *)ops) < 0)
            return -1;
    }
    return 0;
}
#endif

/* CPython: put the C storage and method types into the dict `dict` (storage
 * always; the Ops types unless `with_ops` is 0: UVFFI_NO_CBASE=1). hsample and
 * lsample are cffi pointers cast from `expect`, to check cffi's object layout.
 * Returns 1 if installed, 0 if not (PyPy, or an unknown cffi layout). */
int uvffi_cbase_install(uintptr_t dict, uintptr_t hsample, uintptr_t lsample, uintptr_t expect,
                        unsigned long main_ident, int with_ops)
{
#if UVFFI_PYPY
    (void)dict; (void)hsample; (void)lsample; (void)expect; (void)main_ident; (void)with_ops;
    return 0;
#else
    int ok = 1;
    uvffi__cdata_t *hs = (uvffi__cdata_t *)hsample, *ls = (uvffi__cdata_t *)lsample;
    PyObject *d = (PyObject *)dict;
    GIL_ENSURE()
    if (Py_TYPE(hs) != Py_TYPE(ls) || hs->c_data != (char *)expect || ls->c_data != (char *)expect ||
        hs->c_type == ls->c_type) {
        ok = 0;
    } else {
        uvffi__cdata_type = Py_TYPE(hs);
        uvffi__ct_handle = hs->c_type;
        uvffi__ct_loop = ls->c_type;
        if (uvffi__bases_install(d, main_ident) < 0 || uvffi__publish(d, &uvffi__TsafeQueue) < 0)
            ok = 0;
        else if (with_ops)
            ok = uvffi__publish_ops(d) == 0 && uvffi__fs_ops_install(d) == 0 && uvffi__aio_ops_install(d) == 0 &&
                 uvffi__aio_loop_install(d) == 0 && uvffi__aio_stream_install(d) == 0;
        if (!ok) {
            if (getenv("UVFFI_DEBUG_CBASE"))
                PyErr_Print();
            PyErr_Clear();
        }
    }
    GIL_RELEASE()
    return ok;
#endif
}
