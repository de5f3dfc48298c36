"""Async: wakeups from other threads, coalescing as libuv documents it."""

from __future__ import annotations

import threading
import time

import pytest

import uvffi
from uvffi.error import HandleClosedError


def test_send_from_another_thread_runs_callback_on_loop_thread(loop):
    seen = []

    def cb(h):
        seen.append(threading.get_ident())
        h.close()

    a = uvffi.Async(loop, cb)
    threading.Thread(target=a.send).start()
    loop.run()
    assert seen == [threading.get_ident()]


def test_many_sends_before_wakeup_coalesce_into_one_callback(loop):
    calls = []
    a = uvffi.Async(loop, lambda h: calls.append(1))
    for _ in range(100):
        a.send()
    loop.run(uvffi.RUN_ONCE)
    assert calls == [1]
    a.close()
    loop.run()


def test_send_after_callback_gives_another_callback(loop):
    calls = []
    a = uvffi.Async(loop, lambda h: calls.append(1))
    a.send()
    loop.run(uvffi.RUN_ONCE)
    a.send()
    loop.run(uvffi.RUN_ONCE)
    assert calls == [1, 1]
    a.close()
    loop.run()


def test_async_is_active_until_closed(loop):
    a = uvffi.Async(loop, lambda h: None)
    assert a.active
    a.close()
    assert not a.active
    loop.run()


def test_send_after_close_raises(loop):
    a = uvffi.Async(loop, lambda h: None)
    a.close()
    with pytest.raises(HandleClosedError):
        a.send()
    loop.run()
    with pytest.raises(HandleClosedError):
        a.send()


def test_async_callback_must_be_callable_or_none(loop):
    with pytest.raises(TypeError):
        uvffi.Async(loop, 42)  # type: ignore[arg-type]


def test_async_without_callback_wakes_the_loop_and_calls_nothing(loop):
    # pyuv allows Async(loop) and Async(loop, None): a send only makes the loop iterate
    ticks: list = []
    prepare = uvffi.Prepare(loop)
    prepare.start(lambda h: ticks.append(1))
    prepare.ref = False  # only the send may wake the loop
    for a in (uvffi.Async(loop), uvffi.Async(loop, None)):
        ticks.clear()
        a.send()
        loop.run(uvffi.RUN_ONCE)
        assert ticks
        a.close()
    prepare.close()
    loop.run()


def test_sends_racing_close_never_crash(loop):
    stop = threading.Event()  # only a safety net: each thread sends until a send raises
    errors = []
    a = uvffi.Async(loop, lambda h: None)

    def hammer():
        deadline = time.monotonic() + 120
        while not stop.is_set() and time.monotonic() < deadline:
            try:
                a.send()
            except HandleClosedError:
                errors.append(1)
                return
            time.sleep(0)  # let the others run (a send keeps the GIL; valgrind starved some)

    threads = [threading.Thread(target=hammer) for _ in range(4)]
    for t in threads:
        t.start()
    closer = uvffi.Timer(loop)
    closer.start(lambda h: (a.close(), h.close()), 0.02, 0)
    loop.run()
    for t in threads:
        t.join(125)
    stop.set()
    assert a.closed
    assert len(errors) == 4
