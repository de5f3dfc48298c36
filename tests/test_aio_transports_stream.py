"""uvffi.aio's stream transports (uvffi/aio/stream.py, server.py, unix.py) on the real
uvffi.aio loop: TCP over loopback, unix sockets in a temporary directory, SSL with a
certificate made at test time."""

from __future__ import annotations

import asyncio
import io
import os
import socket
import struct
import sys
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from aio_transports_helpers import EchoServer, Recorder, run, ssl_contexts

import uvffi.aio
from uvffi.aio.stream import UVStreamTransport

Loop = uvffi.aio.Loop


async def _tcp_echo_server(loop: Any) -> Any:
    return await loop.create_server(EchoServer, "127.0.0.1", 0)


def _port(server: Any) -> int:
    return int(server.sockets[0].getsockname()[1])


# -- TCP with protocols --------------------------------------------------------------------------

def test_tcp_echo_with_protocols(aloop: Loop) -> None:
    async def main() -> bytes:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(b"hello ")
        transport.writelines([b"uvffi", bytearray(b"!")])
        transport.write_eof()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data)

    assert run(aloop, main()) == b"hello uvffi!"


def test_add_reader_on_a_tcp_transports_fd_raises_runtime_error(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        fd = transport.get_extra_info("socket").fileno()
        try:
            with pytest.raises(RuntimeError, match="is used by transport"):
                aloop.add_reader(fd, lambda: None)
        finally:
            transport.close()
            await proto.lost
            server.close()
            await server.wait_closed()

    run(aloop, main())


def test_add_reader_on_a_closed_transports_fd_number_is_allowed(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        fd = transport.get_extra_info("socket").fileno()
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        a, b = socket.socketpair()  # may well take the transport's old fd number
        try:
            aloop.add_reader(a, lambda: None)
            assert aloop.remove_reader(a) is True
            assert aloop._transports.get(fd) is None
        finally:
            a.close()
            b.close()

    run(aloop, main())


def test_transport_is_a_uvffi_stream_transport_with_socket_extra_info(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        assert isinstance(transport, UVStreamTransport)
        sock = transport.get_extra_info("socket")
        assert sock.family == socket.AF_INET
        assert transport.get_extra_info("peername") == ("127.0.0.1", _port(server))
        assert transport.get_extra_info("sockname") == sock.getsockname()
        assert sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY) != 0
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(aloop, main())


def test_protocol_calls_come_in_order_made_data_eof_lost(aloop: Loop) -> None:
    async def main() -> List[str]:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(b"x" * 1000)
        transport.write_eof()
        assert await proto.lost is None
        server.close()
        await server.wait_closed()
        return proto.events

    assert run(aloop, main()) == ["made", "data", "eof", "lost"]


def test_close_flushes_queued_writes_before_connection_lost(aloop: Loop) -> None:
    received = bytearray()

    async def main() -> None:
        done = aloop.create_future()

        class Sink(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                received.extend(data)

            def eof_received(self) -> bool:
                done.set_result(None)
                return False

        server = await aloop.create_server(Sink, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(b"z" * (4 << 20))  # more than the kernel takes at once
        transport.close()
        assert transport.is_closing()
        assert await proto.lost is None
        await done
        server.close()
        await server.wait_closed()

    run(aloop, main())
    assert len(received) == 4 << 20


def test_abort_calls_connection_lost_with_none_and_closes_the_fd_once(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        sock = transport.get_extra_info("socket")
        fd = sock.fileno()
        transport.abort()
        assert await proto.lost is None
        assert sock.fileno() == -1  # the socket object let go of the fd: libuv closed it
        with pytest.raises(OSError):
            os.fstat(fd)
        server.close()
        await server.wait_closed()

    run(aloop, main())


def test_peer_reset_gives_connection_lost_a_connection_reset_error(aloop: Loop) -> None:
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(1)

    async def main() -> Optional[BaseException]:
        transport, proto = await aloop.create_connection(Recorder, *listener.getsockname())
        conn, _ = listener.accept()
        conn.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        conn.close()  # linger 0: an RST instead of a FIN
        return await proto.lost

    try:
        exc = run(aloop, main())
    finally:
        listener.close()
    assert isinstance(exc, ConnectionResetError)


def test_half_close_eof_received_true_keeps_the_transport_open_for_writing(aloop: Loop) -> None:
    async def main() -> bytes:
        got = aloop.create_future()

        class Client(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transport.write(b"question")
                transport.write_eof()
                self.buf = b""

            def data_received(self, data: bytes) -> None:
                self.buf += data

            def eof_received(self) -> bool:
                got.set_result(self.buf)
                return False

        server_proto: List[Recorder] = []

        def factory() -> Recorder:
            p = Recorder(eof_keeps_open=True)
            server_proto.append(p)
            return p

        server = await aloop.create_server(factory, "127.0.0.1", 0)
        await aloop.create_connection(Client, "127.0.0.1", _port(server))
        sp = server_proto[0]
        await sp.eof
        assert not sp.transport.is_closing()  # half-open: the server may still answer
        sp.transport.write(b"answer to " + bytes(sp.data))
        sp.transport.close()
        answer = await got
        await sp.lost
        server.close()
        await server.wait_closed()
        return answer

    assert run(aloop, main()) == b"answer to question"


def test_write_after_write_eof_raises(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        assert transport.can_write_eof()
        transport.write_eof()
        with pytest.raises(RuntimeError):
            transport.write(b"late")
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(aloop, main())


def test_write_of_a_str_is_a_type_error(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        with pytest.raises(TypeError):
            transport.write("text")
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(aloop, main())


def test_writes_after_connection_lost_are_dropped_with_a_warning(aloop: Loop, caplog: Any) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.abort()
        await proto.lost
        for _ in range(8):
            transport.write(b"into the void")
        server.close()
        await server.wait_closed()

    run(aloop, main())
    assert any("socket.send() raised exception" in r.getMessage() for r in caplog.records)


def test_a_bytearray_written_may_be_reused_at_once(aloop: Loop) -> None:
    async def main() -> bytes:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        buf = bytearray(b"a" * (2 << 20))
        transport.write(buf)
        buf[:] = b"b" * len(buf)  # asyncio copies what it buffers: the write is of a's
        transport.write_eof()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data)

    assert run(aloop, main()) == b"a" * (2 << 20)


def test_pause_reading_stops_data_received_until_resume_reading(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.pause_reading()
        assert not transport.is_reading()
        transport.write(b"ping")
        for _ in range(20):
            await asyncio.sleep(0.005)  # time for the echo to come back, unread
        assert proto.data == b""
        transport.resume_reading()
        assert transport.is_reading()
        while proto.data != b"ping":
            await asyncio.sleep(0.005)
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(aloop, main())


# -- flow control ----------------------------------------------------------------------------------

def test_8_mib_transfer_calls_pause_writing_then_resume_writing(aloop: Loop) -> None:
    size = 8 << 20

    async def main() -> Recorder:
        received = aloop.create_future()

        class Slow(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.n = 0

            def data_received(self, data: bytes) -> None:
                self.n += len(data)

            def eof_received(self) -> bool:
                received.set_result(self.n)
                return False

        server = await aloop.create_server(Slow, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.set_write_buffer_limits(high=64 * 1024)
        assert transport.get_write_buffer_limits() == (16 * 1024, 64 * 1024)
        chunk = b"q" * (1 << 20)
        for _ in range(size // len(chunk)):
            transport.write(chunk)
        assert transport.get_write_buffer_size() > 64 * 1024
        transport.write_eof()
        assert await received == size
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        return proto

    proto = run(aloop, main(), timeout=120)
    assert "pause_writing" in proto.events
    assert proto.events.index("resume_writing") > proto.events.index("pause_writing")


def test_set_write_buffer_limits_rejects_low_above_high(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        with pytest.raises(ValueError):
            transport.set_write_buffer_limits(high=10, low=20)
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()

    run(aloop, main())


def test_streams_drain_large_transfer_round_trip(aloop: Loop) -> None:
    size = 8 << 20

    async def main() -> int:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))

        async def send() -> None:
            for _ in range(size // (1 << 20)):
                writer.write(b"w" * (1 << 20))
                await writer.drain()
            writer.write_eof()

        sender = asyncio.ensure_future(send())
        got = 0
        while True:
            data = await reader.read(1 << 20)
            if not data:
                break
            got += len(data)
        await sender
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return got

    assert run(aloop, main(), timeout=120) == size


# -- BufferedProtocol --------------------------------------------------------------------------------

def test_buffered_protocol_gets_the_data_through_its_buffer(aloop: Loop) -> None:
    payload = bytes(range(256)) * 4096  # 1 MiB

    async def main() -> bytes:
        done = aloop.create_future()

        class Buffered(asyncio.BufferedProtocol):
            def __init__(self) -> None:
                self.buf = bytearray(1000)  # smaller than a read: the transport feeds it in pieces
                self.out = bytearray()
                self.sizes: List[int] = []

            def get_buffer(self, sizehint: int) -> bytearray:
                return self.buf

            def buffer_updated(self, nbytes: int) -> None:
                self.sizes.append(nbytes)
                self.out += self.buf[:nbytes]

            def eof_received(self) -> bool:
                done.set_result(bytes(self.out))
                return False

        server = await aloop.create_server(Buffered, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(payload)
        transport.write_eof()
        out = await done
        await proto.lost
        server.close()
        await server.wait_closed()
        return out

    assert run(aloop, main()) == payload


# -- servers --------------------------------------------------------------------------------------------

def test_server_wait_closed_waits_for_the_connections_to_close(aloop: Loop) -> None:
    async def main() -> List[str]:
        order: List[str] = []
        server_protos: List[Recorder] = []

        def factory() -> Recorder:
            p = Recorder()
            server_protos.append(p)
            return p

        server = await aloop.create_server(factory, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        while not server_protos:
            await asyncio.sleep(0.001)
        await server_protos[0].made

        async def wait() -> None:
            await server.wait_closed()
            order.append("wait_closed")

        waiter = asyncio.ensure_future(wait())
        await asyncio.sleep(0)  # waiting before close(): Python < 3.12 returns at once after it
        server.close()
        assert not server.is_serving()
        await asyncio.sleep(0.01)
        order.append("closing the connection")
        server_protos[0].transport.close()
        await waiter
        transport.close()
        await proto.lost
        return order

    assert run(aloop, main()) == ["closing the connection", "wait_closed"]


def test_server_close_stops_accepting_and_closes_the_listening_socket(aloop: Loop) -> None:
    async def main() -> None:
        server = await _tcp_echo_server(aloop)
        port = _port(server)
        sock = server.sockets[0]
        server.close()
        await server.wait_closed()
        assert sock.fileno() == -1
        with pytest.raises(ConnectionRefusedError):
            await aloop.create_connection(Recorder, "127.0.0.1", port)

    run(aloop, main())


def test_server_with_start_serving_false_serves_after_start_serving(aloop: Loop) -> None:
    async def main() -> bytes:
        server = await aloop.create_server(EchoServer, "127.0.0.1", 0, start_serving=False)
        assert not server.is_serving()
        await server.start_serving()
        assert server.is_serving()
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(b"late start")
        transport.write_eof()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data)

    assert run(aloop, main()) == b"late start"


def test_protocol_factory_error_goes_to_the_exception_handler(aloop: Loop) -> None:
    errors: List[Any] = []
    aloop.set_exception_handler(lambda loop, ctx: errors.append(ctx.get("exception")))

    def broken() -> asyncio.Protocol:
        raise ZeroDivisionError("no protocol")

    async def main() -> None:
        server = await aloop.create_server(broken, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        await proto.lost  # the server dropped the connection
        server.close()
        await server.wait_closed()

    run(aloop, main())
    assert any(isinstance(e, ZeroDivisionError) for e in errors)


@pytest.mark.skipif(sys.version_info < (3, 13), reason="Server.close_clients() is new in Python 3.13")
def test_server_close_clients_closes_the_connections(aloop: Loop) -> None:  # pragma: no cover - 3.13+
    async def main() -> Optional[BaseException]:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        await asyncio.sleep(0.01)
        server.close()
        server.close_clients()  # type: ignore[attr-defined]
        await server.wait_closed()
        return await proto.lost

    assert run(aloop, main()) is None


# -- unix sockets ------------------------------------------------------------------------------------------

def test_unix_echo_with_protocols(aloop: Loop, tmp_path: Path) -> None:
    path = str(tmp_path / "echo.sock")

    async def main() -> bytes:
        server = await aloop.create_unix_server(EchoServer, path)
        transport, proto = await aloop.create_unix_connection(Recorder, path)
        assert transport.get_extra_info("socket").family == socket.AF_UNIX
        assert transport.get_extra_info("peername") == path
        transport.write(b"over a unix socket")
        transport.write_eof()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data)

    assert run(aloop, main()) == b"over a unix socket"


def test_unix_echo_with_streams(aloop: Loop, tmp_path: Path) -> None:
    path = str(tmp_path / "streams.sock")

    async def main() -> bytes:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            line = await reader.readline()
            writer.write(line.upper())
            await writer.drain()
            writer.close()

        server = await asyncio.start_unix_server(handle, path)
        reader, writer = await asyncio.open_unix_connection(path)
        writer.write(b"shout\n")
        answer = await reader.readline()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return answer

    assert run(aloop, main()) == b"SHOUT\n"


def test_unix_server_replaces_a_stale_socket_file(aloop: Loop, tmp_path: Path) -> None:
    path = str(tmp_path / "stale.sock")
    stale = socket.socket(socket.AF_UNIX)
    stale.bind(path)
    stale.close()  # the file stays behind

    async def main() -> bool:
        server = await aloop.create_unix_server(EchoServer, path)
        serving = server.is_serving()
        server.close()
        await server.wait_closed()
        return serving

    assert run(aloop, main())


def test_unix_connection_over_a_connected_sock(aloop: Loop) -> None:
    a, b = socket.socketpair()

    async def main() -> bytes:
        transport, proto = await aloop.create_unix_connection(Recorder, sock=a)
        b.sendall(b"from the pair")
        b.shutdown(socket.SHUT_WR)
        await proto.lost
        return bytes(proto.data)

    try:
        assert run(aloop, main()) == b"from the pair"
    finally:
        b.close()


def test_unix_connection_rejects_path_and_sock_together(aloop: Loop, tmp_path: Path) -> None:
    a, b = socket.socketpair()
    try:
        with pytest.raises(ValueError):
            run(aloop, aloop.create_unix_connection(Recorder, str(tmp_path / "x"), sock=a))
    finally:
        a.close()
        b.close()


def test_tcp_echo_with_streams(aloop: Loop) -> None:
    async def main() -> bytes:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            data = await reader.read(100)
            writer.write(data[::-1])
            await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0)
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server))
        writer.write(b"stressed")
        answer = await reader.read()
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return answer

    assert run(aloop, main()) == b"desserts"


# -- SSL --------------------------------------------------------------------------------------------------------

def test_ssl_echo_with_streams(aloop: Loop, tmp_path: Path) -> None:
    server_ctx, client_ctx = ssl_contexts(tmp_path)
    payload = os.urandom(1 << 20)

    async def main() -> Any:
        async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            while True:
                data = await reader.read(1 << 16)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
            writer.close()

        server = await asyncio.start_server(handle, "127.0.0.1", 0, ssl=server_ctx)
        reader, writer = await asyncio.open_connection("127.0.0.1", _port(server), ssl=client_ctx,
                                                       server_hostname="localhost")
        cert = writer.get_extra_info("peercert")
        writer.write(payload)
        await writer.drain()
        echoed = await reader.readexactly(len(payload))
        writer.close()
        await writer.wait_closed()
        server.close()
        await server.wait_closed()
        return cert, echoed

    cert, echoed = run(aloop, main(), timeout=60)
    assert echoed == payload
    assert dict(x[0] for x in cert["subject"])["commonName"] == "localhost"


def test_ssl_handshake_failure_fails_the_connection(aloop: Loop, tmp_path: Path) -> None:
    server_ctx, _ = ssl_contexts(tmp_path)
    import ssl

    untrusting = ssl.create_default_context()  # does not trust the self-signed certificate

    async def main() -> None:
        server = await aloop.create_server(EchoServer, "127.0.0.1", 0, ssl=server_ctx)
        try:
            with pytest.raises(ssl.SSLError):
                await aloop.create_connection(Recorder, "127.0.0.1", _port(server), ssl=untrusting,
                                              server_hostname="localhost")
        finally:
            server.close()
            await server.wait_closed()

    run(aloop, main(), timeout=60)


def _sendfile_round_trip(aloop: Loop, make_file: Any, fallback: bool) -> Tuple[int, bytes]:
    """``loop.sendfile(transport, make_file(), fallback=fallback)`` to a sink server: (bytes
    sent, bytes the server received)."""

    async def main() -> Tuple[int, bytes]:
        received = aloop.create_future()

        class Sink(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.buf = bytearray()

            def data_received(self, data: bytes) -> None:
                self.buf += data

            def eof_received(self) -> bool:
                received.set_result(bytes(self.buf))
                return False

        server = await aloop.create_server(Sink, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        with make_file() as f:
            sent = await aloop.sendfile(transport, f, fallback=fallback)
        transport.write_eof()
        data = await received
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        return sent, data

    return run(aloop, main(), timeout=60)


def test_loop_sendfile_of_a_real_file_takes_the_zero_copy_path(aloop: Loop, tmp_path: Path) -> None:
    # fallback=False: asyncio raises RuntimeError unless the loop's native path sent it
    payload = os.urandom(3 << 20)
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)
    sent, data = _sendfile_round_trip(aloop, lambda: open(path, "rb"), fallback=False)
    assert sent == len(payload)
    assert data == payload


def test_loop_sendfile_of_a_file_without_an_fd_falls_back_to_writes(aloop: Loop) -> None:
    payload = os.urandom(1 << 20)
    sent, data = _sendfile_round_trip(aloop, lambda: io.BytesIO(payload), fallback=True)
    assert sent == len(payload)
    assert data == payload


def test_start_tls_upgrades_a_plain_connection(aloop: Loop, tmp_path: Path) -> None:
    server_ctx, client_ctx = ssl_contexts(tmp_path)

    class Line(asyncio.Protocol):
        """Collects lines into a queue; ``transport`` is whichever transport is current."""

        def __init__(self) -> None:
            self.lines: "asyncio.Queue[bytes]" = asyncio.Queue()
            self.buf = b""

        def connection_made(self, transport: Any) -> None:
            self.transport = transport

        def data_received(self, data: bytes) -> None:
            self.buf += data
            while b"\n" in self.buf:
                line, self.buf = self.buf.split(b"\n", 1)
                self.lines.put_nowait(line)

    async def serve(proto: Line) -> None:
        assert await proto.lines.get() == b"STARTTLS"
        proto.transport.write(b"OK\n")
        tls = await aloop.start_tls(proto.transport, proto, server_ctx, server_side=True)
        line = await proto.lines.get()
        tls.write(b"secure " + line + b"\n")

    def factory() -> Line:
        proto = Line()
        asyncio.ensure_future(serve(proto))
        return proto

    async def main() -> Tuple[bytes, bytes]:
        server = await aloop.create_server(factory, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Line, "127.0.0.1", _port(server))
        transport.write(b"STARTTLS\n")
        ok = await proto.lines.get()
        tls = await aloop.start_tls(transport, proto, client_ctx, server_hostname="localhost")
        assert tls.get_extra_info("peercert") is not None
        tls.write(b"hello\n")
        answer = await proto.lines.get()
        tls.close()
        server.close()
        return ok, answer

    assert run(aloop, main(), timeout=60) == (b"OK", b"secure hello")


def test_create_connection_returns_before_the_first_data_reaches_the_protocol(aloop: Loop) -> None:
    # asyncio's order: the coroutine awaiting the connection resumes before data_received runs,
    # even when the peer sends at once (CPython's test_buffered_proto relies on it)
    async def main() -> List[str]:
        order: List[str] = []

        class Greeter(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                transport.write(b"welcome")

        class Client(asyncio.Protocol):
            def data_received(self, data: bytes) -> None:
                order.append("data")

        server = await aloop.create_server(Greeter, "127.0.0.1", 0)
        transport, _ = await aloop.create_connection(Client, "127.0.0.1", _port(server))
        order.append("create_connection returned")
        while "data" not in order:
            await asyncio.sleep(0.001)
        transport.close()
        server.close()
        await server.wait_closed()
        return order

    assert run(aloop, main()) == ["create_connection returned", "data"]


def test_sendfile_native_sends_the_file_zero_copy_and_blocks_bare_writes(aloop: Loop, tmp_path: Path) -> None:
    from uvffi.aio.stream import sendfile_native

    payload = os.urandom(5 << 20)  # more than the socket buffers: the sender must wait for writability
    path = tmp_path / "payload.bin"
    path.write_bytes(payload)

    async def main() -> Tuple[int, int, bytes]:
        received = aloop.create_future()

        class Sink(asyncio.Protocol):
            def connection_made(self, transport: Any) -> None:
                self.buf = bytearray()

            def data_received(self, data: bytes) -> None:
                self.buf += data

            def eof_received(self) -> bool:
                received.set_result(bytes(self.buf))
                return False

        server = await aloop.create_server(Sink, "127.0.0.1", 0)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(b"head:")
        with open(path, "rb") as f:
            task = asyncio.ensure_future(sendfile_native(aloop, transport, f, 0, None))
            await asyncio.sleep(0)
            with pytest.raises(RuntimeError, match="sendfile is in progress"):
                transport.write(b"in the middle")
            sent = await task
            position = f.tell()
        transport.write(b":tail")
        transport.write_eof()
        data = await received
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        return sent, position, data

    sent, position, data = run(aloop, main(), timeout=60)
    assert sent == position == len(payload)
    assert data == b"head:" + payload + b":tail"


def test_unix_server_cleanup_socket_removes_the_file_at_close(aloop: Loop, tmp_path: Path) -> None:
    path = tmp_path / "cleanup.sock"

    async def main() -> Tuple[bool, bool]:
        server = await aloop.create_unix_server(EchoServer, str(path), cleanup_socket=True)
        existed = path.exists()
        server.close()
        await server.wait_closed()
        return existed, path.exists()

    assert run(aloop, main()) == (True, False)


def test_unix_server_cleanup_socket_false_leaves_the_file(aloop: Loop, tmp_path: Path) -> None:
    path = tmp_path / "kept.sock"

    async def main() -> bool:
        server = await aloop.create_unix_server(EchoServer, str(path), cleanup_socket=False)
        server.close()
        await server.wait_closed()
        return path.exists()

    assert run(aloop, main())


# -- the read callback and write's plain case (in C on CPython: _c/aio_stream.c) -----------------

def test_data_received_error_goes_to_the_handler_as_the_exception_being_handled(aloop: Loop) -> None:
    seen: List[Any] = []

    def handler(loop: Any, context: Any) -> None:
        seen.append((context, sys.exc_info()[1]))

    class Failing(Recorder):
        def data_received(self, data: bytes) -> None:
            raise ZeroDivisionError("boom")

    async def main() -> Any:
        aloop.set_exception_handler(handler)
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Failing, "127.0.0.1", _port(server))
        transport.write(b"x")
        lost = await proto.lost
        server.close()
        await server.wait_closed()
        return transport, proto, lost

    transport, proto, lost = run(aloop, main())
    assert len(seen) == 1
    context, handled = seen[0]
    assert context["message"] == "Fatal error: protocol.data_received() call failed."
    assert isinstance(context["exception"], ZeroDivisionError)
    assert context["exception"].__traceback__ is not None
    assert context["transport"] is transport and context["protocol"] is proto
    assert handled is context["exception"]  # as inside the Python method's except clause
    assert lost is context["exception"]  # connection_lost(exc)
    assert sys.exc_info() == (None, None, None)


def test_keyboard_interrupt_in_data_received_propagates_and_leaves_the_transport_open(aloop: Loop) -> None:
    class Interrupting(Recorder):
        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if data == b"stop":
                raise KeyboardInterrupt

    async def connect() -> Any:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Interrupting, "127.0.0.1", _port(server))
        return server, transport, proto

    server, transport, proto = run(aloop, connect())
    transport.write(b"stop")
    with pytest.raises(KeyboardInterrupt):
        aloop.run_forever()
    assert not transport.is_closing() and transport.is_reading()
    transport.write(b"more")  # the transport goes on where it was interrupted

    async def rest() -> bytes:
        while len(proto.data) < 8:
            await asyncio.sleep(0.01)
        transport.close()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data)

    assert run(aloop, rest()) == b"stopmore"


def test_a_write_the_kernel_takes_in_part_is_queued_and_arrives_whole_in_order(aloop: Loop) -> None:
    big = bytes(range(256)) * (16 << 10)  # 4 MiB: more than the socket buffers take at once

    async def main() -> Tuple[bytes, int]:
        server = await _tcp_echo_server(aloop)
        transport, proto = await aloop.create_connection(Recorder, "127.0.0.1", _port(server))
        transport.write(big)
        queued = transport.get_write_buffer_size()
        transport.write(b"tail")
        transport.write_eof()
        await proto.lost
        server.close()
        await server.wait_closed()
        return bytes(proto.data), queued

    data, queued = run(aloop, main(), timeout=60)
    assert 0 < queued < len(big)  # the head went at once, only the rest was queued
    assert data == big + b"tail"
