/* Signals: uv_signal_t. handles/signal.py is the Python side. */

/*@cdef
int uvffi_signal_start(uvffi_handle_t *h, int signum);
*/

#include <signal.h>

/* libuv resets a signal to SIG_DFL when its last watcher stops, whatever was
 * installed before: a Python handler for SIGUSR1 would be lost, and the next
 * SIGUSR1 would kill the process. So the action found before libuv installed
 * its own is saved, and put back once libuv has reset the signal. Touched only
 * by serialised entry points (the GIL, or PyPy's mutex). */
#ifndef NSIG
#define NSIG 65
#endif
static struct sigaction uvffi__sig_saved[NSIG];
static unsigned char uvffi__sig_has_saved[NSIG];
static int uvffi__sig_nsaved;

static void uvffi__signals_restore(void)
{
    int s;
    struct sigaction cur;
    if (uvffi__sig_nsaved == 0)
        return;
    for (s = 1; s < NSIG; s++) {
        if (!uvffi__sig_has_saved[s] || sigaction(s, NULL, &cur) != 0)
            continue;
        if (!(cur.sa_flags & SA_SIGINFO) && cur.sa_handler == SIG_DFL) {  /* libuv let it go */
            sigaction(s, &uvffi__sig_saved[s], NULL);
            uvffi__sig_has_saved[s] = 0;
            uvffi__sig_nsaved--;
        }
    }
}

static int uvffi__signal_init(uvffi_loop_t *lp, uvffi_handle_t *h, long arg)
{
    (void)arg;
    return uv_signal_init(lp->loop, UVFFI_UV(h, uv_signal_t));
}

static int uvffi__signal_stop(uv_handle_t *handle) { return uv_signal_stop((uv_signal_t *)handle); }

static const uvffi_kind_t uvffi__kind_signal = {"signal", UV_SIGNAL, uvffi__signal_init, uvffi__signal_stop, 0, 0, NULL};

/* callback(handle, signum) */
static void uvffi__signal_cb(uv_signal_t *s, int signum)
{
    uvffi_handle_t *h = UVFFI_OF(s);
    uvffi_loop_t *lp = h->lp;
    GIL_ENTER(lp)
#if UVFFI_PYPY
    uvffi__emit(h, signum, 0);
#else
    {
        PyObject *args[1] = {PyLong_FromLong(signum)};
        uvffi__call(h, args, 1);
    }
#endif
    GIL_LEAVE(lp)
}

static int uvffi__signal_start(uvffi_handle_t *h, int signum)
{
    int err;
    struct sigaction before, after;
    int have = 0;
    UVFFI_GUARD(h, &uvffi__kind_signal)
    if (signum > 0 && signum < NSIG && !uvffi__sig_has_saved[signum])
        have = sigaction(signum, NULL, &before) == 0;
    err = uv_signal_start(UVFFI_UV(h, uv_signal_t), uvffi__signal_cb, signum);
    if (have && err == 0 && sigaction(signum, NULL, &after) == 0 &&
        ((before.sa_flags & SA_SIGINFO) || before.sa_handler != SIG_DFL) &&
        memcmp(&before.sa_handler, &after.sa_handler, sizeof before.sa_handler) != 0) {
        uvffi__sig_saved[signum] = before;  /* libuv just replaced it */
        uvffi__sig_has_saved[signum] = 1;
        uvffi__sig_nsaved++;
    }
    uvffi__sync_keep(h, 1);
    uvffi__signals_restore();  /* a restart on another signum stopped the old one */
    return err;
}

UVFFI_SERIALISED(int, uvffi_signal_start, (uvffi_handle_t *h, int signum), uvffi__signal_start(h, signum))
