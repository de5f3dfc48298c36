"""Stream writes: buffers pinned until the callback, order, cancellation at close,
backpressure, large transfers. Over loopback TCP and socketpairs."""

from __future__ import annotations

import array
import gc
import os
from typing import Any, List, Optional, Tuple

import pytest

import uvffi
from uvffi import errno


def pair(loop: uvffi.Loop) -> Tuple[uvffi.Pipe, uvffi.Pipe]:
    """Two connected Pipe handles over a unix socketpair."""
    a_fd, b_fd = uvffi.socketpair()
    a, b = uvffi.Pipe(loop), uvffi.Pipe(loop)
    a.open(a_fd)
    b.open(b_fd)
    return a, b


def read_all(loop: uvffi.Loop, reader: uvffi.Stream, until: int) -> bytearray:
    """Read from ``reader`` until ``until`` bytes arrived (or EOF), running the loop."""
    got = bytearray()

    def on_read(h: uvffi.Stream, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None or len(got) + len(data) >= until:
            if data is not None:
                got.extend(data)
            h.stop_read()
            return
        got.extend(data)

    reader.start_read(on_read)
    loop.run()
    return got


def test_bytes_bytearray_memoryview_and_array_are_accepted(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    a.write(b"ab")
    a.write(bytearray(b"cd"))
    a.write(memoryview(b"xxefxx")[2:4])
    a.write(array.array("B", b"gh"))
    assert read_all(loop, b, 8) == b"abcdefgh"


def test_str_is_refused(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    with pytest.raises(TypeError):
        a.write("text")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        a.writelines(["text"])


def test_an_empty_sequence_is_refused(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    with pytest.raises(ValueError):
        a.writelines([])


def test_a_non_callable_callback_is_refused(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    with pytest.raises(TypeError):
        a.write(b"x", 42)  # type: ignore[arg-type]


def test_writelines_keeps_order(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    parts = [b"%05d," % i for i in range(1000)]
    a.writelines(parts)
    assert read_all(loop, b, 6000) == b"".join(parts)


def test_write_takes_a_sequence_like_pyuv(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    a.write([b"one", bytearray(b"two")])
    assert read_all(loop, b, 6) == b"onetwo"


def test_a_bytearray_being_written_cannot_be_resized_or_is_unaffected(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    # a full socket buffer first, so the next write stays queued in libuv
    while True:
        try:
            if a.try_write(b"\0" * 65536) == 0:
                break
        except uvffi.error.PipeError:
            break
    buf = bytearray(b"A" * 1000)
    done: List[Optional[int]] = []
    a.write(buf, lambda h, e: done.append(e))
    assert a.write_queue_size > 0
    try:
        buf.extend(b"B" * 10_000_000)  # would move the memory libuv reads
        pinned = False  # PyPy: allowed, the write sends a copy
    except BufferError:
        pinned = True  # CPython: the export holds until the callback
    b.start_read(lambda h, d, e: None)
    while not done:
        loop.run(uvffi.RUN_ONCE)
    b.stop_read()
    buf.extend(b"B")  # no BufferError once the write is done
    assert done == [None]
    assert pinned or uvffi._core.PYPY


def test_resizing_or_dropping_a_bytearray_after_write_changes_nothing_sent(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    filler = b"\0" * 300_000  # more than the socket buffers hold: the write below stays queued
    a.write(filler)
    original = b"original" * 1000
    buf = bytearray(original)
    a.write(buf)
    try:
        buf.extend(b"B" * 10_000_000)  # would move the memory libuv reads
    except BufferError:
        pass
    try:
        buf.clear()  # would free it
    except BufferError:
        pass
    del buf
    gc.collect()
    got = read_all(loop, b, len(filler) + len(original))
    assert bytes(got) == filler + original


def test_sixteen_mib_arrive_intact(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    payload = os.urandom(16 * 1024 * 1024)
    done: List[Optional[int]] = []
    a.write(payload, lambda h, e: done.append(e))
    got = read_all(loop, b, len(payload))
    assert len(got) == len(payload) and got == payload
    assert done == [None]


def test_callbacks_run_once_each_in_order(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    order: List[int] = []
    for i in range(100):
        a.write(b"x" * 10_000, lambda h, e, i=i: order.append(i))
    read_all(loop, b, 1_000_000)
    loop.run()
    assert order == list(range(100))


def test_close_with_queued_writes_cancels_them_before_the_close_callback(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    events: List[Any] = []
    for i in range(50):
        a.write(b"x" * 65536, lambda h, e, i=i: events.append((i, e)))
    a.close(lambda h: events.append("closed"))
    loop.run()
    assert events[-1] == "closed"
    writes = events[:-1]
    assert [i for i, _ in writes] == list(range(50))
    assert writes[-1][1] == errno.UV_ECANCELED
    assert all(e in (None, errno.UV_ECANCELED) for _, e in writes)


def test_no_write_callback_after_the_close_callback(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    events: List[str] = []
    a.write(b"x" * 1_000_000, lambda h, e: events.append("write"))
    a.close(lambda h: events.append("close"))
    b.close()
    loop.run()
    assert events == ["write", "close"]


def test_backpressure_grows_then_drains(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    for _ in range(64):
        a.write(b"y" * 65536)
    queued = a.write_queue_size
    assert queued > 0
    read_all(loop, b, 64 * 65536)
    loop.run()
    assert a.write_queue_size == 0


def test_try_write_returns_bytes_written(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    assert a.try_write(b"hello") == 5
    assert read_all(loop, b, 5) == b"hello"


def test_try_write_on_a_full_socket_raises_eagain(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    with pytest.raises(uvffi.error.PipeError) as info:
        while True:
            a.try_write(b"z" * 65536)
    assert info.value.args[0] == errno.UV_EAGAIN


def test_write_with_a_callback_returns_a_pending_request_for_the_stream(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    req = a.write(b"x", lambda h, e: None)
    assert isinstance(req, uvffi.WriteRequest) and req.pending and req.handle is a
    loop.run()
    assert not req.pending and req.handle is None


def test_write_of_bytes_the_kernel_takes_at_once_returns_a_finished_request(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    req = a.write(b"hello")
    assert isinstance(req, uvffi.WriteRequest)
    assert not req.pending and req.handle is None and req.loop is loop and req.cancel() is False
    assert a.write_queue_size == 0
    assert read_all(loop, b, 5) == b"hello"


def test_write_of_bytes_queues_only_what_the_kernel_did_not_take(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    data = bytes(range(256)) * 4096 * 8  # 8 MiB: more than a socket buffer holds
    req = a.write(data)
    assert req.pending and 0 < a.write_queue_size < len(data)
    assert read_all(loop, b, len(data)) == data
    assert not req.pending


def test_write_of_bytes_after_queued_writes_keeps_their_order(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    big = b"a" * (8 << 20)
    a.write(big)
    assert a.write_queue_size > 0  # the next write must not overtake it
    a.write(b"z")
    assert read_all(loop, b, len(big) + 1) == big + b"z"


def test_write_callback_exception_goes_to_the_excepthook(loop: uvffi.Loop) -> None:
    seen: List[type] = []
    loop.excepthook = lambda t, v, tb: seen.append(t)
    a, b = pair(loop)

    def boom(h: Any, e: Any) -> None:
        raise KeyError("x")

    a.write(b"x", boom)
    loop.run()
    assert seen == [KeyError]


def test_a_writing_stream_dropped_by_the_program_finishes_its_writes(loop: uvffi.Loop) -> None:
    a, b = pair(loop)
    done: List[Optional[int]] = []
    a.write(b"q" * 500_000, lambda h, e: (done.append(e), h.close()))
    del a
    gc.collect()
    assert len(read_all(loop, b, 500_000)) == 500_000
    loop.run()
    assert done == [None]


def test_pipe_function_gives_a_read_and_a_write_end(loop: uvffi.Loop) -> None:
    r_fd, w_fd = uvffi.pipe()
    r, w = uvffi.Pipe(loop), uvffi.Pipe(loop)
    r.open(r_fd)
    w.open(w_fd)
    w.write(b"through a pipe")
    assert read_all(loop, r, 14) == b"through a pipe"
    assert r.readable and not r.writable
