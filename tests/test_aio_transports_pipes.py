"""uvffi.aio's pipe transports (uvffi/aio/pipes.py) on the real uvffi.aio loop, over os.pipe()
and socket pairs."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
from typing import Any, List, Optional, Tuple

import pytest
from aio_transports_helpers import Recorder, run

import uvffi.aio
from uvffi.aio.pipes import UVReadPipeTransport, UVWritePipeTransport

Loop = uvffi.aio.Loop


class Writer(asyncio.BaseProtocol):
    """Records a write pipe's flow control and end."""

    def __init__(self) -> None:
        self.events: List[str] = []
        self.lost: "asyncio.Future[Optional[BaseException]]" = asyncio.get_event_loop().create_future()

    def pause_writing(self) -> None:
        self.events.append("pause_writing")

    def resume_writing(self) -> None:
        self.events.append("resume_writing")

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost.set_result(exc)


def _pipe() -> Tuple[Any, Any]:
    r, w = os.pipe()
    return open(r, "rb", buffering=0), open(w, "wb", buffering=0)


def test_read_pipe_gets_data_then_eof_then_connection_lost(aloop: Loop) -> None:
    rpipe, wpipe = _pipe()

    async def main() -> Recorder:
        transport, proto = await aloop.connect_read_pipe(Recorder, rpipe)
        assert isinstance(transport, UVReadPipeTransport)
        assert transport.get_extra_info("pipe") is rpipe
        wpipe.write(b"through the pipe")
        wpipe.close()
        assert await proto.lost is None
        return proto

    proto = run(aloop, main())
    assert proto.data == b"through the pipe"
    assert proto.events == ["made", "data", "eof", "lost"]
    assert rpipe.closed  # the transport closed the pipe object


def test_write_pipe_to_read_pipe_1_mib_with_flow_control(aloop: Loop) -> None:
    rpipe, wpipe = _pipe()
    payload = os.urandom(1 << 20)

    async def main() -> Tuple[Recorder, Writer]:
        rt, rproto = await aloop.connect_read_pipe(Recorder, rpipe)
        wt, wproto = await aloop.connect_write_pipe(Writer, wpipe)
        assert isinstance(wt, UVWritePipeTransport)
        wt.write(payload)
        assert wt.get_write_buffer_size() > 0  # a pipe holds 64 KiB: the rest waits in libuv
        wt.write_eof()
        assert await wproto.lost is None
        assert await rproto.lost is None
        return rproto, wproto

    rproto, wproto = run(aloop, main())
    assert rproto.data == payload
    assert wproto.events == ["pause_writing", "resume_writing"]


def test_write_pipe_close_waits_for_queued_data(aloop: Loop) -> None:
    rpipe, wpipe = _pipe()

    async def main() -> bytes:
        rt, rproto = await aloop.connect_read_pipe(Recorder, rpipe)
        wt, wproto = await aloop.connect_write_pipe(Writer, wpipe)
        wt.write(b"k" * (1 << 19))
        wt.close()
        wt.write(b"ignored after close")
        await wproto.lost
        await rproto.lost
        return bytes(rproto.data)

    assert run(aloop, main()) == b"k" * (1 << 19)


def test_write_pipe_notices_the_reader_closing(aloop: Loop) -> None:
    r, w = os.pipe()

    async def main() -> Optional[BaseException]:
        wt, wproto = await aloop.connect_write_pipe(Writer, open(w, "wb", buffering=0))
        os.close(r)  # no write pending: the transport must find out by itself
        return await wproto.lost

    assert run(aloop, main()) is None


def test_write_pipe_with_queued_data_gets_broken_pipe_when_the_reader_closes(aloop: Loop) -> None:
    r, w = os.pipe()

    async def main() -> Optional[BaseException]:
        wt, wproto = await aloop.connect_write_pipe(Writer, open(w, "wb", buffering=0))
        wt.write(b"x" * (1 << 20))  # more than the pipe holds
        os.close(r)
        return await wproto.lost

    assert isinstance(run(aloop, main()), BrokenPipeError)


def test_read_pipe_pause_and_resume_reading(aloop: Loop) -> None:
    rpipe, wpipe = _pipe()

    async def main() -> bytes:
        rt, rproto = await aloop.connect_read_pipe(Recorder, rpipe)
        rt.pause_reading()
        assert not rt.is_reading()
        wpipe.write(b"held")
        for _ in range(10):
            await asyncio.sleep(0.005)
        assert rproto.data == b""
        rt.resume_reading()
        wpipe.close()
        await rproto.lost
        return bytes(rproto.data)

    assert run(aloop, main()) == b"held"


def test_read_pipe_close_calls_connection_lost_and_closes_the_pipe(aloop: Loop) -> None:
    rpipe, wpipe = _pipe()

    async def main() -> Optional[BaseException]:
        rt, rproto = await aloop.connect_read_pipe(Recorder, rpipe)
        rt.close()
        assert rt.is_closing()
        return await rproto.lost

    try:
        assert run(aloop, main()) is None
        assert rpipe.closed
    finally:
        wpipe.close()


def test_write_pipe_over_a_socket_closes_when_the_peer_closes(aloop: Loop) -> None:
    a, b = socket.socketpair()

    async def main() -> Optional[BaseException]:
        wt, wproto = await aloop.connect_write_pipe(Writer, a)
        wt.write(b"to the peer")
        assert b.recv(100) == b"to the peer"
        b.close()
        return await wproto.lost

    assert run(aloop, main()) is None


def test_a_regular_file_is_refused(aloop: Loop) -> None:
    with tempfile.TemporaryFile() as f:
        with pytest.raises(ValueError):
            run(aloop, aloop.connect_read_pipe(Recorder, f))


def test_dev_null_is_refused_with_asyncios_permission_error(aloop: Loop) -> None:
    with open(os.devnull, "rb") as f:
        with pytest.raises(PermissionError):
            run(aloop, aloop.connect_read_pipe(Recorder, f))


def test_pty_read_pipe_reads_then_ends_with_eio_when_the_other_side_closes(aloop: Loop) -> None:
    master, slave = os.openpty()

    async def main() -> Tuple[bytes, Optional[BaseException]]:
        rt, rproto = await aloop.connect_read_pipe(Recorder, open(master, "rb", buffering=0))
        os.write(slave, b"through a pty\n")
        while b"\n" not in rproto.data:
            await asyncio.sleep(0.005)
        os.close(slave)  # a pty master then reads EIO: asyncio's routine end of a terminal
        exc = await rproto.lost
        return bytes(rproto.data), exc

    data, exc = run(aloop, main())
    assert data == b"through a pty\r\n"
    assert isinstance(exc, OSError) and exc.errno == errno.EIO
