/*
 * The trampoline: how a libuv callback reaches Python and comes back, and how
 * C keeps Python objects alive. The only file that differs by interpreter:
 *   - CPython: C calls the Python objects through the C API (registered by
 *     uvffi/_core/trampoline.py with uvffi_set_hooks);
 *   - PyPy:    C calls the `extern "Python"` hooks of uvffi/_core/pypy.py with
 *     cffi handles, and the objects C keeps live in their loop's `_kept` dict.
 */

/*@cdef
int uvffi_set_hook(int which, uintptr_t fn);
int uvffi_is_pypy(void);
extern "Python" void _uvffi_py_call(uintptr_t self, long a, long b);
extern "Python" int _uvffi_py_batch(uintptr_t pyloop, uintptr_t *due, int n, int *ticks);
extern "Python" int _uvffi_py_closed(uintptr_t pyloop, uintptr_t self, int kept);
extern "Python" int _uvffi_py_keep(uintptr_t pyloop, uintptr_t self, uintptr_t h);
extern "Python" int _uvffi_py_release(uintptr_t pyloop, uintptr_t self);
extern "Python" void _uvffi_py_work(uintptr_t self);
extern "Python" int _uvffi_py_done(uintptr_t self, int status, int attempt);
extern "Python" void _uvffi_py_signals(uintptr_t pyloop);
extern "Python" void _uvffi_py_ticks(uintptr_t pyloop);
extern "Python" void _uvffi_py_threadsafe(uintptr_t pyloop);
extern "Python" void _uvffi_py_signals_on(void);
extern "Python" void _uvffi_py_signals_off(void);
extern "Python" int _uvffi_py_set_wakeup(int fd);
*/

#if UVFFI_PYPY

/* extern "Python" hooks, defined by cffi from the @cdef block above */
static void _uvffi_py_call(uintptr_t self, long a, long b);
static int _uvffi_py_batch(uintptr_t pyloop, uintptr_t *due, int n, int *ticks);
static int _uvffi_py_closed(uintptr_t pyloop, uintptr_t self, int kept); /* the int hooks: see UVFFI_PY_ATTEMPTS */
static int _uvffi_py_keep(uintptr_t pyloop, uintptr_t self, uintptr_t h);
static int _uvffi_py_release(uintptr_t pyloop, uintptr_t self);
static void _uvffi_py_work(uintptr_t self);
static int _uvffi_py_done(uintptr_t self, int status, int attempt);
static void _uvffi_py_signals(uintptr_t pyloop);
static void _uvffi_py_ticks(uintptr_t pyloop);
static void _uvffi_py_threadsafe(uintptr_t pyloop);
static void _uvffi_py_signals_on(void);   /* built-ins: see uvffi_run_signals (loop.c) */
static void _uvffi_py_signals_off(void);
static int _uvffi_py_set_wakeup(int fd);  /* signal.set_wakeup_fd; -2 if it raised */

/* The bookkeeping hooks (keep, release, closed, done) return 1 once their work is
 * done, and C calls them again until it is. PyPy runs a pending signal handler at
 * any bytecode, a hook's first included, before its `try`: the exception escapes
 * the hook and cffi hands it to the hook's onerror (uvffi/_core/pypy.py), which
 * routes it to the loop and returns None, and cffi returns the hook's error value,
 * 0. If a second signal's handler raises inside onerror, cffi prints both
 * exceptions and returns 0 too: nothing then did the bookkeeping, and C freeing a
 * closed handle or a finished request right after would leave Python holding freed
 * memory, or a done callback would never run. Every step of these hooks is
 * idempotent, so calling again is safe; each failed call needs a signal handler to
 * raise again within microseconds, so a few attempts suffice (the bound only stops
 * a hook that fails for ever, e.g. with RecursionError, from hanging the loop).
 * This costs nothing while no signal comes, unlike deferring the signal handlers
 * around every hook (two more calls into PyPy per hook), and a user's callback run
 * by a hook stays interruptible by Ctrl-C. */
#define UVFFI_PY_ATTEMPTS 8
static void uvffi__obj_keep_py(uintptr_t pyloop, uintptr_t o, uintptr_t h)
{
    int i;
    for (i = 0; i < UVFFI_PY_ATTEMPTS && !_uvffi_py_keep(pyloop, o, h); i++)
        ;
}
static void uvffi__obj_release_py(uintptr_t pyloop, uintptr_t o)
{
    int i;
    for (i = 0; i < UVFFI_PY_ATTEMPTS && !_uvffi_py_release(pyloop, o); i++)
        ;
}
#define uvffi__obj_keep(lp, o) uvffi__obj_keep_py((lp)->pyloop, (o), 0)
#define uvffi__obj_release(lp, o) uvffi__obj_release_py((lp)->pyloop, (o))

#else /* CPython */

static PyObject *uvffi__on_error;  /* f(source, exc): routes a callback's exception */
static PyObject *uvffi__on_closed; /* f(handle): libuv closed a handle with Python storage */
static PyObject *uvffi__on_ticks;  /* f(loop): runs the loop's next-tick queue */
static PyObject *uvffi__on_tsafe;  /* f(loop): runs the call_soon_threadsafe batch */
static PyObject *uvffi__set_wakeup_fd; /* signal.set_wakeup_fd (loop.c calls it, from C) */
static PyObject *uvffi__written_type; /* WriteRequest: what stream.c's write fast path returns */
static PyObject *uvffi__s_on_closed; /* interned "_on_closed" */
static PyObject *uvffi__s_run;       /* interned "_run" */
static PyObject *uvffi__s_done;      /* interned "_done" */

#define uvffi__obj_keep(lp, o) Py_INCREF((PyObject *)(o))
#define uvffi__obj_release(lp, o) Py_DECREF((PyObject *)(o))

static PyTypeObject uvffi__LoopStorage;  /* bases.c / loop_ops.c */
static PyTypeObject uvffi__HandleStorage;
static void uvffi__loop_stop_with(PyObject *loop, PyObject *exc); /* loop_ops.c */
static PyObject *uvffi__loop_of(PyObject *source);                /* bases.c: borrowed or NULL */

/* A BaseException that is not an Exception (KeyboardInterrupt, SystemExit)
 * stops source's loop and is raised by run(): done here in C, with no Python
 * code in between that a second signal could interrupt. 1: done. */
static int uvffi__stop_for(uintptr_t source, PyObject *value)
{
    PyObject *loop = uvffi__loop_of((PyObject *)source);
    if (loop == NULL)
        return 0;
    uvffi__loop_stop_with(loop, value);
    return 1;
}

/* Hand a pending exception to Python's router; never leaves one set. */
static void uvffi__report(uintptr_t source)
{
    PyObject *type, *value, *tb, *r;
    PyErr_Fetch(&type, &value, &tb);
    PyErr_NormalizeException(&type, &value, &tb);
    if (value == NULL) {
        Py_XDECREF(type);
        Py_XDECREF(tb);
        return;
    }
    if (tb != NULL)
        PyException_SetTraceback(value, tb);
    if (!PyObject_TypeCheck(value, (PyTypeObject *)PyExc_Exception) && uvffi__stop_for(source, value)) {
        r = Py_None;
        Py_INCREF(r);
    } else {
        r = uvffi__on_error == NULL ? NULL
            : PyObject_CallFunctionObjArgs(uvffi__on_error, (PyObject *)source, value, NULL);
    }
    if (r == NULL) {
        /* the router failed: a signal's KeyboardInterrupt landing in it still stops the loop */
        PyObject *t2, *v2, *tb2;
        PyErr_Fetch(&t2, &v2, &tb2);
        PyErr_NormalizeException(&t2, &v2, &tb2);
        if (v2 != NULL && !PyObject_TypeCheck(v2, (PyTypeObject *)PyExc_Exception) &&
            uvffi__stop_for(source, v2)) {
            Py_XDECREF(t2);
            Py_XDECREF(v2);
            Py_XDECREF(tb2);
        } else {
            PyErr_Restore(t2, v2, tb2);
        }
        PyErr_WriteUnraisable(value);
    }
    Py_XDECREF(r);
    Py_XDECREF(type);
    Py_XDECREF(value);
    Py_XDECREF(tb);
}

/* Call hook(pyloop) and report what it raised. */
static void uvffi__loop_hook(PyObject *hook, uintptr_t pyloop)
{
    PyObject *r;
    if (hook == NULL)
        return;
    r = PyObject_CallOneArg(hook, (PyObject *)pyloop);
    if (r == NULL)
        uvffi__report(pyloop);
    else
        Py_DECREF(r);
}
#endif

/* C's strong reference to an active or closing handle. The kept handles are
 * listed on their loop (GIL held): CPython's loop reports them to the garbage
 * collector as its own references (loop_ops.c), so a loop that nothing but its
 * own handles reaches is collected and closed. */
static void uvffi__kept_link(uvffi_handle_t *h)
{
    uvffi_loop_t *lp = h->lp;
    h->kept = 1;
    h->kept_prev = NULL;
    h->kept_next = lp->kept_head;
    if (lp->kept_head != NULL)
        lp->kept_head->kept_prev = h;
    lp->kept_head = h;
}

static void uvffi__kept_unlink(uvffi_handle_t *h)
{
    uvffi_loop_t *lp = h->lp;
    h->kept = 0;
    if (h->kept_prev != NULL)
        h->kept_prev->kept_next = h->kept_next;
    else if (lp->kept_head == h)
        lp->kept_head = h->kept_next;
    if (h->kept_next != NULL)
        h->kept_next->kept_prev = h->kept_prev;
    h->kept_prev = h->kept_next = NULL;
}

/* Keep a new handle's object: it is alive (its __init__ is running). */
static void uvffi__keep_new(uvffi_handle_t *h) { uvffi__kept_link(h); uvffi__obj_keep(h->lp, h->self); }

#if UVFFI_PYPY
/* Keep the object of a handle C did not hold. PyPy's cffi handles are indices
 * into a weak table, reused once their object is gone, and a handle's object
 * dies before its finaliser (handle.c's owner) abandons it: self may name a
 * dead object, or another one. The hook keeps the object only if it is h's,
 * and otherwise disowns h (self = 0: C frees it when it closes). */
static void uvffi__keep(uvffi_handle_t *h)
{
    uvffi__obj_keep_py(h->lp->pyloop, h->self, (uintptr_t)h);
    if (h->self != 0)
        uvffi__kept_link(h);
}
#else
#define uvffi__keep uvffi__keep_new
#endif
static void uvffi__release(uvffi_handle_t *h) { uvffi__kept_unlink(h); uvffi__obj_release(h->lp, h->self); }

/* Next-tick callbacks (uvffi.scheduler.next_tick) run right after the callback
 * that queued them returns: Python sets lp->ticks_pending, C drains. GIL held. */
static void uvffi__run_ticks(uvffi_loop_t *lp)
{
    while (lp->ticks_pending) {
        lp->ticks_pending = 0;
#if UVFFI_PYPY
        _uvffi_py_ticks(lp->pyloop);
#else
        uvffi__loop_hook(uvffi__on_ticks, lp->pyloop);
#endif
    }
}
#define UVFFI_AFTER_CALLBACK(lp) \
    if ((lp)->ticks_pending) uvffi__run_ticks(lp)

/* After a callback: a handle that went inactive (a one-shot timer that fired)
 * drops C's keep-alive. */
static void uvffi__settle(uvffi_handle_t *h)
{
    if (h->kept && !uv_is_active(&h->uv.handle) && !uv_is_closing(&h->uv.handle))
        uvffi__release(h);
}

/* Run h's Python callback as callback(handle, *extra), GIL held. CPython: the
 * extra arguments are new references, consumed here (NULL ones mean the
 * conversion failed: the error is reported instead of calling). PyPy: the kind
 * gets (a, b) and its Python class's _emit builds the arguments. */
#if UVFFI_PYPY
static void uvffi__batch_flush(uvffi_loop_t *lp);

static void uvffi__emit(uvffi_handle_t *h, long a, long b)
{
    if (h->self == 0)
        return;
    if (h->lp->batch_n && !h->lp->batch_busy)  /* a phase's batch runs before anything after it */
        uvffi__batch_flush(h->lp);
    _uvffi_py_call(h->self, a, b);
    uvffi__settle(h);
    UVFFI_AFTER_CALLBACK(h->lp);
}

/* PyPy: the loop watchers' callbacks (Check, Prepare, Idle: callback(handle), once
 * per iteration in their phase) wait in their loop's batch while libuv runs the
 * phase, and one hook runs them all (in libuv's order) at the phase's end: one
 * C->Python hop per phase instead of one per handle. The end of the check phase is
 * lp->batch_check, the first check handle started on the loop and so the last run
 * (libuv runs the newest first); of the prepare phase, the loop's gil_prepare, the
 * same way; the idle phase's batch runs there too, before the prepare phase's (or
 * earlier: whatever reaches Python first runs a waiting batch first).
 *
 * A handle stopped or closed while its callback waits is taken out (its entry set
 * to 0, uvffi__batch_drop), as libuv skips a handle stopped during its phase; one
 * started during the phase is not in the batch, as libuv does not run it then. No
 * handle's memory is freed before the phase's end (close callbacks come later).
 *
 * The hook zeroes an entry before it calls the callback: at most once, as the hop
 * per handle gave (a batch of one is that hop: _uvffi_py_call). It returns 2 after a callback that queued next-tick callbacks
 * (C runs them, then calls again for the rest), 1 when all ran, and 0 when a
 * signal's exception escaped it (then C calls again: UVFFI_PY_ATTEMPTS). */
static void uvffi__batch_flush(uvffi_loop_t *lp)
{
    int i, k = 0, attempts = 0, r;
    lp->batch_busy = 1;
    if (lp->batch_n == 1) {
        /* one callback: the plain hop, cheaper than the batch hook's two pointers; at
         * most once as well (the entry is taken first) */
        uintptr_t self = lp->batch[0];
        lp->batch[0] = 0;
        if (self != 0) {
            _uvffi_py_call(self, 0, 0);
            UVFFI_AFTER_CALLBACK(lp);
        }
    }
    while (attempts < UVFFI_PY_ATTEMPTS) {
        while (k < lp->batch_n && lp->batch[k] == 0)
            k++;
        if (k == lp->batch_n)
            break;
        r = _uvffi_py_batch(lp->pyloop, lp->batch + k, lp->batch_n - k, &lp->ticks_pending);
        if (r != 2)
            attempts += r == 1 ? UVFFI_PY_ATTEMPTS : 1;
        UVFFI_AFTER_CALLBACK(lp);
    }
    for (i = 0; i < lp->batch_n; i++)
        if (lp->batch_h[i] != NULL)
            lp->batch_h[i]->due = 0;
    lp->batch_n = 0;
    lp->batch_busy = 0;
}

/* h's callback joins the batch (a batch of another kind's, an earlier phase's,
 * runs first); without memory for it, or while a batch runs, it is called at once. */
static void uvffi__defer(uvffi_handle_t *h)
{
    uvffi_loop_t *lp = h->lp;
    if (h->self == 0)
        return;
    if (lp->batch_n && lp->batch_kind != h->kind && !lp->batch_busy)
        uvffi__batch_flush(lp);
    if (!lp->batch_busy && lp->batch_n == lp->batch_cap) {
        int cap = lp->batch_cap ? 2 * lp->batch_cap : 64;
        uintptr_t *v = realloc(lp->batch, (size_t)cap * sizeof *v);
        uvffi_handle_t **hs;
        if (v != NULL)
            lp->batch = v;
        hs = v == NULL ? NULL : realloc(lp->batch_h, (size_t)cap * sizeof *hs);
        if (hs != NULL) {
            lp->batch_h = hs;
            lp->batch_cap = cap;
        }
    }
    if (lp->batch_busy || lp->batch_n == lp->batch_cap) {
        uvffi__emit(h, 0, 0);
        return;
    }
    lp->batch_kind = h->kind;
    lp->batch[lp->batch_n] = h->self;
    lp->batch_h[lp->batch_n] = h;
    h->due = ++lp->batch_n;
}

/* h is stopped or closing: its waiting callback, if any, is not run. */
static void uvffi__batch_drop(uvffi_handle_t *h)
{
    if (h->due) {
        h->lp->batch[h->due - 1] = 0;
        h->lp->batch_h[h->due - 1] = NULL;
        h->due = 0;
    }
}

static void uvffi__batch_check_cb(uv_check_t *c)
{
    uvffi_loop_t *lp = (uvffi_loop_t *)c->data;
    if (lp->batch_n)
        uvffi__batch_flush(lp);
}
#else
static PyObject *uvffi__callback_of(uvffi_handle_t *h); /* bases.c: _callback, new ref or NULL */

static void uvffi__call(uvffi_handle_t *h, PyObject **extra, Py_ssize_t n)
{
    PyObject *stack[6], *pself = (PyObject *)h->self, *pcb, *r = NULL;
    Py_ssize_t i;
    int ok = 1;
    for (i = 0; i < n; i++)
        ok &= extra[i] != NULL;
    if (pself == NULL || (pcb = uvffi__callback_of(h)) == NULL) {
        for (i = 0; i < n; i++)
            Py_XDECREF(extra[i]);
        return;
    }
    Py_INCREF(pself);
    if (ok) {
        stack[0] = pself;
        for (i = 0; i < n; i++)
            stack[i + 1] = extra[i];
        r = PyObject_Vectorcall(pcb, stack, (size_t)(n + 1), NULL);
    }
    for (i = 0; i < n; i++)
        Py_XDECREF(extra[i]);
    if (r == NULL)
        uvffi__report((uintptr_t)pself);
    else
        Py_DECREF(r);
    Py_DECREF(pcb);
    uvffi__settle(h);
    Py_DECREF(pself);
    UVFFI_AFTER_CALLBACK(h->lp);
}

/* callback(handle): the common case of uvffi__call, kept as short as the check and
 * idle callbacks need it to be. */
static void uvffi__call0(uvffi_handle_t *h)
{
    PyObject *pself = (PyObject *)h->self, *pcb, *r;
    if (pself == NULL)
        return;
    if (h->cstorage) {
        pcb = ((uvffi__hobj_t *)pself)->callback;
        if (pcb == NULL || pcb == Py_None)
            return;
        Py_INCREF(pcb);
    } else if ((pcb = uvffi__callback_of(h)) == NULL) {
        return;
    }
    Py_INCREF(pself);
    r = PyObject_CallOneArg(pcb, pself);
    if (r == NULL)
        uvffi__report((uintptr_t)pself);
    else
        Py_DECREF(r);
    Py_DECREF(pcb);
    uvffi__settle(h);
    Py_DECREF(pself);
    UVFFI_AFTER_CALLBACK(h->lp);
}

/* An int, or None for 0: how pyuv hands libuv's error codes to callbacks. */
static PyObject *uvffi__error_or_none(int err)
{
    if (err == 0)
        Py_RETURN_NONE;
    return PyLong_FromLong(err);
}
#endif

/* Register a Python function the trampolines call (CPython; PyPy's are the
 * extern "Python" hooks): 0 on_error(source, exc), 1 on_closed(handle),
 * 2 on_ticks(loop), 3 on_tsafe(loop), 4 signal.set_wakeup_fd. Returns 0, or UV_EINVAL. */
int uvffi_set_hook(int which, uintptr_t fn)
{
#if !UVFFI_PYPY
    PyObject **slot = which == 0 ? &uvffi__on_error : which == 1 ? &uvffi__on_closed
                    : which == 2 ? &uvffi__on_ticks : which == 3 ? &uvffi__on_tsafe
                    : which == 4 ? &uvffi__set_wakeup_fd : which == 5 ? &uvffi__written_type : NULL;
    if (slot == NULL)
        return UV_EINVAL;
    GIL_ENSURE()
    Py_XINCREF((PyObject *)fn);
    Py_XSETREF(*slot, (PyObject *)fn);
    if (uvffi__s_on_closed == NULL) {
        uvffi__s_on_closed = PyUnicode_InternFromString("_on_closed");
        uvffi__s_run = PyUnicode_InternFromString("_run");
        uvffi__s_done = PyUnicode_InternFromString("_done");
    }
    GIL_RELEASE()
#else
    (void)which;
    (void)fn;
#endif
    return 0;
}

int uvffi_is_pypy(void) { return UVFFI_PYPY; }

/* Deliver a callback with no argument but the handle; UVFFI_EMIT_PHASE: a loop
 * watcher's (PyPy: with the rest of its phase's, see uvffi__batch_flush). */
#if UVFFI_PYPY
#define UVFFI_EMIT0(h) uvffi__emit((h), 0, 0)
#define UVFFI_EMIT_PHASE(h) uvffi__defer(h)
#else
#define UVFFI_EMIT0(h) uvffi__call0(h)
#define UVFFI_EMIT_PHASE(h) uvffi__call0(h)
#endif
