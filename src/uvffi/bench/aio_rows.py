"""The ``aio`` rows: asyncio's API on three loops, uvffi's column being :mod:`uvffi.aio`
(``uvffi_aio`` rows: uvffi's column runs the same asyncio code as asyncio's and uvloop's).

The scheduling rows reuse the callback rows' asyncio functions (a call_soon chain, one-shot
call_later timers, call_soon_threadsafe ping-pong); ``aio_sock_pingpong`` measures the
``sock_*`` coroutines, which uvffi.aio builds on fd watching (:class:`uvffi.Poll`).
"""

from __future__ import annotations

import socket
import time
from typing import Any, Callable, Dict

from .callbacks import aio_async_pingpong, aio_check_dispatch, aio_timer_oneshot
from .harness import Workload

__all__ = ["WORKLOADS"]


def aio_sock_pingpong(new_loop: Callable[[], Any], n: int) -> float:
    """A socketpair: ``sock_sendall`` one byte, then ``sock_recv`` it on the other end,
    one coroutine, n times (the recv finds the byte at once: no wait)."""
    loop = new_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def main() -> float:
        t0 = time.perf_counter()
        for _ in range(n):
            await loop.sock_sendall(a, b"x")
            await loop.sock_recv(b, 16)
        return time.perf_counter() - t0

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
        a.close()
        b.close()


def aio_sock_waiting_recv(new_loop: Callable[[], Any], n: int) -> float:
    """Two coroutines over a socketpair, each ``sock_recv`` waiting for the other's byte:
    every round trip goes through fd watching and a loop iteration."""
    loop = new_loop()
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)

    async def echo() -> None:
        for _ in range(n):
            data = await loop.sock_recv(b, 16)
            await loop.sock_sendall(b, data)

    async def main() -> float:
        task = loop.create_task(echo())
        t0 = time.perf_counter()
        for _ in range(n):
            await loop.sock_sendall(a, b"x")
            await loop.sock_recv(a, 16)
        dt = time.perf_counter() - t0
        await task
        return dt

    try:
        return loop.run_until_complete(main())
    finally:
        loop.close()
        a.close()
        b.close()


WORKLOADS: Dict[str, Workload] = {w.name: w for w in [
    Workload("aio_call_soon_chain", "asyncio: one callback re-scheduling itself with call_soon, per call",
             100_000, 1_000, "aio", aio=aio_check_dispatch, uvffi_aio=True),
    Workload("aio_call_later", "asyncio: call_later(0) timers, create and fire, per timer",
             20_000, 500, "aio", aio=aio_timer_oneshot, uvffi_aio=True),
    Workload("aio_threadsafe", "asyncio: call_soon_threadsafe ping-pong between two threads, "
             "per round trip", 2_000, 50, "aio", aio=aio_async_pingpong, uvffi_aio=True),
    Workload("aio_sock_pingpong", "asyncio: sock_sendall + sock_recv of one byte over a socketpair, "
             "never waiting, per round trip", 20_000, 200, "aio", aio=aio_sock_pingpong, uvffi_aio=True),
    Workload("aio_sock_echo", "asyncio: sock_recv/sock_sendall echo between two coroutines over a "
             "socketpair (each recv waits), per round trip", 10_000, 100, "aio", aio=aio_sock_waiting_recv,
             uvffi_aio=True),
]}
