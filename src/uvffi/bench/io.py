"""The I/O rows: streams, datagrams, processes, files and name resolution.

Client and server share one loop and talk over loopback (127.0.0.1, or a unix socket in a
temporary directory). Set-up (listening, connecting, creating the data file) is not timed;
the clock runs from the first write to the last reply. Every workload checks that it did
all its operations and is bounded in time: a watchdog stops it after :data:`TIMEOUT`
seconds with ``TimeoutError`` (the harness reports the cell as failed).

One function per workload per family: ``uv_*`` (pyuv's API, run by uvffi and pyuv) and
``aio_*`` (asyncio's protocols and coroutines, run by asyncio and uvloop). TCP sockets have
``TCP_NODELAY`` on every side, as asyncio and uvloop set it by default.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import socket
import tempfile
import time
from typing import Any, Callable, Dict, List, Optional

from .harness import Workload

__all__ = ["TIMEOUT", "WORKLOADS"]

TIMEOUT = 60.0
"""Seconds one measurement may take before it is abandoned."""

KiB = 1024
MiB = 1024 * 1024
FILE_CHUNK = MiB  # the file-read rows read 1 MiB per request ...
FILE_MIB = 64  # ... of a 64 MiB file (smaller when fewer MiB are asked for), read again as needed
STREAM_CHUNK = MiB  # the one-way stream writes 1 MiB per write ...
STREAM_INFLIGHT = 4  # ... with at most 4 MiB queued (asyncio: its high-water mark)

_tmp: "Optional[tempfile.TemporaryDirectory[str]]" = None
_files: Dict[int, str] = {}


def _tmpdir() -> str:
    """The run's temporary directory (unix sockets, data files); removed at exit."""
    global _tmp
    if _tmp is None:
        _tmp = tempfile.TemporaryDirectory(prefix="uvffi-bench-")
    return _tmp.name


def _data_file(mib: int) -> str:
    """A file of ``mib`` MiB, written once per run."""
    path = _files.get(mib)
    if path is None:
        path = os.path.join(_tmpdir(), f"data-{mib}.bin")
        block = b"\x5a" * MiB
        with open(path, "wb") as f:
            for _ in range(mib):
                f.write(block)
        _files[mib] = path
    return path


def _stat_file() -> str:
    return _data_file(1)


def _unix_path() -> str:
    path = os.path.join(_tmpdir(), "echo.sock")
    if os.path.exists(path):
        os.unlink(path)
    return path


def _true() -> str:
    return shutil.which("true") or "/bin/true"


def _check(done: int, expected: int, what: str) -> None:
    if done != expected:
        raise RuntimeError(f"{what}: {done} of {expected} operations completed")


# --------------------------------------------------------------------------
# pyuv-API implementations (uvffi and pyuv)
# --------------------------------------------------------------------------


class _Watchdog:
    """An unreferenced timer that stops the loop after :data:`TIMEOUT`: it does not keep
    the loop alive, but it wakes a loop that waits for I/O that never comes."""

    def __init__(self, uv: Any, loop: Any, what: str) -> None:
        self.what = what
        self.fired = False
        self.timer = uv.Timer(loop)
        self.timer.start(self._fire, TIMEOUT, 0)
        self.timer.ref = False

    def _fire(self, timer: Any) -> None:
        self.fired = True
        timer.loop.stop()

    def check(self) -> None:
        if self.fired:
            raise TimeoutError(f"{self.what}: not done after {TIMEOUT:.0f} s")

    def close(self) -> None:
        if not self.timer.closed:
            self.timer.close()


def _uv_run_until(uv: Any, loop: Any, cond: Callable[[], bool], dog: _Watchdog) -> None:
    """Run ``loop`` one iteration at a time until ``cond()`` (the untimed set-up)."""
    while not cond():
        loop.run(uv.UV_RUN_ONCE)
        dog.check()


def _uv_echo(uv: Any, n: int, size: int, conns: int, unix: bool) -> float:
    """``conns`` clients each send ``size`` bytes and wait for the whole echo, ``n`` round
    trips in all; returns the seconds from the first write to the last echo."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "echo")
    if unix:
        addr: Any = _unix_path()
        server = uv.Pipe(loop)
        server.bind(addr)
    else:
        server = uv.TCP(loop)
        server.bind(("127.0.0.1", 0))
        addr = server.getsockname()

    def new() -> Any:
        return uv.Pipe(loop) if unix else uv.TCP(loop)

    accepted: List[Any] = []

    def echo(conn: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            conn.close()
        else:
            conn.write(data)

    def on_connection(srv: Any, error: Optional[int]) -> None:
        conn = new()
        srv.accept(conn)
        if not unix:
            conn.nodelay(True)
        conn.start_read(echo)
        accepted.append(conn)

    server.listen(on_connection)
    connected: List[Any] = []

    def on_connect(client: Any, error: Optional[int]) -> None:
        if error is not None:
            raise RuntimeError(f"connect failed: {error}")
        if not unix:
            client.nodelay(True)
        connected.append(client)

    clients = [new() for _ in range(conns)]
    for c in clients:
        c.connect(addr, on_connect)
    _uv_run_until(uv, loop, lambda: len(connected) == conns and len(accepted) == conns, dog)

    rounds = max(1, n // conns)
    payload = b"x" * size
    finished = [0]
    t_end = [0.0]

    def reader() -> Callable[[Any, Optional[bytes], Optional[int]], None]:
        got = [0]
        left = [rounds]

        def on_echo(client: Any, data: Optional[bytes], error: Optional[int]) -> None:
            if data is None:
                raise RuntimeError(f"the echo server closed early: {error}")
            got[0] += len(data)
            if got[0] < size:
                return
            got[0] = 0
            left[0] -= 1
            if left[0]:
                client.write(payload)
                return
            finished[0] += 1
            if finished[0] == conns:
                t_end[0] = time.perf_counter()
                for x in clients:
                    x.close()
                server.close()
                dog.close()

        return on_echo

    for c in clients:
        c.start_read(reader())
    t0 = time.perf_counter()
    for c in clients:
        c.write(payload)
    loop.run()
    dog.check()
    _check(finished[0], conns, "echo")
    return (t_end[0] - t0) * n / (rounds * conns)


def uv_tcp_echo_1k(uv: Any, n: int) -> float:
    return _uv_echo(uv, n, KiB, 1, unix=False)


def uv_tcp_echo_64k(uv: Any, n: int) -> float:
    return _uv_echo(uv, n, 64 * KiB, 1, unix=False)


def uv_tcp_echo_10conn(uv: Any, n: int) -> float:
    return _uv_echo(uv, n, KiB, 10, unix=False)


def uv_unix_echo_1k(uv: Any, n: int) -> float:
    return _uv_echo(uv, n, KiB, 1, unix=True)


def uv_stream_oneway(uv: Any, n: int) -> float:
    """``n`` MiB from a client to a server that counts them, 1 MiB per write, at most
    :data:`STREAM_INFLIGHT` writes queued; the server reads with the default read size."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "stream_oneway")
    server = uv.TCP(loop)
    server.bind(("127.0.0.1", 0))
    total = n * STREAM_CHUNK
    got = [0]
    t_end = [0.0]
    accepted: List[Any] = []
    client = uv.TCP(loop)

    def on_read(conn: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            conn.close()
            return
        got[0] += len(data)
        if got[0] >= total:
            t_end[0] = time.perf_counter()
            conn.close()
            client.close()
            server.close()
            dog.close()

    def on_connection(srv: Any, error: Optional[int]) -> None:
        conn = uv.TCP(loop)
        srv.accept(conn)
        conn.nodelay(True)
        accepted.append(conn)

    server.listen(on_connection)
    connected: List[Any] = []

    def on_connect(c: Any, error: Optional[int]) -> None:
        if error is not None:
            raise RuntimeError(f"connect failed: {error}")
        c.nodelay(True)
        connected.append(c)

    client.connect(server.getsockname(), on_connect)
    _uv_run_until(uv, loop, lambda: bool(connected and accepted), dog)
    payload = b"x" * STREAM_CHUNK
    sent = [0]
    inflight = [0]

    def pump() -> None:
        while inflight[0] < STREAM_INFLIGHT and sent[0] < n:
            sent[0] += 1
            inflight[0] += 1
            client.write(payload, on_written)

    def on_written(c: Any, error: Optional[int]) -> None:
        inflight[0] -= 1
        if error is None:
            pump()

    accepted[0].start_read(on_read)
    t0 = time.perf_counter()
    pump()
    loop.run()
    dog.check()
    _check(got[0], total, "stream_oneway (bytes)")
    return t_end[0] - t0


def uv_udp_pingpong(uv: Any, n: int) -> float:
    """``n`` round trips of a 1 KiB datagram between two UDP sockets."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "udp_pingpong")
    a, b = uv.UDP(loop), uv.UDP(loop)
    a.bind(("127.0.0.1", 0))
    b.bind(("127.0.0.1", 0))
    addr_b = b.getsockname()
    payload = b"x" * KiB
    left = [n]
    t_end = [0.0]

    def on_b(h: Any, addr: Any, flags: int, data: Optional[bytes], error: Optional[int]) -> None:
        if error is not None:
            raise RuntimeError(f"recv failed: {error}")
        h.send(addr, data)

    def on_a(h: Any, addr: Any, flags: int, data: Optional[bytes], error: Optional[int]) -> None:
        if error is not None:
            raise RuntimeError(f"recv failed: {error}")
        left[0] -= 1
        if left[0]:
            h.send(addr_b, payload)
        else:
            t_end[0] = time.perf_counter()
            a.close()
            b.close()
            dog.close()

    b.start_recv(on_b)
    a.start_recv(on_a)
    t0 = time.perf_counter()
    a.send(addr_b, payload)
    loop.run()
    dog.check()
    _check(n - left[0], n, "udp_pingpong")
    return t_end[0] - t0


def uv_process_spawn(uv: Any, n: int) -> float:
    """``n`` children (``true``), one after the other: spawn, wait for the exit, close."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "process_spawn")
    argv = [_true()]
    left = [n]

    def on_exit(proc: Any, status: int, signal: int) -> None:
        proc.close()
        if status != 0 or signal != 0:
            raise RuntimeError(f"the child exited with {status}, signal {signal}")
        left[0] -= 1
        if left[0]:
            uv.Process.spawn(loop, argv, exit_callback=on_exit)
        else:
            dog.close()

    t0 = time.perf_counter()
    uv.Process.spawn(loop, argv, exit_callback=on_exit)
    loop.run()
    dt = time.perf_counter() - t0
    dog.check()
    _check(n - left[0], n, "process_spawn")
    return dt


def uv_fs_stat_sync(uv: Any, n: int) -> float:
    """``n`` synchronous ``fs.stat`` calls (no callback: on the calling thread)."""
    loop = uv.Loop()
    path = _stat_file()
    stat = uv.fs.stat
    t0 = time.perf_counter()
    for _ in range(n):
        stat(loop, path)
    return time.perf_counter() - t0


def uv_fs_stat_async(uv: Any, n: int) -> float:
    """``n`` asynchronous ``fs.stat`` calls (libuv's pool), each callback starting the next."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "fs_stat_async")
    path = _stat_file()
    stat = uv.fs.stat
    left = [n]

    def on_stat(req: Any) -> None:
        if req.error is not None:
            raise RuntimeError(f"stat failed: {req.error}")
        left[0] -= 1
        if left[0]:
            stat(loop, path, on_stat)
        else:
            dog.close()

    t0 = time.perf_counter()
    stat(loop, path, on_stat)
    loop.run()
    dt = time.perf_counter() - t0
    dog.check()
    _check(n - left[0], n, "fs_stat_async")
    return dt


def _file_passes(n: int) -> tuple[str, int, int]:
    """(path, size, passes) for reading ``n`` MiB: whole passes over one file."""
    mib = min(n, FILE_MIB)
    passes = max(1, n // mib)
    return _data_file(mib), mib * MiB, passes


def uv_fs_read(uv: Any, n: int) -> float:
    """``n`` MiB read asynchronously, in passes over one file (64 MiB): each pass opens it,
    reads it 1 MiB per request, one after the other, and closes it. Returns seconds per
    ``n`` MiB."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "fs_read")
    path, size, passes = _file_passes(n)
    fs = uv.fs
    got = [0]
    fd = [-1]
    left = [passes]

    def on_open(req: Any) -> None:
        if req.error is not None:
            raise RuntimeError(f"open failed: {req.error}")
        fd[0] = req.result
        got[0] = 0
        fs.read(loop, fd[0], FILE_CHUNK, 0, on_read)

    def on_read(req: Any) -> None:
        if req.error is not None:
            raise RuntimeError(f"read failed: {req.error}")
        got[0] += len(req.result)
        if got[0] < size and req.result:
            fs.read(loop, fd[0], FILE_CHUNK, got[0], on_read)
        else:
            fs.close(loop, fd[0], on_close)

    def on_close(req: Any) -> None:
        _check(got[0], size, "fs_read (bytes)")
        left[0] -= 1
        if left[0]:
            fs.open(loop, path, os.O_RDONLY, 0, on_open)
        else:
            dog.close()

    t0 = time.perf_counter()
    fs.open(loop, path, os.O_RDONLY, 0, on_open)
    loop.run()
    dt = time.perf_counter() - t0
    dog.check()
    _check(passes - left[0], passes, "fs_read (passes)")
    return dt * n / (passes * size / MiB)


def uv_getaddrinfo_numeric(uv: Any, n: int) -> float:
    """``n`` asynchronous ``dns.getaddrinfo("127.0.0.1", 80)`` (AF_INET, SOCK_STREAM), one
    after the other."""
    loop = uv.Loop()
    dog = _Watchdog(uv, loop, "getaddrinfo")
    gai = uv.dns.getaddrinfo
    left = [n]

    def on_result(result: Any, error: Optional[int]) -> None:
        if error is not None or not result:
            raise RuntimeError(f"getaddrinfo failed: {error}")
        left[0] -= 1
        if left[0]:
            gai(loop, "127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM, callback=on_result)
        else:
            dog.close()

    t0 = time.perf_counter()
    gai(loop, "127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM, callback=on_result)
    loop.run()
    dt = time.perf_counter() - t0
    dog.check()
    _check(n - left[0], n, "getaddrinfo")
    return dt


# --------------------------------------------------------------------------
# asyncio (protocols; coroutines where asyncio has no callback API), and uvloop
# --------------------------------------------------------------------------


def _aio_run(new_loop: Callable[[], Any], main: Callable[[Any], Any]) -> float:
    """Run ``main(loop)`` (a coroutine function returning seconds) on a new loop, bounded
    by :data:`TIMEOUT`; the loop's default executor is shut down and the loop closed after."""
    loop = new_loop()
    try:
        return float(loop.run_until_complete(asyncio.wait_for(main(loop), TIMEOUT)))
    finally:
        try:
            if hasattr(loop, "shutdown_default_executor"):
                loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            loop.close()


class _EchoServer(asyncio.Protocol):
    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)


async def _aio_echo_main(loop: Any, n: int, size: int, conns: int, unix: bool) -> float:
    if unix:
        path = _unix_path()
        server = await loop.create_unix_server(_EchoServer, path)
    else:
        server = await loop.create_server(_EchoServer, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
    rounds = max(1, n // conns)
    payload = b"x" * size
    done = loop.create_future()
    finished = [0]

    class Client(asyncio.Protocol):
        def __init__(self) -> None:
            self.got = 0
            self.left = rounds

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got < size:
                return
            self.got = 0
            self.left -= 1
            if self.left:
                self.transport.write(payload)
                return
            finished[0] += 1
            if finished[0] == conns:
                done.set_result(time.perf_counter())

    clients: List[Any] = []
    for _ in range(conns):
        if unix:
            tr, _ = await loop.create_unix_connection(Client, path)
        else:
            tr, _ = await loop.create_connection(Client, "127.0.0.1", port)
        clients.append(tr)
    t0 = time.perf_counter()
    for tr in clients:
        tr.write(payload)
    t_end = await done
    for tr in clients:
        tr.close()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)
    return (t_end - t0) * n / (rounds * conns)


def aio_tcp_echo_1k(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_echo_main(loop, n, KiB, 1, unix=False))


def aio_tcp_echo_64k(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_echo_main(loop, n, 64 * KiB, 1, unix=False))


def aio_tcp_echo_10conn(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_echo_main(loop, n, KiB, 10, unix=False))


def aio_unix_echo_1k(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_echo_main(loop, n, KiB, 1, unix=True))


async def _aio_oneway_main(loop: Any, n: int) -> float:
    total = n * STREAM_CHUNK
    done = loop.create_future()

    class Sink(asyncio.Protocol):
        got = 0

        def data_received(self, data: bytes) -> None:
            self.got += len(data)
            if self.got >= total and not done.done():
                done.set_result((time.perf_counter(), self.got))

    class Source(asyncio.Protocol):
        def __init__(self) -> None:
            self.sent = 0
            self.paused = False

        def connection_made(self, transport: Any) -> None:
            self.transport = transport
            transport.set_write_buffer_limits(high=STREAM_INFLIGHT * STREAM_CHUNK)

        def pump(self) -> None:
            while not self.paused and self.sent < n:
                self.sent += 1
                self.transport.write(payload)

        def pause_writing(self) -> None:
            self.paused = True

        def resume_writing(self) -> None:
            self.paused = False
            self.pump()

    payload = b"x" * STREAM_CHUNK
    server = await loop.create_server(Sink, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    tr, source = await loop.create_connection(Source, "127.0.0.1", port)
    t0 = time.perf_counter()
    source.pump()
    t_end, got = await done
    _check(got, total, "stream_oneway (bytes)")
    tr.close()
    server.close()
    await server.wait_closed()
    await asyncio.sleep(0)
    return float(t_end - t0)


def aio_stream_oneway(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_oneway_main(loop, n))


async def _aio_udp_main(loop: Any, n: int) -> float:
    payload = b"x" * KiB
    done = loop.create_future()

    class Echo(asyncio.DatagramProtocol):
        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.transport.sendto(data, addr)

    class Ping(asyncio.DatagramProtocol):
        left = n

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def datagram_received(self, data: bytes, addr: Any) -> None:
            self.left -= 1
            if self.left:
                self.transport.sendto(payload, addr_b)
            else:
                done.set_result(time.perf_counter())

    tb, _ = await loop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
    addr_b = tb.get_extra_info("sockname")
    ta, _ = await loop.create_datagram_endpoint(Ping, local_addr=("127.0.0.1", 0))
    t0 = time.perf_counter()
    ta.sendto(payload, addr_b)
    t_end = await done
    ta.close()
    tb.close()
    await asyncio.sleep(0)
    return float(t_end - t0)


def aio_udp_pingpong(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_udp_main(loop, n))


async def _aio_spawn_main(loop: Any, n: int) -> float:
    true = _true()
    dn = asyncio.subprocess.DEVNULL
    t0 = time.perf_counter()
    for _ in range(n):
        proc = await asyncio.create_subprocess_exec(true, stdin=dn, stdout=dn, stderr=dn)
        status = await proc.wait()
        if status != 0:
            raise RuntimeError(f"the child exited with {status}")
    return time.perf_counter() - t0


def aio_process_spawn(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_spawn_main(loop, n))


def aio_fs_stat_sync(new_loop: Callable[[], Any], n: int) -> float:
    """The standard library's ``os.stat``: what an asyncio program calls synchronously."""
    path = _stat_file()
    stat = os.stat
    t0 = time.perf_counter()
    for _ in range(n):
        stat(path)
    return time.perf_counter() - t0


async def _aio_stat_main(loop: Any, n: int) -> float:
    path = _stat_file()
    run = loop.run_in_executor
    stat = os.stat
    t0 = time.perf_counter()
    for _ in range(n):
        await run(None, stat, path)
    return time.perf_counter() - t0


def aio_fs_stat_async(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_stat_main(loop, n))


async def _aio_read_main(loop: Any, n: int) -> float:
    path, size, passes = _file_passes(n)
    run = loop.run_in_executor
    pread = os.pread
    t0 = time.perf_counter()
    for _ in range(passes):
        got = 0
        fd = await run(None, os.open, path, os.O_RDONLY)
        while got < size:
            data = await run(None, pread, fd, FILE_CHUNK, got)
            if not data:
                break
            got += len(data)
        await run(None, os.close, fd)
        _check(got, size, "fs_read (bytes)")
    dt = time.perf_counter() - t0
    return dt * n / (passes * size / MiB)


def aio_fs_read(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_read_main(loop, n))


async def _aio_gai_main(loop: Any, n: int) -> float:
    gai = loop.getaddrinfo
    t0 = time.perf_counter()
    for _ in range(n):
        if not await gai("127.0.0.1", 80, family=socket.AF_INET, type=socket.SOCK_STREAM):
            raise RuntimeError("getaddrinfo gave nothing")
    return time.perf_counter() - t0


def aio_getaddrinfo_numeric(new_loop: Callable[[], Any], n: int) -> float:
    return _aio_run(new_loop, lambda loop: _aio_gai_main(loop, n))


# --------------------------------------------------------------------------
# The rows
# --------------------------------------------------------------------------

WORKLOADS: Dict[str, Workload] = {w.name: w for w in [
    Workload("tcp_echo_1k", "TCP echo, 1 KiB, one connection, per round trip", 20_000, 50, "io",
             uv=uv_tcp_echo_1k, aio=aio_tcp_echo_1k),
    Workload("tcp_echo_64k", "TCP echo, 64 KiB, one connection, per round trip", 5_000, 20, "io",
             uv=uv_tcp_echo_64k, aio=aio_tcp_echo_64k),
    Workload("tcp_echo_10conn", "TCP echo, 1 KiB, 10 concurrent connections, per round trip", 20_000, 50,
             "io", uv=uv_tcp_echo_10conn, aio=aio_tcp_echo_10conn),
    Workload("stream_oneway", "TCP one way, 1 MiB writes (4 MiB queued at most), the reader's "
             "default read size; per MiB", 1_024, 4, "io", uv=uv_stream_oneway, aio=aio_stream_oneway,
             unit="MiB"),
    Workload("udp_pingpong", "UDP ping-pong, 1 KiB datagrams, per round trip", 20_000, 50, "io",
             uv=uv_udp_pingpong, aio=aio_udp_pingpong),
    Workload("unix_echo_1k", "unix-socket echo, 1 KiB, per round trip", 20_000, 50, "io",
             uv=uv_unix_echo_1k, aio=aio_unix_echo_1k),
    Workload("process_spawn", "spawn `true` and wait for its exit, one after the other (asyncio: "
             "create_subprocess_exec + wait)", 300, 5, "io", uv=uv_process_spawn, aio=aio_process_spawn),
    Workload("fs_stat_sync", "fs.stat without a callback (asyncio's column: os.stat)", 100_000, 500, "io",
             uv=uv_fs_stat_sync, aio=aio_fs_stat_sync, aio_impls=("asyncio",)),
    Workload("fs_stat_async", "fs.stat with a callback, one after the other (asyncio: "
             "run_in_executor(os.stat))", 5_000, 50, "io", uv=uv_fs_stat_async, aio=aio_fs_stat_async),
    Workload("fs_read", "read a 64 MiB file asynchronously (2 MiB under --quick), 1 MiB per request, "
             "8 times (asyncio: run_in_executor(os.pread)); per MiB", 8 * FILE_MIB, 2, "io",
             uv=uv_fs_read, aio=aio_fs_read, unit="MiB"),
    Workload("getaddrinfo_numeric", "dns.getaddrinfo('127.0.0.1', 80) with a callback, one after the "
             "other (asyncio: loop.getaddrinfo)", 5_000, 50, "io", uv=uv_getaddrinfo_numeric,
             aio=aio_getaddrinfo_numeric),
]}
