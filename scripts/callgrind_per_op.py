#!/usr/bin/env python3
"""Instructions per operation under callgrind: repeatable where wall-clock timing is not.

    python3 scripts/callgrind_per_op.py [--module uvffi|pyuv] [WORKLOAD ...]

Runs each workload with N and 2N operations under ``valgrind --tool=callgrind`` and prints
``(Ir(2N) - Ir(N)) / N``: the instructions of one operation, without interpreter start-up.
The module must import with the current PYTHONPATH (for uvffi: PYTHONPATH=src). Workloads:
check (per callback, 100 Check handles), idle (per loop iteration), timer (one-shot timer
create+start+fire+close), work (``queue_work(int, done_cb)`` submitted and cancelled while a
one-thread pool is busy: submission, keep-alive and the done callback on the loop thread; work
run in the pool made the counts vary from 1,800 to 15,000 with the threads' scheduling),
nowait (``run(RUN_NOWAIT)`` from Python), async and threadsafe (a
round trip of the benchmark's Async and call_soon_threadsafe ping-pong between two threads; for
pyuv, threadsafe is an Async draining a deque: uvffi.bench must import, so PYTHONPATH=src too),
stat (a synchronous ``fs.stat``), os_stat (``os.stat``, whatever the module: the reference),
stat_async (``fs.stat`` with a callback, one after the other: the thread pool's hop included),
spawn (the benchmark's process_spawn: the parent's instructions only, callgrind does not follow
the child, and the kernel's fork and exec are not instructions it counts) and read (one 1 MiB
asynchronous ``fs.read`` of the benchmark's fs_read, buffers reused); tcp_echo_1k, tcp_echo_64k,
unix_echo_1k, udp_pingpong and stream_oneway are the benchmark's I/O rows (per round trip, per
MiB), with ``--module asyncio``, ``uvloop`` or ``uvffi.aio`` their asyncio code on that loop.
The aio rows of the benchmark (``aio_call_soon_chain``, ``aio_tcp_echo_1k``, ...: any name in
``uvffi.bench.aio_rows.WORKLOADS``) run on the event loop of ``--module``'s ``new_event_loop``:
``--module uvffi.aio``, ``asyncio`` or ``uvloop`` (PYTHONPATH=src: uvffi.bench must import).
The objects the imports made are frozen (gc.freeze) before the workload, so that a package that
imports more modules is not charged for full collections of a bigger heap.

Run it with PyPy (``.venv-pypy/bin/python scripts/callgrind_per_op.py``) for PyPy's figures: the
child first runs the workload ``--warm`` times (default 2N), so that the JIT's tracing and
compiling happen before the measured runs, and both runs pay the same warm-up.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile

PYPY = sys.implementation.name == "pypy"

WORKLOADS = {"check": 50_000, "idle": 50_000, "timer": 5_000, "work": 2_000, "nowait": 5_000,
             "async": 1_000, "threadsafe": 1_000,
             "aio_call_soon_chain": 20_000, "aio_call_later": 5_000, "aio_sock_echo": 1_000,
             "aio_tcp_echo_1k": 2_000, "aio_tcp_echo_64k": 500, "aio_unix_echo_1k": 2_000,
             "aio_udp_pingpong": 2_000, "aio_stream_echo_1k": 1_000, "aio_stream_echo_64k": 300,
             "stat": 5_000, "os_stat": 5_000, "stat_async": 2_000, "spawn": 100, "read": 32,
             "tcp_echo_1k": 2_000, "tcp_echo_64k": 500, "unix_echo_1k": 2_000, "udp_pingpong": 2_000,
             "stream_oneway": 64}

CHILD = r'''
import gc, importlib, os, sys
uv = importlib.import_module(sys.argv[1])
w, n, warm = sys.argv[2], int(sys.argv[3]), int(sys.argv[4])


def timer(n):
    loop = uv.Loop()
    def cb(t): t.close()
    for _ in range(n):
        uv.Timer(loop).start(cb, 0, 0)
    loop.run()


def work(n):  # the pool's one thread waits on `gate`: every request is cancelled, none runs
    import threading
    os.environ["UV_THREADPOOL_SIZE"] = "1"  # read when the pool starts: at the first queue_work
    loop = uv.Loop()
    gate = threading.Event()
    loop.queue_work(gate.wait)
    def done(err): pass
    def go(t):
        for r in [loop.queue_work(int, done) for _ in range(n)]:
            r.cancel()
        gate.set()
        t.close()
    uv.Timer(loop).start(go, 0, 0)
    loop.run()


def check(n):
    loop = uv.Loop()
    checks = []
    def ccb(h): pass
    for _ in range(100):
        c = uv.Check(loop); c.start(ccb); checks.append(c)
    left = [n // 100]
    def icb(h):
        left[0] -= 1
        if left[0] == 0:
            h.stop()
            for c in checks: c.stop()
    i = uv.Idle(loop); i.start(icb)
    loop.run()
    for c in checks: c.close()
    i.close()
    loop.run()


def idle(n):
    loop = uv.Loop()
    left = [n]
    def icb(h):
        left[0] -= 1
        if left[0] == 0: h.stop()
    i = uv.Idle(loop); i.start(icb)
    loop.run()
    i.close()
    loop.run()


def nowait(n):
    loop = uv.Loop()
    keep = uv.Idle(loop)
    for _ in range(n):
        loop.run(uv.UV_RUN_NOWAIT)
    keep.close()
    loop.run()


def pingpong(n):  # both threads' instructions (callgrind runs one at a time)
    from uvffi.bench import callbacks
    (callbacks.uv_async_pingpong if w == "async" else callbacks.uv_threadsafe_pingpong)(uv, n)


def aio_row(n):  # a benchmark aio row on the event loop of the module's new_event_loop
    from uvffi.bench import aio_rows
    aio_rows.WORKLOADS[w].aio(uv.new_event_loop, n)


def stat(n):
    loop = uv.Loop()
    st = uv.fs.stat
    for _ in range(n):
        st(loop, sys.executable)


def os_stat(n):
    st, p = os.stat, sys.executable
    for _ in range(n):
        st(p)


def bench_io(n):  # one of the benchmark's I/O rows (its n operations)
    from uvffi.bench import io
    if w in io.WORKLOADS and not hasattr(uv, "TCP"):  # asyncio, uvloop, uvffi.aio: the row's asyncio code
        io.WORKLOADS[w].aio(uv.new_event_loop, n)
        return
    {"stat_async": io.uv_fs_stat_async, "spawn": io.uv_process_spawn, "read": io.uv_fs_read,
     "tcp_echo_1k": io.uv_tcp_echo_1k, "tcp_echo_64k": io.uv_tcp_echo_64k,
     "unix_echo_1k": io.uv_unix_echo_1k, "udp_pingpong": io.uv_udp_pingpong,
     "stream_oneway": io.uv_stream_oneway}[w](uv, n)


run = aio_row if w.startswith("aio_") else {
    "timer": timer, "work": work, "check": check, "idle": idle, "nowait": nowait, "async": pingpong,
    "threadsafe": pingpong, "stat": stat, "os_stat": os_stat, "stat_async": bench_io, "spawn": bench_io,
    "read": bench_io, "tcp_echo_1k": bench_io, "tcp_echo_64k": bench_io, "unix_echo_1k": bench_io,
    "udp_pingpong": bench_io, "stream_oneway": bench_io}[w]
if warm:
    run(warm)  # PyPy: the JIT compiles the workload's code here, not in the measured part
gc.collect()
if hasattr(gc, "freeze"):
    # What the imports allocated goes to the permanent generation: the cyclic GC's share of an
    # operation then depends on the operation, not on how many modules the package imports.
    gc.freeze()
if w in ("async", "threadsafe", "stat_async", "spawn", "read", "tcp_echo_1k", "tcp_echo_64k", "unix_echo_1k",
         "udp_pingpong", "stream_oneway") or w.startswith("aio_"):
    gc.disable()
run(n)
'''


def instructions(module: str, workload: str, n: int, warm: int, tmp: str) -> int:
    """Total instructions (Ir) of one run of the child under callgrind."""
    out = os.path.join(tmp, f"cg.{workload}.{n}")
    proc = subprocess.run(
        ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}",
         os.path.realpath(sys.executable), "-c", CHILD, module, workload, str(n), str(warm)],
        capture_output=True, text=True, check=False)
    m = re.search(r"Collected : (\d+)", proc.stderr)
    if proc.returncode != 0 or m is None:
        raise SystemExit(f"callgrind failed for {workload} {n}:\n{proc.stderr[-2000:]}")
    return int(m.group(1))


def main() -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--module", default="uvffi",
                    help="uvffi (default) or pyuv; for the aio_* rows: uvffi.aio, asyncio or uvloop")
    ap.add_argument("--warm", type=int, default=None,
                    help="operations run before the measured ones (default: 0 on CPython, 2N on PyPy, "
                         "whose JIT then compiles the workload before it is measured)")
    ap.add_argument("workloads", nargs="*", default=list(WORKLOADS), help="any of: " + ", ".join(WORKLOADS))
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        for w in args.workloads:
            if w not in WORKLOADS:
                ap.error(f"unknown workload {w!r}")
            n = WORKLOADS[w]
            warm = args.warm if args.warm is not None else (2 * n if PYPY else 0)
            per_op = (instructions(args.module, w, 2 * n, warm, tmp) - instructions(args.module, w, n, warm, tmp)) / n
            print(f"{args.module} {w}: {per_op:,.0f} Ir/op (N={n:,})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
