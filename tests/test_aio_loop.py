"""uvffi.aio.Loop: scheduling, running, stopping, closing, threads, executors, errors."""

from __future__ import annotations

import asyncio
import gc
import random
import signal
import socket
import sys
import threading
import time
import warnings
import weakref
from typing import Any, List

import pytest

import uvffi
import uvffi.aio


def test_new_event_loop_is_an_asyncio_event_loop_on_a_uvffi_loop(aloop: uvffi.aio.Loop) -> None:
    assert isinstance(aloop, asyncio.AbstractEventLoop)
    assert isinstance(aloop, uvffi.aio.Loop)
    assert isinstance(aloop.uv_loop, uvffi.Loop)


def test_call_soon_runs_callbacks_in_the_order_scheduled(aloop: uvffi.aio.Loop) -> None:
    out: List[int] = []
    for i in range(20):
        aloop.call_soon(out.append, i)
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    assert out == list(range(20))


def test_a_callback_scheduled_by_a_callback_runs_in_the_next_iteration(aloop: uvffi.aio.Loop) -> None:
    out: List[str] = []

    def first() -> None:
        out.append("first")
        aloop.call_soon(out.append, "nested")

    aloop.call_soon(first)
    aloop.call_soon(out.append, "second")
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    # stop() ends the loop after the iteration in which it ran: the nested call is in the next one
    assert out == ["first", "second"]
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    assert out == ["first", "second", "nested"]


def test_call_later_callbacks_fire_in_the_order_of_their_delays(aloop: uvffi.aio.Loop) -> None:
    out: List[float] = []
    for delay in (0.03, 0.01, 0.02, 0.0):
        aloop.call_later(delay, out.append, delay)
    aloop.call_later(0.05, aloop.stop)
    aloop.run_forever()
    assert out == [0.0, 0.01, 0.02, 0.03]


def test_call_at_never_fires_before_its_when(aloop: uvffi.aio.Loop) -> None:
    seen: List[Any] = []

    def fire(when: float) -> None:
        seen.append((when, aloop.time()))

    start = aloop.time()
    for i in range(1, 30):
        aloop.call_at(start + i * 0.0007, fire, start + i * 0.0007)
    aloop.call_at(start + 0.03, aloop.stop)
    aloop.run_forever()
    assert len(seen) == 29
    for when, now in seen:
        assert now >= when
    assert [w for w, _ in seen] == sorted(w for w, _ in seen)


def test_a_cancelled_timer_never_runs(aloop: uvffi.aio.Loop) -> None:
    out: List[str] = []
    handle = aloop.call_later(0.001, out.append, "cancelled")
    aloop.call_later(0.002, out.append, "kept")
    handle.cancel()
    aloop.run_until_complete(asyncio.sleep(0.01))
    assert out == ["kept"]


def test_a_millisecond_sleep_ends_while_a_reader_keeps_the_loop_alive(aloop: uvffi.aio.Loop) -> None:
    # libuv before 1.45 (a system libuv) runs due timers before the poll as well: a wait
    # whose timer came due there once blocked the poll with no timeout, forever, because
    # the reader's Poll kept the loop alive. Hundreds of tries meet that millisecond tick.
    a, b = socket.socketpair()
    try:
        a.setblocking(False)
        aloop.add_reader(a, lambda: None)  # never readable: b sends nothing

        async def naps() -> int:
            for _ in range(300):
                await asyncio.sleep(0.001)
            return 300

        assert aloop.run_until_complete(naps()) == 300
    finally:
        aloop.remove_reader(a)
        a.close()
        b.close()


def test_run_until_complete_returns_the_coroutine_result(aloop: uvffi.aio.Loop) -> None:
    async def compute() -> int:
        await asyncio.sleep(0)
        await asyncio.sleep(0.001)
        return 42

    assert aloop.run_until_complete(compute()) == 42


def test_run_until_complete_raises_the_coroutine_exception(aloop: uvffi.aio.Loop) -> None:
    async def fail() -> None:
        await asyncio.sleep(0)
        raise ZeroDivisionError("boom")

    with pytest.raises(ZeroDivisionError, match="boom"):
        aloop.run_until_complete(fail())


def test_stop_before_run_forever_runs_one_iteration(aloop: uvffi.aio.Loop) -> None:
    out: List[int] = []
    aloop.call_soon(out.append, 1)
    aloop.stop()
    aloop.run_forever()
    assert out == [1]
    assert not aloop.is_running()


def test_is_running_is_true_inside_and_false_outside(aloop: uvffi.aio.Loop) -> None:
    async def inside() -> bool:
        return aloop.is_running() and asyncio.get_running_loop() is aloop

    assert not aloop.is_running()
    assert aloop.run_until_complete(inside())
    assert not aloop.is_running()


def test_run_forever_inside_a_running_loop_raises(aloop: uvffi.aio.Loop) -> None:
    async def nested() -> None:
        aloop.run_forever()

    with pytest.raises(RuntimeError):
        aloop.run_until_complete(nested())


def test_close_is_idempotent_and_refuses_new_work(aloop: uvffi.aio.Loop) -> None:
    aloop.close()
    aloop.close()
    assert aloop.is_closed()
    assert aloop.uv_loop.closed
    with pytest.raises(RuntimeError):
        aloop.call_soon(lambda: None)
    coro = asyncio.sleep(0)
    with pytest.raises(RuntimeError):
        aloop.run_until_complete(coro)
    coro.close()


def test_close_while_running_raises(aloop: uvffi.aio.Loop) -> None:
    async def close_inside() -> None:
        aloop.close()

    with pytest.raises(RuntimeError):
        aloop.run_until_complete(close_inside())
    assert not aloop.is_closed()


def test_callbacks_pending_at_close_never_run(aloop: uvffi.aio.Loop) -> None:
    out: List[str] = []
    aloop.call_soon(out.append, "soon")
    aloop.call_later(0.001, out.append, "later")
    aloop.close()
    assert out == []


def test_close_on_a_wrapped_uvffi_loop_leaves_that_loop_open() -> None:
    uv = uvffi.Loop()
    try:
        aloop = uvffi.aio.Loop(uv)
        assert aloop.uv_loop is uv
        assert aloop.run_until_complete(asyncio.sleep(0.001, "ok")) == "ok"
        aloop.close()
        assert not uv.closed
        assert uv.handles == []
        uv.run()  # nothing of the asyncio loop keeps it alive
    finally:
        uv.close()


def test_an_unclosed_loop_warns_resource_warning_when_collected() -> None:
    lp = uvffi.aio.new_event_loop()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        del lp
        gc.collect()
    assert any(issubclass(w.category, ResourceWarning) and "unclosed event loop" in str(w.message)
               for w in caught)


def test_call_soon_threadsafe_from_another_thread_wakes_a_waiting_loop(aloop: uvffi.aio.Loop) -> None:
    fut = aloop.create_future()
    started = threading.Event()

    def worker() -> None:
        started.wait()
        aloop.call_soon_threadsafe(fut.set_result, threading.get_ident())

    t = threading.Thread(target=worker)
    t.start()
    aloop.call_soon(started.set)
    # nothing else is scheduled: the loop waits in libuv with no timeout until the wakeup
    result = aloop.run_until_complete(fut)
    t.join()
    assert result == t.ident


def test_exception_in_a_callback_goes_to_the_exception_handler(aloop: uvffi.aio.Loop) -> None:
    contexts: List[dict] = []
    aloop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def bad() -> None:
        raise ValueError("from a callback")

    aloop.call_soon(bad)
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    assert len(contexts) == 1
    assert isinstance(contexts[0]["exception"], ValueError)


def test_exception_in_a_raw_uvffi_callback_goes_to_the_exception_handler(aloop: uvffi.aio.Loop) -> None:
    contexts: List[dict] = []
    aloop.set_exception_handler(lambda lp, ctx: contexts.append(ctx))

    def bad(timer: uvffi.Timer) -> None:
        raise KeyError("from a uvffi timer")

    timer = uvffi.Timer(aloop.uv_loop)
    timer.start(bad, 0.001, 0)
    aloop.run_until_complete(asyncio.sleep(0.02))
    assert [type(c["exception"]) for c in contexts] == [KeyError]


def test_run_in_executor_returns_the_function_result(aloop: uvffi.aio.Loop) -> None:
    def where() -> int:
        return threading.get_ident()

    ident = aloop.run_until_complete(aloop.run_in_executor(None, where))
    assert ident != threading.get_ident()
    aloop.run_until_complete(aloop.shutdown_default_executor())


def test_uvffi_timer_and_check_on_uv_loop_run_while_coroutines_run(aloop: uvffi.aio.Loop) -> None:
    ticks: List[str] = []
    timer = uvffi.Timer(aloop.uv_loop)
    timer.start(lambda t: ticks.append("timer"), 0.001, 0.001)
    check = uvffi.Check(aloop.uv_loop)
    check.start(lambda c: ticks.append("check"))

    async def main() -> int:
        n = 0
        while ticks.count("timer") < 3:
            await asyncio.sleep(0.001)
            n += 1
        return n

    assert aloop.run_until_complete(main()) >= 1
    assert ticks.count("timer") >= 3 and "check" in ticks
    timer.close()
    check.close()


def test_run_runs_a_coroutine_on_a_uvffi_loop_and_closes_it() -> None:
    seen: List[Any] = []

    async def main() -> str:
        seen.append(asyncio.get_running_loop())
        await asyncio.sleep(0.001)
        return "done"

    assert uvffi.aio.run(main()) == "done"
    assert isinstance(seen[0], uvffi.aio.Loop)
    assert seen[0].is_closed()


def test_run_cancels_tasks_left_pending_by_main() -> None:
    cancelled: List[bool] = []

    async def forever() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            cancelled.append(True)
            raise

    async def main() -> None:
        asyncio.ensure_future(forever())
        await asyncio.sleep(0)

    uvffi.aio.run(main())
    assert cancelled == [True]


def test_install_makes_asyncio_new_event_loop_return_a_uvffi_loop() -> None:
    old = asyncio.get_event_loop_policy()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)  # policies are deprecated in 3.14
            uvffi.aio.install()
            lp = asyncio.new_event_loop()
        try:
            assert isinstance(lp, uvffi.aio.Loop)
        finally:
            lp.close()
    finally:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", DeprecationWarning)
            asyncio.set_event_loop_policy(old)


def test_the_policy_keeps_a_child_watcher_it_does_not_need() -> None:
    # libuv reaps the children itself; asyncio's API (CPython's own tests call it) must not raise
    policy = uvffi.aio.EventLoopPolicy()
    assert policy.get_child_watcher() is None
    watcher = object()
    policy.set_child_watcher(watcher)
    assert policy.get_child_watcher() is watcher


@pytest.mark.skipif(sys.version_info < (3, 12), reason="asyncio.run(loop_factory=) is new in Python 3.12")
def test_asyncio_run_with_loop_factory_uses_the_uvffi_loop() -> None:
    async def main() -> type:
        return type(asyncio.get_running_loop())

    assert asyncio.run(main(), loop_factory=uvffi.aio.new_event_loop) is uvffi.aio.Loop  # type: ignore[call-arg]


def test_a_loop_runs_in_another_thread() -> None:
    results: List[Any] = []

    def thread_main() -> None:
        lp = uvffi.aio.new_event_loop()
        try:
            async def main() -> str:
                await asyncio.sleep(0.001)
                fut = lp.create_future()
                lp.call_later(0.001, fut.set_result, "from the thread's loop")
                return await fut

            results.append(lp.run_until_complete(main()))
        finally:
            lp.close()

    t = threading.Thread(target=thread_main)
    t.start()
    t.join(30)
    assert results == ["from the thread's loop"]


def test_loops_in_two_threads_run_at_the_same_time() -> None:
    barrier = threading.Barrier(2, timeout=10)
    results: List[str] = []

    def thread_main(name: str) -> None:
        lp = uvffi.aio.new_event_loop()
        try:
            async def main() -> str:
                # each loop waits for the other to be running: they must run concurrently
                await lp.run_in_executor(None, barrier.wait)
                await asyncio.sleep(0.001)
                return name

            results.append(lp.run_until_complete(main()))
        finally:
            lp.close()

    threads = [threading.Thread(target=thread_main, args=(n,)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert sorted(results) == ["a", "b"]


def test_a_loop_on_the_default_uvffi_loop() -> None:
    uv = uvffi.Loop.default_loop()
    lp = uvffi.aio.Loop(uv)
    try:
        assert lp.run_until_complete(asyncio.sleep(0.001, "on the default loop")) == "on the default loop"
    finally:
        lp.close()
    assert not uv.closed


def test_loop_refuses_a_uv_loop_of_the_wrong_type() -> None:
    with pytest.raises(TypeError):
        uvffi.aio.Loop(object())  # type: ignore[arg-type]


def test_calls_from_one_thread_with_call_soon_threadsafe_run_in_order(aloop: uvffi.aio.Loop) -> None:
    out: List[int] = []
    done = aloop.create_future()

    def worker() -> None:
        for i in range(200):
            aloop.call_soon_threadsafe(out.append, i)
        aloop.call_soon_threadsafe(done.set_result, None)

    t = threading.Thread(target=worker)
    t.start()
    aloop.run_until_complete(done)
    t.join()
    assert out == list(range(200))


def test_debug_mode_reports_a_slow_callback(aloop: uvffi.aio.Loop, caplog: pytest.LogCaptureFixture) -> None:
    import time

    aloop.set_debug(True)
    aloop.slow_callback_duration = 0.001

    def slow() -> None:
        time.sleep(0.01)

    aloop.call_soon(slow)
    aloop.call_soon(aloop.stop)
    with caplog.at_level("WARNING", logger="asyncio"):
        aloop.run_forever()
    assert any("slow" in r.getMessage() and "took" in r.getMessage() for r in caplog.records)


def test_run_passes_debug_to_the_loop() -> None:
    async def main() -> bool:
        return asyncio.get_running_loop().get_debug()

    assert uvffi.aio.run(main(), debug=True) is True


def test_time_is_monotonic_seconds(aloop: uvffi.aio.Loop) -> None:
    import time

    before = time.monotonic()
    t = aloop.time()
    after = time.monotonic()
    assert before <= t <= after


def test_raw_uvffi_handles_made_by_the_user_are_closed_with_an_owned_loop(aloop: uvffi.aio.Loop) -> None:
    timer = uvffi.Timer(aloop.uv_loop)
    timer.start(lambda t: None, 10.0, 0)
    aloop.close()
    assert timer.closed


def test_uv_loop_handles_lists_no_internal_handle(aloop: uvffi.aio.Loop) -> None:
    import socket

    a, b = socket.socketpair()
    try:
        aloop.add_reader(a, lambda: None)
        aloop.run_until_complete(asyncio.sleep(0.001))
        assert aloop.uv_loop.handles == []
        aloop.remove_reader(a)
    finally:
        a.close()
        b.close()


def test_loop_refuses_a_closed_uv_loop_without_an_unclosed_loop_warning() -> None:
    uv = uvffi.Loop()
    uv.close()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        with pytest.raises(RuntimeError):
            uvffi.aio.Loop(uv)
        gc.collect()
    assert not [w for w in caught if issubclass(w.category, ResourceWarning)]


def test_a_timer_added_during_a_wait_for_a_later_timer_fires_first(aloop: uvffi.aio.Loop) -> None:
    # The loop waits with its libuv timer armed for the 30 s timer; the earlier timer a
    # thread adds must re-arm it (a timer left armed for the first deadline would make
    # the test time out).
    out: List[str] = []
    aloop.call_later(30.0, out.append, "late")

    def add_early() -> None:
        aloop.call_later(0.01, out.append, "early")
        aloop.call_later(0.02, aloop.stop)

    threading.Timer(0.05, aloop.call_soon_threadsafe, (add_early,)).start()
    aloop.run_forever()
    assert out == ["early"]


def test_run_forever_sets_the_previous_signal_wakeup_fd_back(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    b.setblocking(False)
    previous = signal.set_wakeup_fd(b.fileno())
    try:
        aloop.run_until_complete(asyncio.sleep(0.01))
        assert signal.set_wakeup_fd(previous) == b.fileno()
    finally:
        a.close()
        b.close()


def test_run_forever_keeps_a_signal_wakeup_fd_set_during_the_run(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    b.setblocking(False)

    async def main() -> None:
        signal.set_wakeup_fd(b.fileno())

    previous = signal.set_wakeup_fd(-1)
    try:
        aloop.run_until_complete(main())
        assert signal.set_wakeup_fd(previous) == b.fileno()  # not the -1 from before the run
    finally:
        a.close()
        b.close()


def test_a_referenced_uvffi_check_runs_while_callbacks_are_always_ready(aloop: uvffi.aio.Loop) -> None:
    # Iterations with ready callbacks poll libuv without waiting, and skip that only when
    # nothing of libuv's is active: an active Check must keep every iteration's poll.
    checks: List[int] = []
    check = uvffi.Check(aloop.uv_loop)
    check.start(lambda c: checks.append(1))
    left = [200]
    seen: List[int] = []

    def chain() -> None:
        left[0] -= 1
        if left[0]:
            aloop.call_soon(chain)
        else:
            seen.append(len(checks))
            aloop.stop()

    aloop.call_soon(chain)
    aloop.run_forever()
    check.close()
    assert seen[0] >= 150  # one Check callback per iteration (the chain never lets the loop block)


def test_a_socket_is_read_while_callbacks_are_always_ready(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    a.setblocking(False)
    got: List[bytes] = []
    aloop.add_reader(a, lambda: got.append(a.recv(16)))
    b.send(b"x")
    left = [200]

    def chain() -> None:
        left[0] -= 1
        if left[0] and not got:
            aloop.call_soon(chain)
        else:
            aloop.stop()

    aloop.call_soon(chain)
    try:
        aloop.run_forever()
        assert got == [b"x"] and left[0] > 0  # read during the chain, not after it
    finally:
        aloop.remove_reader(a)
        a.close()
        b.close()


def test_timers_with_the_same_deadline_run_in_the_order_scheduled(aloop: uvffi.aio.Loop) -> None:
    # On PyPy too: scheduled one after the other, they are in the loop's deque of timers
    # in deadline order, which keeps their order.
    out: List[int] = []
    when = aloop.time() + 0.01
    for i in range(50):
        aloop.call_at(when, out.append, i)
    aloop.call_at(when + 0.01, aloop.stop)
    aloop.run_forever()
    assert out == list(range(50))


def test_timers_scheduled_in_any_order_run_in_deadline_order(aloop: uvffi.aio.Loop) -> None:
    # Deadlines in a shuffled order, some equal: those that come after a later one go to the
    # heap, the others to the deque; the two are merged by deadline (ties: see below).
    # Some are cancelled (a deque emptied that way starts again with the heap's first).
    rng = random.Random(15)
    now = aloop.time()
    offsets = [rng.randrange(40) * 0.0005 for _ in range(400)]
    out: List[int] = []
    timers = [aloop.call_at(now + offset, out.append, i) for i, offset in enumerate(offsets)]
    cancelled = set(rng.sample(range(400), 60))
    for i in cancelled:
        timers[i].cancel()
    aloop.call_at(now + 0.03, aloop.stop)
    aloop.run_forever()
    kept = [i for i in range(400) if i not in cancelled]
    assert [offsets[i] for i in out] == sorted(offsets[i] for i in kept)
    if sys.implementation.name != "pypy":  # equal deadlines in the order scheduled
        assert out == sorted(kept, key=lambda i: offsets[i])


@pytest.mark.skipif(sys.implementation.name == "pypy",
                    reason="on PyPy a tie between the deque's and the heap's first timers goes to the deque's")
def test_equal_deadlines_in_the_heap_and_the_deque_run_in_the_order_scheduled(aloop: uvffi.aio.Loop) -> None:
    out: List[str] = []
    now = aloop.time()
    later = aloop.call_at(now + 0.05, out.append, "later")  # the deque's first
    aloop.call_at(now + 0.01, out.append, "first")  # before the deque's last: the heap
    aloop.call_at(now + 0.02, out.append, "heap")  # the heap too
    later.cancel()
    aloop.call_soon(aloop.stop)
    aloop.run_forever()  # the cancelled timer leaves; the deque starts again with the heap's first
    aloop.call_at(now + 0.02, out.append, "deque")  # after "first": the deque; scheduled after "heap"
    aloop.call_at(now + 0.03, aloop.stop)
    aloop.run_forever()
    assert out == ["first", "heap", "deque"]


def test_timers_left_after_most_of_many_are_cancelled_run_in_deadline_order(aloop: uvffi.aio.Loop) -> None:
    # More than half of over 100 timers cancelled: the loop rebuilds its timer heap
    # without them (asyncio's rule); the others still run, in the order of their deadlines.
    out: List[int] = []
    now = aloop.time()
    timers = [aloop.call_at(now + 0.001 * (300 - i), out.append, i) for i in range(300)]
    for i, timer in enumerate(timers):
        if i % 4:
            timer.cancel()
    aloop.call_at(now + 0.4, aloop.stop)
    aloop.run_forever()
    assert out == sorted(range(0, 300, 4), reverse=True)
    assert all(t.cancelled() for i, t in enumerate(timers) if i % 4)


def test_timers_left_after_most_of_many_in_deadline_order_are_cancelled_run_in_order(
        aloop: uvffi.aio.Loop) -> None:
    # The same with increasing deadlines: the timers are in the deque, rebuilt without the
    # cancelled ones.
    out: List[int] = []
    now = aloop.time()
    timers = [aloop.call_at(now + 0.001 * i, out.append, i) for i in range(300)]
    for i, timer in enumerate(timers):
        if i % 4:
            timer.cancel()
    aloop.call_at(now + 0.4, aloop.stop)
    aloop.run_forever()
    assert out == list(range(0, 300, 4))
    assert all(t.cancelled() for i, t in enumerate(timers) if i % 4)


def test_a_timer_cancelled_by_an_earlier_timer_of_the_same_iteration_never_runs(aloop: uvffi.aio.Loop) -> None:
    out: List[str] = []
    when = aloop.time() + 0.01
    aloop.call_at(when, lambda: second.cancel())
    second = aloop.call_at(when, out.append, "second")
    aloop.call_at(when + 0.01, aloop.stop)
    aloop.run_forever()
    assert out == []


@pytest.mark.skipif(sys.implementation.name == "pypy",
                    reason="PyPy has no reference counting: every object waits for its collector")
@pytest.mark.parametrize("owned", [True, False], ids=["own-uv-loop", "given-uv-loop"])
def test_a_closed_loop_is_freed_with_its_last_reference_without_a_collection(owned: bool) -> None:
    # As asyncio's own closed loop, it is in no reference cycle: code that drops it and
    # checks a weak reference (anyio's test_asyncio_run_does_not_leak_event_loop, whose
    # worker thread may let go of the loop after that test's gc.collect()) sees it gone.
    uv = None if owned else uvffi.Loop()
    loop = uvffi.aio.Loop(uv)
    a, b = socket.socketpair()

    async def main() -> None:
        running = asyncio.get_running_loop()
        got = running.create_future()
        running.add_reader(a, lambda: got.set_result(a.recv(1)))
        threading.Thread(target=running.call_soon_threadsafe, args=(b.send, b"x")).start()
        await got
        running.remove_reader(a)
        await asyncio.sleep(0.001)
        await running.run_in_executor(None, int)

    gc.disable()
    try:
        loop.run_until_complete(main())
        loop.run_until_complete(loop.shutdown_default_executor())
        loop.close()
        ref = weakref.ref(loop)
        del loop
        assert ref() is None
    finally:
        gc.enable()
        a.close()
        b.close()
        if uv is not None:
            uv.close()


def test_call_at_refuses_none_and_a_closed_loop() -> None:
    loop = uvffi.aio.new_event_loop()
    with pytest.raises(TypeError):
        loop.call_at(None, print)  # type: ignore[arg-type]
    loop.close()
    with pytest.raises(RuntimeError):
        loop.call_at(loop.time(), print)


def test_a_subclass_clock_is_the_one_the_loop_waits_by() -> None:
    # time() shifted 1000 s ahead: a loop reading time.monotonic() directly would wait
    # 1000 s for call_later(0.01) (the thread's stop then ends the test, and it fails).
    class Shifted(uvffi.aio.Loop):
        def time(self) -> float:
            return super().time() + 1000.0

    loop = Shifted()
    out: List[str] = []
    try:
        loop.call_later(0.01, out.append, "fired")
        loop.call_later(0.02, loop.stop)
        guard = threading.Timer(10.0, loop.call_soon_threadsafe, (loop.stop,))
        guard.start()
        loop.run_forever()
        guard.cancel()
    finally:
        loop.close()
    assert out == ["fired"]


def test_running_the_uv_loop_from_its_own_callback_raises_while_asyncio_runs(aloop: uvffi.aio.Loop) -> None:
    errors: List[BaseException] = []

    def cb(handle: uvffi.Check) -> None:
        handle.stop()
        try:
            aloop.uv_loop.run(uvffi.RUN_NOWAIT)
        except RuntimeError as exc:
            errors.append(exc)

    check = uvffi.Check(aloop.uv_loop)
    check.start(cb)
    aloop.run_until_complete(asyncio.sleep(0.01))
    check.close()
    assert len(errors) == 1 and "already running" in str(errors[0])


def test_a_keyboard_interrupt_in_a_raw_uvffi_callback_stops_run_until_complete(aloop: uvffi.aio.Loop) -> None:
    def cb(handle: uvffi.Timer) -> None:
        raise KeyboardInterrupt

    timer = uvffi.Timer(aloop.uv_loop)
    timer.start(cb, 0.01, 0.0)
    with pytest.raises(KeyboardInterrupt):
        aloop.run_until_complete(asyncio.sleep(5))
    timer.close()
    # the loop is usable after it
    assert aloop.run_until_complete(asyncio.sleep(0, "again")) == "again"


def test_a_clock_set_on_the_instance_is_the_one_call_later_and_the_wait_use() -> None:
    loop = uvffi.aio.new_event_loop()
    plain = loop.time
    loop.time = lambda: plain() + 1000.0  # type: ignore[method-assign]
    out: List[str] = []
    try:
        timer = loop.call_later(0.01, out.append, "fired")
        assert timer.when() > plain() + 999.0
        loop.call_later(0.02, loop.stop)
        guard = threading.Timer(10.0, loop.call_soon_threadsafe, (loop.stop,))
        guard.start()
        loop.run_forever()
        guard.cancel()
    finally:
        loop.close()
    assert out == ["fired"]


def test_a_timer_kept_armed_across_a_slow_callback_is_not_late_by_the_callbacks_time() -> None:
    # The wait for a timer is cut short by I/O, then a callback blocks the loop for 0.4 s:
    # the next wait must count from the end of that callback, not from before it (libuv
    # computes a run's wait from the clock it read at the end of the previous run).
    async def main() -> float:
        loop = asyncio.get_running_loop()
        fired: "asyncio.Future[float]" = loop.create_future()
        timer = loop.call_later(0.6, lambda: fired.set_result(loop.time()))
        r, w = socket.socketpair()
        woke: "asyncio.Future[None]" = loop.create_future()

        def on_readable() -> None:
            r.recv(1)
            loop.remove_reader(r)
            woke.set_result(None)

        loop.add_reader(r, on_readable)
        threading.Timer(0.05, w.send, (b"x",)).start()
        await woke
        time.sleep(0.4)
        at = await fired
        r.close()
        w.close()
        return at - timer.when()

    late = uvffi.aio.run(main())
    assert late < 0.2, late  # 0.4 s late when the timer's wait counted from before the callback



# -- the iteration (in C on CPython: AioLoopOps._run_once, _c/aio_ops.c) -----------------------

def test_the_iteration_is_the_c_one_on_cpython_and_the_python_one_elsewhere() -> None:
    from uvffi._core import CBASE

    names = [cls.__name__ for cls in uvffi.aio.Loop.__mro__]
    assert ("AioLoopOps" in names) == CBASE


def test_keyboard_interrupt_in_a_ready_callback_leaves_the_callbacks_after_it_queued(aloop: uvffi.aio.Loop) -> None:
    ran: List[str] = []

    def interrupt() -> None:
        ran.append("interrupt")
        raise KeyboardInterrupt

    aloop.call_soon(ran.append, "a")
    aloop.call_soon(interrupt)
    aloop.call_soon(ran.append, "c")
    with pytest.raises(KeyboardInterrupt):
        aloop.run_forever()
    assert ran == ["a", "interrupt"]
    assert len(aloop._ready) == 1  # "c" waits for the next iteration, as in asyncio
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    assert ran == ["a", "interrupt", "c"]


def test_a_cancelled_first_timer_leaves_the_timers_unscheduled_and_uncounted(aloop: uvffi.aio.Loop) -> None:
    first = aloop.call_later(3600, lambda: None)
    second = aloop.call_later(7200, lambda: None)
    first.cancel()
    assert aloop._timer_cancelled_count == 1
    aloop.call_soon(aloop.stop)
    aloop.run_forever()
    assert aloop._timer_cancelled_count == 0
    assert first._scheduled is False and second._scheduled is True
    timers = [*aloop._timer_fifo, *aloop._timer_heap]
    assert [entry[2] if isinstance(entry, tuple) else entry for entry in timers] == [second]


def test_a_due_timer_runs_in_the_iteration_that_finds_it_due_before_later_ready_callbacks(
        aloop: uvffi.aio.Loop) -> None:
    order: List[str] = []

    def due() -> None:
        order.append("timer")
        aloop.call_soon(order.append, "soon from timer")
        aloop.call_soon(aloop.stop)

    timer = aloop.call_at(aloop.time() - 1, due)  # already due
    aloop.run_forever()
    assert order == ["timer", "soon from timer"]
    assert timer._scheduled is False and not aloop._timer_heap and not aloop._timer_fifo


def test_a_loop_subclass_with_its_own_getattribute_sees_the_iterations_reads() -> None:
    seen = set()

    class Watched(uvffi.aio.Loop):
        def __getattribute__(self, name: str) -> Any:
            seen.add(name)
            return super().__getattribute__(name)

    loop = Watched()
    try:
        loop.call_soon(loop.stop)
        seen.clear()
        loop.run_forever()
        read = set(seen)
    finally:
        loop.close()
    assert {"_waker_unref", "_uv_entry", "_timer_fifo"} <= read  # names only the iteration reads


def test_timers_scheduled_out_of_order_during_libuvs_run_fire_in_deadline_order(aloop: uvffi.aio.Loop) -> None:
    order: List[str] = []
    aloop.call_later(0.15, order.append, "c")  # in the deque before the run

    def in_libuv(timer: uvffi.Timer) -> None:  # a raw handle's callback: inside libuv's run
        timer.close()
        aloop.call_later(0.05, order.append, "b")
        aloop.call_later(0.0, order.append, "a")  # earlier than the deque's tail: the heap
        aloop.call_later(0.3, aloop.stop)

    uvffi.Timer(aloop.uv_loop).start(in_libuv, 0.0, 0)
    aloop.run_forever()
    assert order == ["a", "b", "c"]
    assert not aloop._timer_heap and not aloop._timer_fifo
