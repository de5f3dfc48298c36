"""Loops under load in many threads at once: each of eight threads runs its own loop with
its own TCP echo server and clients; every echo is checked, every loop closed, and the
process's fds are back where they were."""

from __future__ import annotations

import gc
import os
import threading
from typing import Any, Dict, List, Optional, Tuple

import uvffi

THREADS = 8
CLIENTS = 16  # per thread
ROUNDS = 4    # messages per client, each echoed before the next is sent


def _payload(thread: int, client: int, rnd: int) -> bytes:
    """A message the echo must return unchanged: distinct per thread, client and round,
    from 1 byte to over 100 KiB (several reads and writes on the way)."""
    size = 1 + ((thread * 7919 + client * 104729 + rnd * 1299709) % (128 * 1024))
    unit = bytes([thread, client, rnd]) + b"uvffi"
    return (unit * (size // len(unit) + 1))[:size]


class _Client:
    """One client: ROUNDS messages, each sent once the previous one came back whole."""

    def __init__(self, loop: uvffi.Loop, thread: int, n: int, counts: Dict[str, int]) -> None:
        self.tcp = uvffi.TCP(loop)
        self.thread, self.n, self.counts = thread, n, counts
        self.round = 0
        self.got = bytearray()

    def connect(self, addr: Any) -> None:
        self.tcp.connect(addr, self.on_connect)

    def on_connect(self, h: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None, error
        h.start_read(self.on_read)
        h.write(_payload(self.thread, self.n, self.round))

    def on_read(self, h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:  # the server closed its end after our shutdown
            h.close(lambda h: self.counts.__setitem__("clients_closed", self.counts["clients_closed"] + 1))
            return
        self.got += data
        want = _payload(self.thread, self.n, self.round)
        if len(self.got) < len(want):
            return
        self.counts["echoes"] += 1
        if self.got != want:
            self.counts["mismatches"] += 1
        self.got.clear()
        self.round += 1
        if self.round == ROUNDS:
            h.shutdown()
        else:
            h.write(_payload(self.thread, self.n, self.round))


def _echo_loop(thread: int, start: threading.Barrier) -> Dict[str, int]:
    """One thread's loop: a server and CLIENTS clients on 127.0.0.1; returns its counts."""
    loop = uvffi.Loop()
    errors: List[BaseException] = []
    loop.excepthook = lambda typ, value, tb: errors.append(value)  # type: ignore[method-assign]
    counts = {"echoes": 0, "mismatches": 0, "accepted": 0, "server_closed": 0, "clients_closed": 0}
    server = uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))

    def on_server_read(conn: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is not None:
            conn.write(data)
        else:  # the client shut down (EOF) or reset
            conn.close(lambda h: counts.__setitem__("server_closed", counts["server_closed"] + 1))

    def on_connection(srv: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None
        conn = uvffi.TCP(loop)
        srv.accept(conn)
        counts["accepted"] += 1
        if counts["accepted"] == CLIENTS:
            srv.close()
        conn.start_read(on_server_read)

    server.listen(on_connection)
    addr = server.getsockname()

    start.wait()  # all threads' loops at work at once
    for n in range(CLIENTS):
        _Client(loop, thread, n, counts).connect(addr)
    loop.run()
    counts["handles_left"] = len(loop.handles)
    loop.close()
    counts["loop_closed"] = int(loop.closed)
    counts["errors"] = len(errors)
    return counts


def _fds() -> int:
    return len(os.listdir("/proc/self/fd"))


def test_eight_threads_each_with_a_loop_and_an_echo_server_echo_every_message_and_leave_no_fd() -> None:
    _echo_loop(99, threading.Barrier(1))  # warm-up: first-use state (the thread pool) is not a leak
    gc.collect()
    before = _fds()
    start = threading.Barrier(THREADS)
    results: List[Optional[Dict[str, int]]] = [None] * THREADS
    failures: List[Tuple[int, BaseException]] = []

    def run(i: int) -> None:
        try:
            results[i] = _echo_loop(i, start)
        except BaseException as e:  # noqa: BLE001 - reported below with the thread's number
            failures.append((i, e))
            start.abort()

    threads = [threading.Thread(target=run, args=(i,), name=f"echo-loop-{i}") for i in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    assert not any(t.is_alive() for t in threads), "a loop thread did not finish"
    assert failures == []
    for i, counts in enumerate(results):
        assert counts is not None
        assert counts["echoes"] == CLIENTS * ROUNDS, (i, counts)
        assert counts["mismatches"] == 0, (i, counts)
        assert counts["accepted"] == CLIENTS and counts["server_closed"] == CLIENTS, (i, counts)
        assert counts["clients_closed"] == CLIENTS, (i, counts)
        assert counts["errors"] == 0, (i, counts)
        assert counts["handles_left"] == 0 and counts["loop_closed"] == 1, (i, counts)
    gc.collect()
    assert _fds() == before
