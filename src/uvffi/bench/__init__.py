"""``python -m uvffi.bench``: the cost of a hop from libuv into Python, side by side.

Every workload runs for uvffi and asyncio, and for pyuv, uvloop and gevent when they
import. Repeats are interleaved (repeat 1 of every implementation, then repeat 2, ...)
so that a noisy machine hurts all of them alike; each cell is the median (and best)
of the repeats in nanoseconds per operation, and each row carries uvffi's ratio to
every peer (below 1.0: uvffi is faster).

Usage::

    python -m uvffi.bench [--quick] [--json] [--repeats N] [--only WORKLOAD,...]

A progress line goes to stderr; the table (or JSON with ``--json``) to stdout.
"""

from __future__ import annotations

import argparse
import collections
import gc
import importlib
import json
import platform
import statistics
import sys
import threading
import time
from typing import Any, Callable

__all__ = ["IMPLEMENTATIONS", "WORKLOADS", "available", "main", "run"]

Measure = Callable[[Any, int], float]  # (module, n) -> seconds for n operations

# --------------------------------------------------------------------------
# pyuv-API implementations (uvffi and pyuv share every workload's code)
# --------------------------------------------------------------------------


def _uv_check_fanout(uv: Any, n: int) -> float:
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


def _uv_check_dispatch(uv: Any, n: int) -> float:
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


def _uv_timer_oneshot(uv: Any, n: int) -> float:
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


def _uv_timer_repeat(uv: Any, n: int) -> float:
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


def _uv_run_nowait(uv: Any, n: int) -> float:
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


def _uv_async_pingpong(uv: Any, n: int) -> float:
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


def _threadsafe_caller(uv: Any, loop: Any) -> tuple[Callable[[Callable[[], Any]], Any], Callable[[], Any]]:
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


def _uv_threadsafe_pingpong(uv: Any, n: int) -> float:
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

    calls["a"], calls["close_a"] = _threadsafe_caller(uv, loop_a)

    def thread_b() -> None:
        calls["b"], calls["close_b"] = _threadsafe_caller(uv, loop_b)
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


def _uv_queue_work(uv: Any, n: int) -> float:
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


def _aio_check_fanout(new_loop: Callable[[], Any], n: int) -> float:
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


def _aio_check_dispatch(new_loop: Callable[[], Any], n: int) -> float:
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


def _aio_timer_oneshot(new_loop: Callable[[], Any], n: int) -> float:
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


def _aio_timer_repeat(new_loop: Callable[[], Any], n: int) -> float:
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


def _aio_async_pingpong(new_loop: Callable[[], Any], n: int) -> float:
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


def _aio_queue_work(new_loop: Callable[[], Any], n: int) -> float:
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


def _gev_check_fanout(gl: Any, n: int) -> float:
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


def _gev_check_dispatch(gl: Any, n: int) -> float:
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


def _gev_timer_oneshot(gl: Any, n: int) -> float:
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


def _gev_timer_repeat(gl: Any, n: int) -> float:
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


def _gev_run_nowait(gl: Any, n: int) -> float:
    loop = _gev_loop(gl)
    run = loop.run
    t0 = time.perf_counter()
    for _ in range(n):
        run(nowait=True)
    dt = time.perf_counter() - t0
    loop.destroy()
    return dt


def _gev_async_pingpong(gl: Any, n: int) -> float:
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
# The registry
# --------------------------------------------------------------------------

# workload name -> (description, n, quick n)
WORKLOADS: dict[str, tuple[str, int, int]] = {
    "check_fanout": ("100 Check handles, per callback", 200_000, 2_000),
    "check_dispatch": ("one Idle, per loop iteration", 100_000, 1_000),
    "timer_oneshot": ("create+start+fire+close one-shot timers, N=20,000", 20_000, 500),
    "timer_repeat": ("100 repeating 1 ms timers, CPU per callback", 20_000, 400),
    "idle_loop_iteration": ("run(NOWAIT) from Python", 100_000, 1_000),
    "async_pingpong": ("Async ping-pong between two threads, per round trip", 2_000, 50),
    "threadsafe_pingpong": ("call_soon_threadsafe ping-pong between two threads, per round trip", 2_000, 50),
    "queue_work": ("queue_work no-op items, one after the other", 2_000, 50),
}

# implementation name -> module to import
IMPLEMENTATIONS: dict[str, str] = {
    "uvffi": "uvffi",
    "pyuv": "pyuv",
    "asyncio": "asyncio",
    "uvloop": "uvloop",
    "gevent": "gevent.libuv.loop",
}

_UV = {
    "check_fanout": _uv_check_fanout,
    "check_dispatch": _uv_check_dispatch,
    "timer_oneshot": _uv_timer_oneshot,
    "timer_repeat": _uv_timer_repeat,
    "idle_loop_iteration": _uv_run_nowait,
    "async_pingpong": _uv_async_pingpong,
    "threadsafe_pingpong": _uv_threadsafe_pingpong,
    "queue_work": _uv_queue_work,
}
_AIO = {
    "check_fanout": _aio_check_fanout,
    "check_dispatch": _aio_check_dispatch,
    "timer_oneshot": _aio_timer_oneshot,
    "timer_repeat": _aio_timer_repeat,
    "async_pingpong": _aio_async_pingpong,
    "threadsafe_pingpong": _aio_async_pingpong,  # asyncio's hand-off is call_soon_threadsafe
    "queue_work": _aio_queue_work,
}
_GEV = {
    "check_fanout": _gev_check_fanout,
    "check_dispatch": _gev_check_dispatch,
    "timer_oneshot": _gev_timer_oneshot,
    "timer_repeat": _gev_timer_repeat,
    "idle_loop_iteration": _gev_run_nowait,
    "async_pingpong": _gev_async_pingpong,
}


def available() -> dict[str, str | None]:
    """Each implementation's version, or None when it does not import."""
    out: dict[str, str | None] = {}
    for name, modname in IMPLEMENTATIONS.items():
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - any failure means "not available"
            out[name] = None
            continue
        if name == "asyncio":
            out[name] = platform.python_version()
        elif name == "gevent":
            out[name] = getattr(importlib.import_module("gevent"), "__version__", "?")
        else:
            out[name] = str(getattr(mod, "__version__", "?"))
    return out


def _measure_fn(impl: str, workload: str) -> Callable[[int], float] | None:
    """A function n -> seconds for (impl, workload), or None if the pair does not apply."""
    if impl in ("uvffi", "pyuv"):
        fn = _UV.get(workload)
        if fn is None:
            return None
        mod = importlib.import_module(IMPLEMENTATIONS[impl])
        return lambda n: fn(mod, n)
    if impl in ("asyncio", "uvloop"):
        afn = _AIO.get(workload)
        if afn is None:
            return None
        if impl == "asyncio":
            import asyncio

            new_loop: Callable[[], Any] = asyncio.new_event_loop
        else:
            new_loop = importlib.import_module("uvloop").new_event_loop
        return lambda n: afn(new_loop, n)
    if impl == "gevent":
        gfn = _GEV.get(workload)
        if gfn is None:
            return None
        gl = importlib.import_module(IMPLEMENTATIONS[impl])
        return lambda n: gfn(gl, n)
    return None


def run(quick: bool = False, repeats: int | None = None, only: list[str] | None = None,
        impls: list[str] | None = None, progress: bool = True) -> dict[str, Any]:
    """Run the benchmark; returns the JSON-able result (see ``--json``)."""
    versions = available()
    names = [i for i in IMPLEMENTATIONS if versions[i] is not None and (impls is None or i in impls)]
    workloads = [w for w in WORKLOADS if only is None or w in only]
    if repeats is None:
        repeats = 1 if quick else 5
    fns: dict[tuple[str, str], Callable[[int], float]] = {}
    for w in workloads:
        for i in names:
            fn = _measure_fn(i, w)
            if fn is not None:
                fns[(w, i)] = fn
    samples: dict[tuple[str, str], list[float]] = {k: [] for k in fns}
    total = repeats * len(fns)
    done = 0
    started = time.perf_counter()
    for rep in range(repeats):
        for (w, i), fn in fns.items():
            n = WORKLOADS[w][2] if quick else WORKLOADS[w][1]
            if progress:
                sys.stderr.write(f"\r[{done + 1}/{total}] repeat {rep + 1}/{repeats} {w:<20} {i:<8}"
                                 f" {time.perf_counter() - started:6.1f}s ")
                sys.stderr.flush()
            if rep == 0:
                fn(max(1, n // 10))  # warm-up
            gc.collect()
            gc.disable()
            try:
                seconds = fn(n)
            finally:
                gc.enable()
            samples[(w, i)].append(seconds * 1e9 / n)
            done += 1
    if progress:
        sys.stderr.write(f"\rdone: {total} measurements in {time.perf_counter() - started:.1f}s"
                         + " " * 30 + "\n")
    results = []
    for w in workloads:
        row: dict[str, Any] = {"workload": w, "description": WORKLOADS[w][0], "unit": "ns/op",
                               "n": WORKLOADS[w][2] if quick else WORKLOADS[w][1], "impls": {}, "ratios": {}}
        for i in names:
            s = samples.get((w, i))
            if s:
                row["impls"][i] = {"median": statistics.median(s), "best": min(s), "samples": s}
        base = row["impls"].get("uvffi")
        if base is not None:
            for i, v in row["impls"].items():
                if i != "uvffi":
                    row["ratios"][i] = base["median"] / v["median"]
        results.append(row)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "repeats": repeats,
        "quick": quick,
        "versions": versions,
        "seconds": time.perf_counter() - started,
        "results": results,
    }


def _fmt(ns: float) -> str:
    if ns >= 10_000:
        return f"{ns / 1000:,.1f} µs"
    return f"{ns:,.0f}"


def format_table(result: dict[str, Any]) -> str:
    """A Markdown table: median ns/op (best in parentheses), then uvffi's ratio to each peer."""
    measured = {i for row in result["results"] for i in row["impls"]}
    names = [i for i in IMPLEMENTATIONS if result["versions"].get(i) is not None and i in measured]
    peers = [i for i in names if i != "uvffi"]
    head = ["workload"] + [f"{i} median (best)" for i in names] + [f"uvffi/{p}" for p in peers]
    lines = ["| " + " | ".join(head) + " |", "|---|" + "---:|" * (len(head) - 1)]
    for row in result["results"]:
        cells = [f"{row['workload']}: {row['description']}"]
        for i in names:
            v = row["impls"].get(i)
            cells.append("n/a" if v is None else f"{_fmt(v['median'])} ({_fmt(v['best'])})")
        for p in peers:
            r = row["ratios"].get(p)
            cells.append("–" if r is None else f"{r:.2f}x")
        lines.append("| " + " | ".join(cells) + " |")
    vers = ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v is not None)
    lines.append("")
    lines.append(f"ns per operation (µs where marked), median of {result['repeats']} interleaved repeats; "
                 f"Python {result['python']} ({result['implementation']}); {vers}. "
                 "Ratios: uvffi median / peer median (below 1.00x: uvffi is faster).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m uvffi.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and one repeat (for tests)")
    ap.add_argument("--json", action="store_true", help="print JSON instead of a table")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 5, quick 1)")
    ap.add_argument("--only", default=None, help="comma-separated workloads to run")
    ap.add_argument("--impls", default=None, help="comma-separated implementations to run")
    ap.add_argument("--no-progress", action="store_true", help="no progress line on stderr")
    args = ap.parse_args(argv)
    only = None
    if args.only:
        only = [w.strip() for w in args.only.split(",") if w.strip()]
        unknown = [w for w in only if w not in WORKLOADS]
        if unknown:
            ap.error(f"unknown workload(s): {', '.join(unknown)}; known: {', '.join(WORKLOADS)}")
    impls = None
    if args.impls:
        impls = [i.strip() for i in args.impls.split(",") if i.strip()]
        if "uvffi" not in impls:
            impls.insert(0, "uvffi")
    if args.repeats is not None and args.repeats < 1:
        ap.error("--repeats must be at least 1")
    result = run(quick=args.quick, repeats=args.repeats, only=only, impls=impls, progress=not args.no_progress)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_table(result))
    return 0
