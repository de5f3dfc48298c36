"""A pyuv-style program runs unchanged after ``import uvffi as pyuv``."""

from __future__ import annotations

import threading

import uvffi as pyuv


def test_pyuv_program_runs_unchanged():
    log = []
    loop = pyuv.Loop.default_loop()

    def on_timer(timer):
        log.append("timer")
        timer.stop()
        timer.close()

    def on_check(check):
        log.append("check")
        check.close()

    def on_async(async_handle):
        log.append("async")
        async_handle.close()

    def work():
        log.append("work")

    def after_work(error):
        log.append(("done", error))

    timer = pyuv.Timer(loop)
    timer.start(on_timer, 0.01, 0.0)
    check = pyuv.Check(loop)
    check.start(on_check)
    idle = pyuv.Idle(loop)
    idle.start(lambda h: h.close())
    async_handle = pyuv.Async(loop, on_async)
    threading.Thread(target=async_handle.send).start()
    loop.queue_work(work, after_work)
    loop.run(pyuv.UV_RUN_DEFAULT)
    assert sorted(map(str, log)) == sorted(map(str, ["timer", "check", "async", "work", ("done", None)]))


def test_pyuv_excepthook_signature():
    loop = pyuv.Loop()
    got = []

    def excepthook(typ, value, tb):
        got.append((typ, value.args))

    loop.excepthook = excepthook
    t = pyuv.Timer(loop)
    t.start(lambda h: (_ for _ in ()).throw(KeyError("k")), 0, 0)
    loop.run()
    assert got == [(KeyError, ("k",))]
    loop.close()


def test_pyuv_error_and_errno_modules():
    assert pyuv.error.UVError
    assert pyuv.errno.errorcode[pyuv.errno.UV_ECANCELED] == "UV_ECANCELED"
    assert issubclass(pyuv.error.HandleClosedError, pyuv.error.HandleError)
