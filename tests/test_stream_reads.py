"""Stream reads: what the read callback gets, on every kind of stream (TCP, a unix socket
pair, a pipe), for reads of every size and around the buffer's edges; and that the read
path's buffers are handed on or freed on every path: EOF, EAGAIN (a read that fills the
buffer, then finds nothing), a callback that closes the handle, one that raises, Ctrl-C.

On CPython libuv reads straight into the ``bytes`` the callback gets (src/uvffi/_c/stream.c),
so these tests also check that every ``bytes`` a callback got keeps its content while later
reads go on."""

from __future__ import annotations

import os
import socket
import sys
import threading
from typing import Any, Callable, List, Optional, Tuple

import pytest

import uvffi
from uvffi import errno
from uvffi.handles.stream import READ_SIZE

PYPY = sys.implementation.name == "pypy"
KINDS = ["tcp", "unix", "pipe"]



def _tcp_sockets() -> Tuple[socket.socket, socket.socket]:
    """A connected pair of TCP sockets over loopback: (the peer's, ours)."""
    lsn = socket.socket()
    lsn.bind(("127.0.0.1", 0))
    lsn.listen(1)
    peer = socket.create_connection(lsn.getsockname())
    ours, _ = lsn.accept()
    lsn.close()
    return peer, ours

class Feed:
    """A uvffi stream of ``kind`` whose peer, a thread, writes ``payload`` and then ends the
    stream (or stops quietly once the reader went away)."""

    def __init__(self, loop: uvffi.Loop, kind: str, payload: bytes) -> None:
        self.payload = payload
        self.stream: Any
        self._close: Callable[[], None]
        if kind == "pipe":
            rfd, wfd = uvffi.pipe()
            self.stream = uvffi.Pipe(loop)
            self.stream.open(rfd)
            write: Callable[[bytes], Any] = lambda b: os.write(wfd, b)  # noqa: E731
            self._close = lambda: os.close(wfd)
        else:
            if kind == "tcp":
                peer, ours = _tcp_sockets()
                self.stream = uvffi.TCP(loop)
            else:
                peer, ours = socket.socketpair()
                self.stream = uvffi.Pipe(loop)
            self.stream.open(ours.detach())
            write = peer.send
            self._close = peer.close
        self._write = write
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        view = memoryview(self.payload)
        try:
            while view:
                view = view[self._write(view[:1 << 20]):]
        except OSError:  # the reader closed its end first
            pass
        finally:
            self._close()

    def start(self) -> None:
        self._thread.start()

    def join(self) -> None:
        self._thread.join(10)
        assert not self._thread.is_alive()


def _collect(loop: uvffi.Loop, kind: str, payload: bytes, size: Optional[int] = None
             ) -> Tuple[List[bytes], List[int]]:
    """Every read of ``payload`` sent through a ``kind`` stream, and the errors (UV_EOF)."""
    feed = Feed(loop, kind, payload)
    chunks: List[bytes] = []
    errors: List[int] = []

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            assert error is not None
            errors.append(error)
            h.close()
        else:
            assert error is None
            chunks.append(data)

    if size is None:
        feed.stream.start_read(on_read)
    else:
        feed.stream.start_read(on_read, size=size)
    feed.start()
    loop.run()
    feed.join()
    return chunks, errors


# Payload sizes around the powers of two and the 64 KiB reads, and read sizes from one byte
# to more than the default; the one-byte reads get the small payloads only.
CASES = [(n, s) for s in (4096, 65536, 65537, 262144, 1 << 20, None)
         for n in (1, 1023, 1024, 4096, 65535, 65536, 65537, 262144, 262145, 1_000_003)]
CASES += [(n, s) for s in (1, 7) for n in (1, 7, 8, 1000)]


@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("n,size", CASES)
def test_reads_of_every_size_arrive_intact_then_eof_once(loop: uvffi.Loop, kind: str, n: int,
                                                          size: Optional[int]) -> None:
    payload = os.urandom(n)
    chunks, errors = _collect(loop, kind, payload, size)
    # Joined at the end: a read's bytes must not change while later reads go on.
    assert b"".join(chunks) == payload
    assert all(type(c) is bytes and 0 < len(c) <= (size or READ_SIZE) for c in chunks)
    assert errors == [errno.UV_EOF]


def test_an_empty_stream_gives_eof_alone(loop: uvffi.Loop) -> None:
    chunks, errors = _collect(loop, "unix", b"")
    assert chunks == [] and errors == [errno.UV_EOF]


@pytest.mark.parametrize("kind", KINDS)
def test_closing_the_handle_in_the_first_read_callback_ends_the_reads(loop: uvffi.Loop, kind: str) -> None:
    feed = Feed(loop, kind, os.urandom(4 << 20))
    calls: List[Optional[int]] = []
    closed: List[bool] = []

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        calls.append(None if data is None else len(data))
        h.close(lambda h: closed.append(True))

    feed.stream.start_read(on_read, size=4096)
    feed.start()
    loop.run()
    feed.join()
    assert len(calls) == 1 and calls[0] and closed == [True]


@pytest.mark.parametrize("kind", KINDS)
def test_stop_read_in_a_callback_then_start_read_with_another_size_loses_nothing(loop: uvffi.Loop,
                                                                                  kind: str) -> None:
    payload = os.urandom(600_000)
    feed = Feed(loop, kind, payload)
    chunks: List[bytes] = []
    sizes = [1000, 70_000, 3, 65536, 300_000]
    bounds: List[int] = []

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            h.close()
            return
        chunks.append(data)
        assert len(data) <= bounds[-1]
        size = sizes[len(chunks) % len(sizes)]
        if len(chunks) % 2:
            h.stop_read()
            t = uvffi.Timer(loop)
            t.start(lambda t: (t.close(), bounds.append(size), h.start_read(on_read, size=size)), 0, 0)
        else:  # from inside the callback: the next read already has the new size
            bounds.append(size)
            h.start_read(on_read, size=size)

    bounds.append(sizes[0])
    feed.stream.start_read(on_read, size=sizes[0])
    feed.start()
    loop.run()
    feed.join()
    assert b"".join(chunks) == payload


def test_an_exception_in_the_read_callback_goes_to_the_excepthook_and_reading_goes_on(
        loop: uvffi.Loop) -> None:
    payload = os.urandom(300_000)
    feed = Feed(loop, "unix", payload)
    chunks: List[bytes] = []
    hooked: List[type] = []
    loop.excepthook = lambda t, v, tb: hooked.append(t)  # type: ignore[assignment,misc]

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            h.close()
            return
        chunks.append(data)
        if len(chunks) % 2:
            raise ValueError("boom")

    feed.stream.start_read(on_read, size=10_000)
    feed.start()
    loop.run()
    feed.join()
    assert b"".join(chunks) == payload
    assert hooked and set(hooked) == {ValueError} and len(hooked) == (len(chunks) + 1) // 2


@pytest.mark.parametrize("kind", KINDS)
def test_keyboard_interrupt_in_the_read_callback_stops_run_and_loses_no_data(loop: uvffi.Loop,
                                                                             kind: str) -> None:
    payload = os.urandom(500_000)
    feed = Feed(loop, kind, payload)
    chunks: List[bytes] = []
    errors: List[int] = []

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            errors.append(error)  # type: ignore[arg-type]
            h.close()
            return
        chunks.append(data)
        if len(chunks) == 1:
            raise KeyboardInterrupt

    feed.stream.start_read(on_read, size=8192)
    feed.start()
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    loop.run()
    feed.join()
    assert b"".join(chunks) == payload and errors == [errno.UV_EOF]


def _libuv_at_least(major: int, minor: int) -> bool:
    return tuple(int(p) for p in uvffi.LIBUV_VERSION.split(".")[:2]) >= (major, minor)


def test_a_read_error_comes_once_with_no_data(loop: uvffi.Loop) -> None:
    peer, ours = _tcp_sockets()
    tcp = uvffi.TCP(loop)
    tcp.open(ours.detach())
    got: List[Tuple[Optional[int], Optional[int]]] = []

    def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
        got.append((None if data is None else len(data), error))
        if data is None:
            h.close()

    peer.sendall(b"x" * 100)
    peer.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
    peer.close()  # linger 0: an RST, after the 100 bytes
    tcp.start_read(on_read)
    loop.run()
    # libuv before 1.45 (Debian's 1.44, the system-libuv build) reports this reset as EOF
    resets = (errno.UV_ECONNRESET,) if _libuv_at_least(1, 45) else (errno.UV_ECONNRESET, errno.UV_EOF)
    assert got[-1][0] is None and got[-1][1] in resets
    assert all(e is None for _, e in got[:-1]) and sum(n for n, _ in got[:-1]) <= 100  # type: ignore[misc]


@pytest.mark.skipif(PYPY, reason="tracemalloc: CPython's allocations")
def test_buffers_are_freed_on_every_read_path() -> None:
    """Each round is one 4 KiB send, sent from an idle callback (not from the read
    callback, which libuv's next read would find): the read fills the buffer exactly, so
    libuv reads again and finds nothing (EAGAIN: the buffer comes back unused); kept reads
    are never bigger than what they hold. A leaked buffer would be 4 KiB a round."""
    import tracemalloc

    def rounds(n: int) -> None:
        with uvffi.Loop() as loop:
            a, b = socket.socketpair()
            p = uvffi.Pipe(loop)
            p.open(b.detach())
            left = [n]
            got = [0]
            due = [True]
            kept: List[bytes] = []

            def send(idle: uvffi.Idle) -> None:
                if due[0]:
                    due[0] = False
                    a.send(b"y" * 4096)

            idle = uvffi.Idle(loop)
            idle.start(send)

            def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
                if data is None:
                    h.close()
                    return
                got[0] += len(data)
                if len(kept) < 50:
                    kept.append(data)
                if got[0] == 4096:
                    got[0] = 0
                    left[0] -= 1
                    if left[0]:
                        due[0] = True
                    else:
                        idle.close()
                        a.close()

            p.start_read(on_read, size=4096)
            loop.run()
            assert sum(len(k) for k in kept) <= 50 * 4096
            kept.clear()

    rounds(50)  # warm: caches, interned names
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        rounds(500)
        after = tracemalloc.get_traced_memory()[0]
    finally:
        tracemalloc.stop()
    assert after - before < 500 * 4096 // 4
