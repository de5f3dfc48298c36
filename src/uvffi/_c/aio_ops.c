/*
 * CPython only: uvffi.aio's entry into libuv, one C call per asyncio iteration.
 *
 * uvffi.aio holds Python's signal wakeup fd for a whole run_forever
 * (Loop._hold_wakeup), so the runs of its iterations need none of
 * Loop.run's Python steps around uv_run: aio_run(loop, mode) runs the
 * loop in C (loop_ops.c's run) on the main thread too. Any case that C does
 * not take (a closed or running loop, calls queued by other threads or the
 * scheduler, a pending BaseException, another mode) goes to loop.run(mode),
 * which raises or serves it as always. A RUN_NOWAIT that could only find the
 * loop's own wakeup (uvffi_loop_active <= 1: the wakeup counts 1) is skipped;
 * a RUN_ONCE reads libuv's clock first (its wait counts from now).
 */

static PyObject *uvffi__aio_run(PyObject *mod, PyObject *const *a, Py_ssize_t n)
{
    long mode;
    (void)mod;
    if (n != 2) {
        PyErr_SetString(PyExc_TypeError, "aio_run(loop, mode) takes 2 arguments");
        return NULL;
    }
    if (PyObject_TypeCheck(a[0], &uvffi__LoopOps) && PyLong_CheckExact(a[1])) {
        mode = PyLong_AsLong(a[1]);
        if (mode == -1 && PyErr_Occurred())
            PyErr_Clear();
        else if ((mode == UV_RUN_NOWAIT || mode == UV_RUN_ONCE) && uvffi__lops_runnable((uvffi__lobj_t *)a[0])) {
            /* A non-blocking run when nothing of libuv's but the wakeup (the 1
             * counted) is active could only find the wakeup, whose callbacks
             * are queued already: skipped (False, as for a loop with no work). */
            if (mode == UV_RUN_NOWAIT && uvffi_loop_active(((uvffi__lobj_t *)a[0])->raw) <= 1)
                Py_RETURN_FALSE;
            /* A blocking run computes its wait from libuv's clock, last read at the end of
             * the previous run: a timer kept armed across iterations would end the wait
             * late by the time the Python callbacks took since. */
            if (mode == UV_RUN_ONCE)
                uv_update_time(((uvffi__lobj_t *)a[0])->raw->loop);
            return uvffi__lops_run_now(a[0], (int)mode);
        }
    }
    return PyObject_CallMethodOneArg(a[0], uvffi__s_lrun, a[1]);
}

static PyMethodDef uvffi__aio_run_def = {
    "aio_run", (PyCFunction)(void (*)(void))uvffi__aio_run, METH_FASTCALL,
    "aio_run(loop, mode)\n--\n\n"
    "``loop.run(mode)`` for uvffi.aio, whose run_forever holds the signal wakeup fd:\n"
    "RUN_ONCE and RUN_NOWAIT run in C on any thread (a RUN_NOWAIT with nothing but the\n"
    "loop's wakeup active is skipped: False); every other case is ``loop.run(mode)``."};

/* Put aio_run into the dict of C types (uvffi._core.native.C). */
static int uvffi__aio_ops_install(PyObject *dict)
{
    PyObject *f = PyCFunction_New(&uvffi__aio_run_def, NULL);
    int r;
    if (f == NULL)
        return -1;
    r = PyDict_SetItemString(dict, uvffi__aio_run_def.ml_name, f);
    Py_DECREF(f);
    return r;
}
