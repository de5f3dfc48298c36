"""The ``aio`` rows: asyncio's API on three loops, uvffi's column being :mod:`uvffi.aio`
(``uvffi_aio`` rows: uvffi's column runs the same asyncio code as asyncio's and uvloop's).

The scheduling rows reuse the callback rows' asyncio functions (a call_soon chain, one-shot
call_later timers, call_soon_threadsafe ping-pong); ``aio_sock_pingpong`` measures the
``sock_*`` coroutines, which uvffi.aio builds on fd watching (:class:`uvffi.Poll`).

The echo rows (``aio_tcp_echo_1k`` ...) run the very functions of the I/O rows' asyncio and
uvloop columns (:mod:`uvffi.bench.io`), so the io row ``tcp_echo_1k`` compares uvffi's pyuv
API with asyncio and uvloop, and ``aio_tcp_echo_1k`` compares :mod:`uvffi.aio` with them on
the same code; ``aio_stream_echo_*`` is that echo written with asyncio's streams
(``start_server``, ``open_connection``, ``readexactly``, ``drain``).
"""

from __future__ import annotations

import asyncio
import socket
import time
from typing import Any, Callable, Dict

from .callbacks import aio_async_pingpong, aio_check_dispatch, aio_timer_oneshot
from .harness import Workload
from .io import KiB, _aio_run, aio_tcp_echo_1k, aio_tcp_echo_64k, aio_udp_pingpong, aio_unix_echo_1k

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


async def _aio_stream_echo_main(loop: Any, n: int, size: int) -> float:
    """One client and one server coroutine over asyncio streams: the client writes ``size``
    bytes, drains, and reads the echo with ``readexactly``; seconds for ``n`` round trips."""

    async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                data = await reader.read(size)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(serve, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    payload = b"x" * size
    t0 = time.perf_counter()
    for _ in range(n):
        writer.write(payload)
        await writer.drain()
        await reader.readexactly(size)
    dt = time.perf_counter() - t0
    writer.close()
    await writer.wait_closed()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)
    return dt


def aio_stream_echo_1k(new_loop: Callable[[], Any], n: int) -> float:
    """TCP echo of 1 KiB over asyncio streams."""
    return _aio_run(new_loop, lambda loop: _aio_stream_echo_main(loop, n, KiB))


def aio_stream_echo_64k(new_loop: Callable[[], Any], n: int) -> float:
    """TCP echo of 64 KiB over asyncio streams."""
    return _aio_run(new_loop, lambda loop: _aio_stream_echo_main(loop, n, 64 * KiB))


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
    Workload("aio_tcp_echo_1k", "asyncio protocols: the tcp_echo_1k row's asyncio code (TCP echo, "
             "1 KiB, one connection), per round trip", 20_000, 50, "aio", aio=aio_tcp_echo_1k, uvffi_aio=True),
    Workload("aio_tcp_echo_64k", "asyncio protocols: the tcp_echo_64k row's asyncio code (TCP echo, "
             "64 KiB), per round trip", 5_000, 20, "aio", aio=aio_tcp_echo_64k, uvffi_aio=True),
    Workload("aio_unix_echo_1k", "asyncio protocols: the unix_echo_1k row's asyncio code (unix-socket "
             "echo, 1 KiB), per round trip", 20_000, 50, "aio", aio=aio_unix_echo_1k, uvffi_aio=True),
    Workload("aio_udp_pingpong", "asyncio protocols: the udp_pingpong row's asyncio code (UDP "
             "ping-pong, 1 KiB), per round trip", 20_000, 50, "aio", aio=aio_udp_pingpong, uvffi_aio=True),
    Workload("aio_stream_echo_1k", "asyncio streams: TCP echo, 1 KiB, write + drain + readexactly "
             "against a read/write/drain server coroutine, per round trip", 10_000, 50, "aio",
             aio=aio_stream_echo_1k, uvffi_aio=True),
    Workload("aio_stream_echo_64k", "asyncio streams: the same with 64 KiB, per round trip", 2_000, 20,
             "aio", aio=aio_stream_echo_64k, uvffi_aio=True),
]}
