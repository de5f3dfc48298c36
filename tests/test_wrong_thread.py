"""Misuse from the wrong thread: while a loop runs in one thread, every
non-thread-safe operation from another thread raises RuntimeError instead of
touching libuv's state; Async.send() works."""

from __future__ import annotations

import threading

import pytest

import uvffi


def test_non_threadsafe_calls_from_another_thread_raise():
    loop = uvffi.Loop()
    timer = uvffi.Timer(loop)
    timer.start(lambda t: None, 3600, 0)
    check = uvffi.Check(loop)
    idle = uvffi.Idle(loop)
    started = threading.Event()
    stopper = uvffi.Async(loop, lambda a: (a.close(), timer.close(), check.close(), idle.close()))
    uvffi.Prepare(loop).start(lambda p: (started.set(), p.close()))
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        assert started.wait(10)
        wrong = {
            "Timer.start": lambda: timer.start(lambda t: None, 1, 0),
            "Timer.stop": timer.stop,
            "Timer.again": timer.again,
            "Timer.repeat=": lambda: setattr(timer, "repeat", 1.0),
            "Check.start": lambda: check.start(lambda c: None),
            "Idle.stop": idle.stop,
            "Handle.ref=": lambda: setattr(timer, "ref", False),
            "Handle.close": check.close,
            "Timer()": lambda: uvffi.Timer(loop),
            "Loop.stop": loop.stop,
            "Loop.update_time": loop.update_time,
            "Loop.get_timeout": loop.get_timeout,
            "Loop.handles": lambda: loop.handles,
            "Loop.queue_work": lambda: loop.queue_work(lambda: None),
            "Loop.run": loop.run,
            "Loop.close": loop.close,
        }
        for name, op in wrong.items():
            with pytest.raises(RuntimeError):
                op()
            assert runner.is_alive(), name
        assert not check.closed and timer.active
        stopper.send()  # the one thread-safe call
    finally:
        runner.join(10)
    assert not runner.is_alive()
    assert timer.closed and check.closed
    loop.close()
