"""LazyFuture (call_soon_threadsafe's futures): a concurrent.futures.Future in every observable
way, that makes its Condition only when something observes it."""

from __future__ import annotations

import concurrent.futures as cf
import threading
import time

import pytest

from uvffi.lazy_future import AVAILABLE, LazyFuture, new_future, run_call


def test_lazy_futures_are_used_on_this_interpreter() -> None:
    assert AVAILABLE
    fut = new_future()
    assert type(fut) is LazyFuture and isinstance(fut, cf.Future)


def test_unobserved_future_is_settled_without_a_condition() -> None:
    fut = LazyFuture()
    assert run_call(fut, lambda x: x + 1, (41,)) is None
    assert "_condition" not in fut.__dict__
    assert fut.done() and fut.result() == 42 and fut.exception() is None


def test_run_call_returns_and_stores_the_exception() -> None:
    fut = LazyFuture()
    exc = run_call(fut, lambda: 1 // 0, ())
    assert isinstance(exc, ZeroDivisionError)
    assert fut.exception() is exc
    with pytest.raises(ZeroDivisionError):
        fut.result()


def test_cancelled_future_is_not_run() -> None:
    ran = []
    fut = LazyFuture()
    assert fut.cancel()
    assert run_call(fut, ran.append, (1,)) is None
    assert ran == [] and fut.cancelled()
    with pytest.raises(cf.CancelledError):
        fut.result()


def test_running_future_cannot_be_cancelled() -> None:
    fut = LazyFuture()
    seen = []
    run_call(fut, lambda: seen.append((fut.running(), fut.cancel())), ())
    assert seen == [(True, False)] and fut.done() and not fut.cancelled()


def test_waiter_in_another_thread_is_woken() -> None:
    fut = LazyFuture()
    got = []
    th = threading.Thread(target=lambda: got.append(fut.result(timeout=10)))
    th.start()
    deadline = time.monotonic() + 10
    while not fut._observed and time.monotonic() < deadline:  # the waiter made the Condition
        time.sleep(0.001)
    time.sleep(0.01)  # and waits on it
    run_call(fut, lambda: "value", ())
    th.join(10)
    assert got == ["value"]


def test_waiters_racing_the_result_all_get_it() -> None:
    for _ in range(200):
        fut = LazyFuture()
        got = []
        th = threading.Thread(target=lambda f=fut, g=got: g.append(f.result(timeout=10)))
        th.start()
        run_call(fut, lambda: 7, ())
        th.join(10)
        assert got == [7]


def test_done_callbacks_run_once_before_and_after_completion() -> None:
    calls = []
    fut = LazyFuture()
    fut.add_done_callback(lambda f: calls.append(("before", f.result())))
    run_call(fut, lambda: 3, ())
    fut.add_done_callback(lambda f: calls.append(("after", f.result())))
    assert calls == [("before", 3), ("after", 3)]


def test_wait_and_as_completed_accept_lazy_futures() -> None:
    futs = [LazyFuture() for _ in range(3)]
    threading.Timer(0.01, lambda: [run_call(f, lambda i=i: i, ()) for i, f in enumerate(futs)]).start()
    done, not_done = cf.wait(futs, timeout=10)
    assert len(done) == 3 and not not_done
    assert sorted(f.result() for f in cf.as_completed(futs, timeout=10)) == [0, 1, 2]


def test_settling_twice_raises_invalid_state() -> None:
    fut = LazyFuture()
    run_call(fut, lambda: 1, ())
    with pytest.raises(cf.InvalidStateError):
        fut.set_result(2)
    with pytest.raises(cf.InvalidStateError):
        fut.set_exception(ValueError())


def test_executor_protocol_methods_behave_as_futures() -> None:
    fut = LazyFuture()
    assert fut.set_running_or_notify_cancel() is True
    fut.set_result("r")
    assert fut.result() == "r"
    other = LazyFuture()
    assert other.set_running_or_notify_cancel() is True
    other.set_exception(KeyError("k"))
    assert isinstance(other.exception(), KeyError)
    assert "finished" in repr(fut)


def test_run_call_settles_plain_futures_too() -> None:
    fut: cf.Future = cf.Future()
    assert run_call(fut, lambda: "plain", ()) is None
    assert fut.result() == "plain"
