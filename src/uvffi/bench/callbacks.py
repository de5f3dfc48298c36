"""The callback rows: the cost of a hop from libuv into Python and back.

One function per workload per implementation family: ``uv_*`` (pyuv's API, run by uvffi and
pyuv), ``aio_*`` (asyncio's, run by asyncio and uvloop with their loop factory) and ``gev_*``
(gevent's libuv loop without its hub). Each takes ``(target, n)`` and returns seconds.
``scripts/callgrind_per_op.py`` runs :func:`uv_async_pingpong` and
:func:`uv_threadsafe_pingpong` under callgrind.
"""

from __future__ import annotations

import collections
import threading
import time
from typing import Any, Callable, Dict

from .harness import Workload

__all__ = ["WORKLOADS"]

# --------------------------------------------------------------------------
# pyuv-API implementations (uvffi and pyuv share every workload's code)
# --------------------------------------------------------------------------


def uv_check_fanout(uv: Any, n: int) -> float:
    """n check callbacks: 100 Check handles, an Idle keeps the loop turning."""
    loop = uv.Loop()
    fanout = 100
    rounds = max(1, n // fanout)
    checks = []

    def check_cb(h: Any) -> None:
        pass

    for _ in range(fanout):
        c = uv.Check(loop)
        c.start(check_cb)
        checks.append(c)
    left = [rounds]

    def idle_cb(h: Any) -> None:
        left[0] -= 1
        if left[0] == 0:
            h.stop()
            for c in checks:
                c.stop()

    idle = uv.Idle(loop)
    idle.start(idle_cb)
    t0 = time.perf_counter()
    loop.run()
    dt = time.perf_counter() - t0
    idle.close()
    for c in checks:
        c.close()
    loop.run()
    return dt * n / (rounds * fanout)


def uv_check_dispatch(uv: Any, n: int) -> float:
    """n loop iterations, each running one Idle callback."""
    loop = uv.Loop()
    left = [n]

    def idle_cb(h: Any) -> None:
        left[0] -= 1
        if left[0] == 0:
            h.stop()

    idle = uv.Idle(loop)
    idle.start(idle_cb)
    t0 = time.perf_counter()
    loop.run()
    dt = time.perf_counter() - t0
    idle.close()
    loop.run()
    return dt


def uv_timer_oneshot(uv: Any, n: int) -> float:
    """n one-shot timers: created and started from Python, fired, closed in the callback."""
    loop = uv.Loop()
    Timer = uv.Timer

    def cb(t: Any) -> None:
        t.close()

    t0 = time.perf_counter()
    for _ in range(n):
        Timer(loop).start(cb, 0, 0)
    loop.run()
    return time.perf_counter() - t0


def uv_timer_repeat(uv: Any, n: int) -> float:
    """n firings of 100 repeating 1 ms timers; CPU time of the loop thread (not the sleep)."""
    loop = uv.Loop()
    count = 100
    rounds = max(1, n // count)
    left = [rounds * count]
    timers: list[Any] = []

    def cb(t: Any) -> None:
        left[0] -= 1
        if left[0] <= 0:
            for x in timers:
                x.stop()

    for _ in range(count):
        t = uv.Timer(loop)
        t.start(cb, 0.001, 0.001)
        timers.append(t)
    t0 = time.thread_time()
    loop.run()
    dt = time.thread_time() - t0
    for t in timers:
        t.close()
    loop.run()
    return dt * n / (rounds * count)


def uv_run_nowait(uv: Any, n: int) -> float:
    """n calls of loop.run(RUN_NOWAIT) on a loop with one inactive handle."""
    loop = uv.Loop()
    keep = uv.Idle(loop)
    run = loop.run
    mode = uv.UV_RUN_NOWAIT
    t0 = time.perf_counter()
    for _ in range(n):
        run(mode)
    dt = time.perf_counter() - t0
    keep.close()
    loop.run()
    return dt


def uv_async_pingpong(uv: Any, n: int) -> float:
    """n round trips: loop A's Async sends to loop B's Async (other thread), which sends back."""
    loop_a, loop_b = uv.Loop(), uv.Loop()
    left = [n]
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def on_a(h: Any) -> None:
        left[0] -= 1
        if left[0] == 0:
            h.close()
        holder["b"].send()

    def on_b(h: Any) -> None:
        if left[0] == 0:
            h.close()  # each loop closes its own handle: Async.close is loop-thread only
        else:
            holder["a"].send()

    holder["a"] = uv.Async(loop_a, on_a)

    def thread_b() -> None:
        holder["b"] = uv.Async(loop_b, on_b)
        ready.set()
        loop_b.run()

    th = threading.Thread(target=thread_b)
    th.start()
    ready.wait()
    t0 = time.perf_counter()
    holder["b"].send()
    loop_a.run()
    dt = time.perf_counter() - t0
    th.join()
    return dt


def threadsafe_caller(uv: Any, loop: Any) -> tuple[Callable[[Callable[[], Any]], Any], Callable[[], Any]]:
    """(call, close) for ``loop``: ``call(fn)`` runs ``fn()`` on the loop's thread, from any thread;
    ``close()`` (loop thread) lets the loop end. uvffi: ``call_soon_threadsafe`` and an Async that
    keeps the loop alive; pyuv has no call_soon_threadsafe: an Async draining a deque, what pyuv
    programs write instead."""
    if hasattr(loop, "call_soon_threadsafe"):
        keep = uv.Async(loop, lambda h: None)  # call_soon_threadsafe's own wakeup is unref'd
        return loop.call_soon_threadsafe, keep.close
    queue: collections.deque[Callable[[], Any]] = collections.deque()

    def drain(h: Any) -> None:
        while queue:
            queue.popleft()()

    wake = uv.Async(loop, drain)

    def call(fn: Callable[[], Any]) -> None:
        queue.append(fn)
        wake.send()

    return call, wake.close


def uv_threadsafe_pingpong(uv: Any, n: int) -> float:
    """n round trips between two loops in two threads, each hop a call_soon_threadsafe."""
    loop_a, loop_b = uv.Loop(), uv.Loop()
    left = [n]
    ready = threading.Event()
    calls: dict[str, Any] = {}

    def on_a() -> None:
        left[0] -= 1
        if left[0] == 0:
            calls["b"](calls["close_b"])
            calls["close_a"]()
        else:
            calls["b"](on_b)

    def on_b() -> None:
        calls["a"](on_a)

    calls["a"], calls["close_a"] = threadsafe_caller(uv, loop_a)

    def thread_b() -> None:
        calls["b"], calls["close_b"] = threadsafe_caller(uv, loop_b)
        ready.set()
        loop_b.run()

    th = threading.Thread(target=thread_b)
    th.start()
    ready.wait()
    t0 = time.perf_counter()
    calls["b"](on_b)
    loop_a.run()
    dt = time.perf_counter() - t0
    th.join()
    return dt


def uv_queue_work(uv: Any, n: int) -> float:
    """n no-op work items, one after the other (done_cb queues the next)."""
    loop = uv.Loop()
    left = [n]

    def work() -> None:
        pass

    def done(err: Any) -> None:
        left[0] -= 1
        if left[0]:
            loop.queue_work(work, done)

    t0 = time.perf_counter()
    loop.queue_work(work, done)
    loop.run()
    return time.perf_counter() - t0


# --------------------------------------------------------------------------
# asyncio (and uvloop through the same code)
# --------------------------------------------------------------------------


def aio_check_fanout(new_loop: Callable[[], Any], n: int) -> float:
    """100 callbacks that re-schedule themselves with call_soon: one round per iteration."""
    loop = new_loop()
    fanout = 100
    rounds = max(1, n // fanout)
    left = [rounds * fanout]
    call_soon = loop.call_soon

    def cb() -> None:
        left[0] -= 1
        if left[0] > 0:
            call_soon(cb)
        elif left[0] == 0:
            loop.stop()

    for _ in range(fanout):
        call_soon(cb)
    t0 = time.perf_counter()
    loop.run_forever()
    dt = time.perf_counter() - t0
    loop.close()
    return dt * n / (rounds * fanout)


def aio_check_dispatch(new_loop: Callable[[], Any], n: int) -> float:
    """One callback re-scheduling itself: one per loop iteration."""
    loop = new_loop()
    left = [n]
    call_soon = loop.call_soon

    def cb() -> None:
        left[0] -= 1
        if left[0]:
            call_soon(cb)
        else:
            loop.stop()

    call_soon(cb)
    t0 = time.perf_counter()
    loop.run_forever()
    dt = time.perf_counter() - t0
    loop.close()
    return dt


def aio_timer_oneshot(new_loop: Callable[[], Any], n: int) -> float:
    """n call_later(0) timers, all fired."""
    loop = new_loop()
    left = [n]

    def cb() -> None:
        left[0] -= 1
        if left[0] == 0:
            loop.stop()

    call_later = loop.call_later
    t0 = time.perf_counter()
    for _ in range(n):
        call_later(0, cb)
    loop.run_forever()
    dt = time.perf_counter() - t0
    loop.close()
    return dt


def aio_timer_repeat(new_loop: Callable[[], Any], n: int) -> float:
    """100 callbacks re-armed every 1 ms with call_later; CPU time of the loop thread."""
    loop = new_loop()
    count = 100
    rounds = max(1, n // count)
    left = [rounds * count]
    call_later = loop.call_later

    def cb() -> None:
        left[0] -= 1
        if left[0] > 0:
            call_later(0.001, cb)
        elif left[0] == 0:
            loop.stop()

    for _ in range(count):
        call_later(0.001, cb)
    t0 = time.thread_time()
    loop.run_forever()
    dt = time.thread_time() - t0
    loop.close()
    return dt * n / (rounds * count)


def aio_async_pingpong(new_loop: Callable[[], Any], n: int) -> float:
    """n round trips between two loops in two threads with call_soon_threadsafe."""
    loop_a = new_loop()
    loop_b = new_loop()
    left = [n]
    ready = threading.Event()

    def on_a() -> None:
        left[0] -= 1
        if left[0] == 0:
            loop_b.call_soon_threadsafe(loop_b.stop)
            loop_a.stop()
        else:
            loop_b.call_soon_threadsafe(on_b)

    def on_b() -> None:
        loop_a.call_soon_threadsafe(on_a)

    def thread_b() -> None:
        loop_b.call_soon(ready.set)
        loop_b.run_forever()

    th = threading.Thread(target=thread_b)
    th.start()
    ready.wait()
    t0 = time.perf_counter()
    loop_b.call_soon_threadsafe(on_b)
    loop_a.run_forever()
    dt = time.perf_counter() - t0
    th.join()
    loop_a.close()
    loop_b.close()
    return dt


def aio_queue_work(new_loop: Callable[[], Any], n: int) -> float:
    """n no-op run_in_executor items, one after the other."""
    import concurrent.futures

    loop = new_loop()
    pool = concurrent.futures.ThreadPoolExecutor(4)
    left = [n]

    def work() -> None:
        pass

    def done(fut: Any) -> None:
        left[0] -= 1
        if left[0]:
            loop.run_in_executor(pool, work).add_done_callback(done)
        else:
            loop.stop()

    t0 = time.perf_counter()
    loop.run_in_executor(pool, work).add_done_callback(done)
    loop.run_forever()
    dt = time.perf_counter() - t0
    pool.shutdown()
    loop.close()
    return dt


# --------------------------------------------------------------------------
# gevent's libuv loop (cffi), used directly without the hub
# --------------------------------------------------------------------------


def _gev_loop(gl: Any) -> Any:
    return gl.loop(default=False)


def gev_check_fanout(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)
    fanout = 100
    rounds = max(1, n // fanout)
    checks = []

    def check_cb() -> None:
        pass

    for _ in range(fanout):
        c = loop.check()
        c.start(check_cb)
        checks.append(c)
    left = [rounds]
    idle = loop.idle()

    def idle_cb() -> None:
        left[0] -= 1
        if left[0] == 0:
            idle.stop()
            for c in checks:
                c.stop()

    idle.start(idle_cb)
    t0 = time.perf_counter()
    loop.run()
    dt = time.perf_counter() - t0
    for c in checks:
        c.close()
    idle.close()
    loop.destroy()
    return dt * n / (rounds * fanout)


def gev_check_dispatch(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)
    left = [n]
    idle = loop.idle()

    def idle_cb() -> None:
        left[0] -= 1
        if left[0] == 0:
            idle.stop()

    idle.start(idle_cb)
    t0 = time.perf_counter()
    loop.run()
    dt = time.perf_counter() - t0
    idle.close()
    loop.destroy()
    return dt


def gev_timer_oneshot(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)

    def cb(t: Any) -> None:
        t.close()

    timer = loop.timer
    t0 = time.perf_counter()
    for _ in range(n):
        t = timer(0.0)
        t.start(cb, t)
    loop.run()
    dt = time.perf_counter() - t0
    loop.destroy()
    return dt


def gev_timer_repeat(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)
    count = 100
    rounds = max(1, n // count)
    left = [rounds * count]
    timers: list[Any] = []

    def cb() -> None:
        left[0] -= 1
        if left[0] <= 0:
            for x in timers:
                x.stop()

    for _ in range(count):
        t = loop.timer(0.001, 0.001)
        t.start(cb)
        timers.append(t)
    t0 = time.thread_time()
    loop.run()
    dt = time.thread_time() - t0
    for t in timers:
        t.close()
    loop.destroy()
    return dt * n / (rounds * count)


def gev_run_nowait(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)
    run = loop.run
    t0 = time.perf_counter()
    for _ in range(n):
        run(nowait=True)
    dt = time.perf_counter() - t0
    loop.destroy()
    return dt


def gev_async_pingpong(gl: Any, n: int) -> float:
    loop_a = _gev_loop(gl)
    left = [n]
    ready = threading.Event()
    holder: dict[str, Any] = {}

    def on_a() -> None:
        left[0] -= 1
        if left[0] == 0:
            holder["a"].close()
        holder["b"].send()

    def on_b() -> None:
        if left[0] == 0:
            holder["b"].close()
        else:
            holder["a"].send()

    a = holder["a"] = loop_a.async_()
    a.start(on_a)

    def thread_b() -> None:
        loop_b = _gev_loop(gl)
        b = holder["b"] = loop_b.async_()
        b.start(on_b)
        ready.set()
        loop_b.run()
        loop_b.destroy()

    th = threading.Thread(target=thread_b)
    th.start()
    ready.wait()
    t0 = time.perf_counter()
    holder["b"].send()
    loop_a.run()
    dt = time.perf_counter() - t0
    th.join()
    loop_a.destroy()
    return dt


# --------------------------------------------------------------------------
# The rows
# --------------------------------------------------------------------------

WORKLOADS: Dict[str, Workload] = {w.name: w for w in [
    Workload("check_fanout", "100 Check handles, per callback", 200_000, 2_000, "callbacks",
             uv=uv_check_fanout, aio=aio_check_fanout, gevent=gev_check_fanout),
    Workload("check_dispatch", "one Idle, per loop iteration", 100_000, 1_000, "callbacks",
             uv=uv_check_dispatch, aio=aio_check_dispatch, gevent=gev_check_dispatch),
    Workload("timer_oneshot", "create+start+fire+close one-shot timers, N=20,000", 20_000, 500, "callbacks",
             uv=uv_timer_oneshot, aio=aio_timer_oneshot, gevent=gev_timer_oneshot),
    Workload("timer_repeat", "100 repeating 1 ms timers, CPU per callback", 20_000, 400, "callbacks",
             uv=uv_timer_repeat, aio=aio_timer_repeat, gevent=gev_timer_repeat),
    Workload("idle_loop_iteration", "run(NOWAIT) from Python", 100_000, 1_000, "callbacks",
             uv=uv_run_nowait, gevent=gev_run_nowait),
    Workload("async_pingpong", "Async ping-pong between two threads, per round trip", 2_000, 50, "callbacks",
             uv=uv_async_pingpong, aio=aio_async_pingpong, gevent=gev_async_pingpong),
    # asyncio's hand-off is call_soon_threadsafe in both rows
    Workload("threadsafe_pingpong", "call_soon_threadsafe ping-pong between two threads, per round trip",
             2_000, 50, "callbacks", uv=uv_threadsafe_pingpong, aio=aio_async_pingpong),
    Workload("queue_work", "queue_work no-op items, one after the other", 2_000, 50, "callbacks",
             uv=uv_queue_work, aio=aio_queue_work),
]}
