"""loop.call_soon_threadsafe: a locked queue swapped out per wakeup (seed 002)."""

from __future__ import annotations

import threading
from concurrent.futures import CancelledError, Future
from typing import Any, List

import pytest

import uvffi
from uvffi.error import LoopClosedError


def _keepalive(loop: uvffi.Loop) -> uvffi.Timer:
    """A far timer that keeps the loop running until stopped."""
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 30.0, 0)
    return t


def test_result_and_order_from_one_thread(loop: uvffi.Loop) -> None:
    keep = _keepalive(loop)
    seen: List[int] = []
    futs: List["Future[Any]"] = []
    loop_thread = threading.get_ident()
    threads: List[int] = []

    def record(i: int) -> int:
        seen.append(i)
        threads.append(threading.get_ident())
        return i * i

    def producer() -> None:
        for i in range(500):
            futs.append(loop.call_soon_threadsafe(record, i))
        futs.append(loop.call_soon_threadsafe(keep.close))

    t = threading.Thread(target=producer)
    t.start()
    loop.run()
    t.join()
    assert seen == list(range(500))
    assert [f.result(timeout=5) for f in futs[:500]] == [i * i for i in range(500)]
    assert set(threads) == {loop_thread}


def test_per_thread_order_with_several_threads(loop: uvffi.Loop) -> None:
    keep = _keepalive(loop)
    seen: List[tuple] = []
    n_threads, n_calls = 4, 200
    done = threading.Barrier(n_threads + 1)

    def producer(k: int) -> None:
        for i in range(n_calls):
            loop.call_soon_threadsafe(seen.append, (k, i))
        done.wait()

    ts = [threading.Thread(target=producer, args=(k,)) for k in range(n_threads)]
    for t in ts:
        t.start()

    def closer() -> None:
        done.wait()
        loop.call_soon_threadsafe(keep.close)

    c = threading.Thread(target=closer)
    c.start()
    loop.run()
    for t in ts + [c]:
        t.join()
    assert len(seen) == n_threads * n_calls
    for k in range(n_threads):
        assert [i for (kk, i) in seen if kk == k] == list(range(n_calls))


def test_exception_goes_to_future_not_excepthook(loop: uvffi.Loop) -> None:
    hooked: List[BaseException] = []
    loop.excepthook = lambda t, v, tb: hooked.append(v)  # type: ignore[method-assign]
    fut = loop.call_soon_threadsafe(lambda: 1 // 0)
    ok = loop.call_soon_threadsafe(lambda: "after")
    loop.run()
    assert isinstance(fut.exception(timeout=1), ZeroDivisionError)
    assert ok.result(timeout=1) == "after"
    assert hooked == []


def test_base_exception_stops_loop_and_rest_runs_later(loop: uvffi.Loop) -> None:
    def boom() -> None:
        raise KeyboardInterrupt

    f1 = loop.call_soon_threadsafe(boom)
    f2 = loop.call_soon_threadsafe(lambda: 2)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert isinstance(f1.exception(timeout=1), KeyboardInterrupt)
    assert not f2.done()
    loop.run()
    assert f2.result(timeout=1) == 2


def test_queued_before_run_runs_at_run_start(loop: uvffi.Loop) -> None:
    order: List[str] = []
    fut = loop.call_soon_threadsafe(order.append, "call")
    t = uvffi.Timer(loop)
    t.start(lambda h: order.append("timer"), 0, 0)
    loop.run()
    assert fut.done()
    assert order == ["call", "timer"]


def test_wakes_a_blocked_loop(loop: uvffi.Loop) -> None:
    keep = _keepalive(loop)
    started = threading.Event()
    p = uvffi.Prepare(loop)

    def on_prepare(h: uvffi.Prepare) -> None:
        h.stop()
        started.set()

    p.start(on_prepare)

    def other() -> None:
        started.wait(5)
        loop.call_soon_threadsafe(keep.close).result(timeout=10)

    t = threading.Thread(target=other)
    t.start()
    loop.run()  # returns only because the call closed the 30 s timer
    t.join()
    assert keep.closed


def test_internal_async_is_hidden_and_does_not_keep_loop_alive(loop: uvffi.Loop) -> None:
    loop.call_soon_threadsafe(lambda: None)
    loop.run()
    assert loop.handles == []
    assert not loop.alive
    assert loop.run() is False


def test_close_cancels_pending_and_closed_loop_raises() -> None:
    loop = uvffi.Loop()
    fut = loop.call_soon_threadsafe(lambda: None)
    loop.close()
    assert fut.cancelled()
    with pytest.raises(CancelledError):
        fut.result()
    with pytest.raises(LoopClosedError):
        loop.call_soon_threadsafe(lambda: None)


def test_closed_loop_raises_from_other_thread() -> None:
    loop = uvffi.Loop()
    loop.close()
    errors: List[BaseException] = []

    def other() -> None:
        try:
            loop.call_soon_threadsafe(lambda: None)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], LoopClosedError)


def test_cancelled_future_is_skipped(loop: uvffi.Loop) -> None:
    ran: List[int] = []
    fut = loop.call_soon_threadsafe(ran.append, 1)
    assert fut.cancel()
    loop.call_soon_threadsafe(ran.append, 2)
    loop.run()
    assert ran == [2]


def test_not_callable(loop: uvffi.Loop) -> None:
    with pytest.raises(TypeError):
        loop.call_soon_threadsafe(42)  # type: ignore[arg-type]
