"""uvffi.aio.Loop: add_reader/add_writer and the sock_* coroutines over loopback
TCP, UDP and Unix sockets."""

from __future__ import annotations

import asyncio
import errno
import os
import socket
import tempfile
from typing import Any, BinaryIO, Iterator, List, Tuple

import pytest

import uvffi
import uvffi.aio


@pytest.fixture
def pair() -> Iterator[Tuple[socket.socket, socket.socket]]:
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def _tcp_listener() -> socket.socket:
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(("127.0.0.1", 0))
    srv.listen(8)
    srv.setblocking(False)
    return srv


# -- add_reader / add_writer -------------------------------------------------


def test_add_reader_calls_back_when_the_socket_is_readable(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    got: List[bytes] = []

    def on_readable() -> None:
        got.append(a.recv(100))
        aloop.remove_reader(a)
        aloop.stop()

    aloop.add_reader(a, on_readable)
    aloop.call_soon(b.send, b"ping")
    aloop.run_forever()
    assert got == [b"ping"]


def test_add_reader_accepts_an_int_fd_and_passes_args(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    got: List[Any] = []

    def on_readable(tag: str) -> None:
        got.append((tag, a.recv(100)))
        aloop.stop()

    aloop.add_reader(a.fileno(), on_readable, "tag")
    b.send(b"x")
    aloop.run_forever()
    assert got == [("tag", b"x")]
    assert aloop.remove_reader(a.fileno()) is True


def test_add_writer_calls_back_when_the_socket_is_writable(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, _ = pair
    calls: List[int] = []

    def on_writable() -> None:
        calls.append(a.send(b"data"))
        aloop.remove_writer(a)
        aloop.stop()

    aloop.add_writer(a, on_writable)
    aloop.run_forever()
    assert calls == [4]


def test_reader_and_writer_share_one_fd_and_are_removed_separately(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    seen: List[str] = []
    aloop.add_reader(a, seen.append, "r")
    aloop.add_writer(a, seen.append, "w")
    b.send(b"x")
    aloop.run_until_complete(asyncio.sleep(0.01))
    assert "r" in seen and "w" in seen
    assert aloop.remove_writer(a) is True
    seen.clear()
    aloop.run_until_complete(asyncio.sleep(0.01))
    assert seen and set(seen) == {"r"}
    assert aloop.remove_reader(a) is True


def test_remove_reader_and_writer_return_false_when_nothing_is_registered(aloop: uvffi.aio.Loop,
                                                                          pair: Any) -> None:
    a, _ = pair
    assert aloop.remove_reader(a) is False
    assert aloop.remove_writer(a) is False
    aloop.add_reader(a, lambda: None)
    assert aloop.remove_writer(a) is False
    assert aloop.remove_reader(a) is True
    assert aloop.remove_reader(a) is False


def test_callbacks_of_a_socket_closed_since_are_removed_by_the_socket(aloop: uvffi.aio.Loop, pair: Any) -> None:
    # anyio closes a socket, then removes its callbacks: fileno() is -1 by then (asyncio's
    # selector finds the registration by the object)
    a, b = pair
    aloop.add_reader(a, lambda: None)
    aloop.add_writer(a, lambda: None)
    a.close()
    assert aloop.remove_reader(a) is True
    assert aloop.remove_writer(a) is True
    with pytest.raises(ValueError):  # gone now: as asyncio, a closed object is no fd
        aloop.remove_reader(a)
    aloop.run_until_complete(asyncio.sleep(0))  # no Poll left on the closed fd


def test_remove_reader_of_a_closed_socket_never_added_is_a_value_error(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, _ = pair
    a.close()
    with pytest.raises(ValueError):
        aloop.remove_reader(a)


def test_add_reader_replaces_the_previous_reader(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    seen: List[str] = []
    aloop.add_reader(a, seen.append, "old")
    aloop.add_reader(a, seen.append, "new")
    b.send(b"x")
    aloop.run_until_complete(asyncio.sleep(0.01))
    assert seen and set(seen) == {"new"}
    aloop.remove_reader(a)


def test_add_reader_keeps_a_blocking_socket_blocking(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    try:
        aloop.add_reader(a, lambda: None)
        assert a.getblocking() and os.get_blocking(a.fileno())
        aloop.remove_reader(a)
    finally:
        a.close()
        b.close()


def test_add_reader_with_an_invalid_file_object_raises_value_error(aloop: uvffi.aio.Loop) -> None:
    with pytest.raises(ValueError):
        aloop.add_reader(object(), lambda: None)
    with pytest.raises(ValueError):
        aloop.add_reader(-1, lambda: None)


def test_add_reader_of_a_closed_fd_raises_os_error(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    fd = a.fileno()
    a.close()
    b.close()
    with pytest.raises(OSError):
        aloop.add_reader(fd, lambda: None)


def test_closing_a_registered_socket_before_the_loop_runs_does_not_crash(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    seen: List[str] = []
    aloop.add_reader(a, seen.append, "r")
    a.close()  # libuv would abort() on the epoll ADD of a closed fd; the loop checks first
    aloop.run_until_complete(asyncio.sleep(0.005))
    b.close()
    assert seen == []


def test_add_reader_after_close_raises(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, _ = pair
    aloop.close()
    with pytest.raises(RuntimeError):
        aloop.add_reader(a, lambda: None)
    assert aloop.remove_reader(a) is False


def test_reader_of_a_socket_with_an_error_is_called(aloop: uvffi.aio.Loop) -> None:
    # a refused connect: epoll reports EPOLLERR, libuv stops the Poll with UV_EBADF,
    # asyncio's selectors report it as an event: the callback must run
    srv = _tcp_listener()
    port = srv.getsockname()[1]
    srv.close()
    s = socket.socket()
    s.setblocking(False)
    try:
        try:
            s.connect(("127.0.0.1", port))
        except BlockingIOError:
            pass
        fut = aloop.create_future()
        aloop.add_writer(s, lambda: fut.done() or fut.set_result(s.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)))
        err = aloop.run_until_complete(fut)
        aloop.remove_writer(s)
        assert err != 0
    finally:
        s.close()


# -- sock_* over TCP -----------------------------------------------------------


def test_sock_connect_accept_sendall_recv_over_tcp(aloop: uvffi.aio.Loop) -> None:
    srv = _tcp_listener()
    addr = srv.getsockname()

    async def main() -> Tuple[bytes, bytes]:
        client = socket.socket()
        client.setblocking(False)
        accept = asyncio.ensure_future(aloop.sock_accept(srv))
        await aloop.sock_connect(client, addr)
        conn, peer = await accept
        assert peer == client.getsockname()
        assert conn.gettimeout() == 0
        big = os.urandom(4 * 1024 * 1024)  # more than the socket buffers: sendall has to wait
        send = asyncio.ensure_future(aloop.sock_sendall(client, big))
        got = bytearray()
        while len(got) < len(big):
            chunk = await aloop.sock_recv(conn, 65536)
            assert chunk
            got += chunk
        await send
        await aloop.sock_sendall(conn, b"reply")
        reply = await aloop.sock_recv(client, 100)
        conn.close()
        client.close()
        return bytes(got) == big and b"ok" or b"bad", reply

    try:
        assert aloop.run_until_complete(main()) == (b"ok", b"reply")
    finally:
        srv.close()


def test_sock_connect_resolves_localhost(aloop: uvffi.aio.Loop) -> None:
    srv = _tcp_listener()
    port = srv.getsockname()[1]

    async def main() -> Any:
        client = socket.socket()
        client.setblocking(False)
        try:
            await aloop.sock_connect(client, ("localhost", port))
            return client.getpeername()
        finally:
            client.close()

    try:
        assert aloop.run_until_complete(main()) == ("127.0.0.1", port)
    finally:
        srv.close()


def test_sock_connect_to_a_closed_port_raises_connection_refused(aloop: uvffi.aio.Loop) -> None:
    srv = _tcp_listener()
    addr = srv.getsockname()
    srv.close()
    client = socket.socket()
    client.setblocking(False)
    try:
        with pytest.raises(ConnectionRefusedError):
            aloop.run_until_complete(aloop.sock_connect(client, addr))
    finally:
        client.close()


def test_sock_recv_into_fills_the_buffer(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    buf = bytearray(10)

    async def main() -> int:
        task = asyncio.ensure_future(aloop.sock_recv_into(a, buf))
        await asyncio.sleep(0.001)
        await aloop.sock_sendall(b, b"12345")
        return await task

    assert aloop.run_until_complete(main()) == 5
    assert bytes(buf[:5]) == b"12345"


def test_sock_recv_returns_empty_bytes_at_eof(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair

    async def main() -> bytes:
        task = asyncio.ensure_future(aloop.sock_recv(a, 10))
        await asyncio.sleep(0.001)
        b.shutdown(socket.SHUT_WR)
        return await task

    assert aloop.run_until_complete(main()) == b""


def test_a_cancelled_sock_recv_removes_its_reader(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair

    async def main() -> bytes:
        task = asyncio.ensure_future(aloop.sock_recv(a, 10))
        await asyncio.sleep(0.001)
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task
        assert aloop.remove_reader(a) is False  # already gone
        b.send(b"after")
        return await aloop.sock_recv(a, 10)

    assert aloop.run_until_complete(main()) == b"after"


def test_sock_methods_refuse_a_blocking_socket_in_debug_mode(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    aloop.set_debug(True)
    try:
        with pytest.raises(ValueError, match="non-blocking"):
            aloop.run_until_complete(aloop.sock_recv(a, 1))
        with pytest.raises(ValueError, match="non-blocking"):
            aloop.run_until_complete(aloop.sock_sendall(a, b"x"))
    finally:
        a.close()
        b.close()


def test_sock_methods_refuse_an_ssl_socket(aloop: uvffi.aio.Loop) -> None:
    ssl = pytest.importorskip("ssl")
    ctx = ssl.create_default_context()
    raw = socket.socket()
    wrapped = ctx.wrap_socket(raw, do_handshake_on_connect=False, server_hostname="example.invalid")
    try:
        with pytest.raises(TypeError):
            aloop.run_until_complete(aloop.sock_recv(wrapped, 1))
    finally:
        wrapped.close()


def test_sock_sendfile_sends_a_file(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    payload = os.urandom(300_000)
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.seek(0)

        async def main() -> Tuple[int, bytes]:
            received = bytearray()

            async def reader() -> None:
                while len(received) < len(payload):
                    chunk = await aloop.sock_recv(b, 65536)
                    if not chunk:
                        break
                    received.extend(chunk)

            task = asyncio.ensure_future(reader())
            sent = await aloop.sock_sendfile(a, f)
            await task
            return sent, bytes(received)

        sent, received = aloop.run_until_complete(main())
    assert sent == len(payload)
    assert received == payload


def _sendfile_run(aloop: uvffi.aio.Loop, a: socket.socket, b: socket.socket, f: Any, size: int,
                  **kwargs: Any) -> Tuple[int, bytes]:
    """``sock_sendfile(a, f, **kwargs)`` with ``b`` read until ``size`` bytes came."""
    async def main() -> Tuple[int, bytes]:
        received = bytearray()

        async def reader() -> None:
            while len(received) < size:
                chunk = await aloop.sock_recv(b, 65536)
                if not chunk:
                    break
                received.extend(chunk)

        task = asyncio.ensure_future(reader())
        sent = await aloop.sock_sendfile(a, f, **kwargs)
        await task
        return sent, bytes(received)

    return aloop.run_until_complete(main())


def _no_fallback(*args: Any) -> Any:
    raise AssertionError("the fallback ran")


def test_sock_sendfile_of_a_regular_file_uses_os_sendfile(aloop: uvffi.aio.Loop, pair: Any,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    calls: List[int] = []
    real = os.sendfile

    def counting(*args: Any) -> int:
        calls.append(args[3])
        return real(*args)

    monkeypatch.setattr(os, "sendfile", counting)
    monkeypatch.setattr(aloop, "_sock_sendfile_fallback", _no_fallback)
    payload = os.urandom(1_000_000)
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.seek(0)
        sent, received = _sendfile_run(aloop, a, b, f, len(payload), fallback=False)
        assert f.tell() == len(payload)
    assert (sent, received) == (len(payload), payload)
    assert len(calls) > 1  # a socketpair's buffer takes less than 1 MB: it waited to write


def test_sock_sendfile_sends_count_bytes_from_offset_and_leaves_the_position_after(
        aloop: uvffi.aio.Loop, pair: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    a, b = pair
    monkeypatch.setattr(aloop, "_sock_sendfile_fallback", _no_fallback)
    payload = os.urandom(200_000)
    with tempfile.TemporaryFile() as f:
        f.write(payload)
        f.flush()
        sent, received = _sendfile_run(aloop, a, b, f, 50_000, offset=1000, count=50_000, fallback=False)
        assert f.tell() == 51_000
    assert (sent, received) == (50_000, payload[1000:51_000])


def test_sock_sendfile_with_a_count_past_the_end_sends_the_rest(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    with tempfile.TemporaryFile() as f:
        f.write(b"0123456789")
        f.flush()
        sent, received = _sendfile_run(aloop, a, b, f, 4, offset=6, count=100, fallback=False)
    assert (sent, received) == (4, b"6789")


def test_sock_sendfile_of_an_empty_file_sends_nothing(aloop: uvffi.aio.Loop, pair: Any) -> None:
    a, b = pair
    with tempfile.TemporaryFile() as f:
        assert aloop.run_until_complete(aloop.sock_sendfile(a, f, fallback=False)) == 0


def test_sock_sendfile_of_a_file_with_no_fd_needs_the_fallback(aloop: uvffi.aio.Loop, pair: Any) -> None:
    import io
    a, b = pair
    with pytest.raises(asyncio.SendfileNotAvailableError):
        aloop.run_until_complete(aloop.sock_sendfile(a, io.BytesIO(b"data"), fallback=False))
    sent, received = _sendfile_run(aloop, a, b, io.BytesIO(b"data"), 4)
    assert (sent, received) == (4, b"data")


@pytest.fixture
def big_file() -> Iterator[BinaryIO]:
    """A temporary file of 8,000,000 random bytes, at its start: more than a socket pair buffers."""
    with tempfile.TemporaryFile() as f:
        f.write(os.urandom(8_000_000))
        f.seek(0)
        yield f


def test_sock_sendfile_to_a_peer_that_goes_away_raises_and_keeps_the_position(
        aloop: uvffi.aio.Loop, pair: Any, big_file: BinaryIO) -> None:
    a, b = pair

    async def main() -> None:
        await aloop.sock_recv(b, 1)  # the first bytes are out
        b.close()

    task = aloop.create_task(main())
    with pytest.raises(OSError) as info:
        aloop.run_until_complete(aloop.sock_sendfile(a, big_file, fallback=False))
    aloop.run_until_complete(task)
    assert info.value.errno in (errno.EPIPE, errno.ECONNRESET)
    assert 0 < big_file.tell() < 8_000_000
    assert not aloop.remove_writer(a)


def test_a_cancelled_sock_sendfile_removes_its_writer_and_keeps_the_position(
        aloop: uvffi.aio.Loop, pair: Any, big_file: BinaryIO) -> None:
    a, b = pair

    async def main() -> None:
        task = aloop.create_task(aloop.sock_sendfile(a, big_file, fallback=False))
        await aloop.sock_recv(b, 1)  # started, and waiting for the peer to read
        task.cancel()
        with pytest.raises(asyncio.CancelledError):
            await task

    aloop.run_until_complete(main())
    assert 0 < big_file.tell() < 8_000_000
    assert not aloop.remove_writer(a)


# -- UDP -------------------------------------------------------------------------


def test_sock_sendto_and_recvfrom_over_udp(aloop: uvffi.aio.Loop) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (rx, tx):
        s.setblocking(False)
    rx.bind(("127.0.0.1", 0))
    tx.bind(("127.0.0.1", 0))

    async def main() -> Any:
        task = asyncio.ensure_future(aloop.sock_recvfrom(rx, 100))
        await asyncio.sleep(0.001)
        n = await aloop.sock_sendto(tx, b"datagram", rx.getsockname())
        return n, await task

    try:
        n, (data, addr) = aloop.run_until_complete(main())
        assert n == 8
        assert data == b"datagram"
        assert addr == tx.getsockname()
    finally:
        rx.close()
        tx.close()


def test_sock_recvfrom_into_over_udp(aloop: uvffi.aio.Loop) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (rx, tx):
        s.setblocking(False)
    rx.bind(("127.0.0.1", 0))
    tx.bind(("127.0.0.1", 0))
    buf = bytearray(64)

    async def main() -> Any:
        task = asyncio.ensure_future(aloop.sock_recvfrom_into(rx, buf, 4))
        await asyncio.sleep(0.001)
        tx.sendto(b"abcdefgh", rx.getsockname())
        return await task

    try:
        n, addr = aloop.run_until_complete(main())
        assert n == 4 and bytes(buf[:4]) == b"abcd"
        assert addr == tx.getsockname()
    finally:
        rx.close()
        tx.close()


# -- Unix sockets -----------------------------------------------------------------


def test_sock_connect_and_accept_over_a_unix_socket(aloop: uvffi.aio.Loop) -> None:
    with tempfile.TemporaryDirectory() as d:
        path = os.path.join(d, "s.sock")
        srv = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        srv.bind(path)
        srv.listen(1)
        srv.setblocking(False)

        async def main() -> bytes:
            client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            client.setblocking(False)
            accept = asyncio.ensure_future(aloop.sock_accept(srv))
            await aloop.sock_connect(client, path)
            conn, _ = await accept
            await aloop.sock_sendall(client, b"over unix")
            data = await aloop.sock_recv(conn, 100)
            conn.close()
            client.close()
            return data

        try:
            assert aloop.run_until_complete(main()) == b"over unix"
        finally:
            srv.close()


class _Wrapped:
    """A socket stand-in whose methods can be replaced between two tries of the loop."""

    def __init__(self, sock: socket.socket) -> None:
        self._sock = sock
        self.sendto: Any = self._would_block

    @staticmethod
    def _would_block(*args: Any) -> int:
        raise BlockingIOError

    def fileno(self) -> int:
        return self._sock.fileno()

    def gettimeout(self) -> float:
        return 0.0


def test_sock_sendto_looks_the_method_up_at_each_try(aloop: uvffi.aio.Loop) -> None:
    rx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    tx = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for s in (rx, tx):
        s.setblocking(False)
    rx.bind(("127.0.0.1", 0))
    wrapped = _Wrapped(tx)

    async def main() -> Any:
        # the first tries would block; then the real method is put in place, and the
        # retry of the writable socket must use it
        aloop.call_soon(setattr, wrapped, "sendto", tx.sendto)
        await aloop.sock_sendto(wrapped, b"late", rx.getsockname())  # type: ignore[arg-type]
        return await aloop.sock_recvfrom(rx, 100)

    try:
        data, _ = aloop.run_until_complete(main())
        assert data == b"late"
    finally:
        rx.close()
        tx.close()


def test_remove_reader_frees_the_fd_for_another_uvffi_handle_at_once(aloop: uvffi.aio.Loop, pair: Any) -> None:
    # create_connection opens the transport's uvffi handle on the socket right after
    # sock_connect removed its writer: libuv allows one watcher per fd (UV_EEXIST)
    a, _ = pair
    aloop.add_writer(a, lambda: None)
    aloop.run_until_complete(asyncio.sleep(0))
    assert aloop.remove_writer(a) is True
    other = uvffi.Poll(aloop.uv_loop, a.fileno())
    other.close()


def test_another_file_on_the_same_fd_number_gets_its_own_poll(aloop: uvffi.aio.Loop) -> None:
    a, b = socket.socketpair()
    c, d = socket.socketpair()
    fd = a.fileno()
    try:
        aloop.add_reader(a, lambda: None)
        aloop.run_until_complete(asyncio.sleep(0))  # a's file is in epoll
        aloop.remove_reader(fd)
        a.close()
        b.close()
        os.dup2(c.fileno(), fd)  # fd now names another socket (c's): a new file for the same number
        got: List[bytes] = []
        aloop.add_reader(fd, lambda: got.append(os.read(fd, 10)) or aloop.stop())
        d.send(b"new file")
        aloop.call_later(5, aloop.stop)  # a watcher left on the old file would never fire
        aloop.run_forever()
        assert got == [b"new file"]
        aloop.remove_reader(fd)
    finally:
        os.close(fd)
        c.close()
        d.close()
