"""uvffi.Pipe: unix sockets by name (str, bytes, PathLike, Linux's abstract names), fds,
and IPC pipes carrying handles. Sockets live in a temporary directory."""

from __future__ import annotations

import os
import socket
import sys
from pathlib import Path
from typing import Any, List, Optional

import pytest

import uvffi
from uvffi import errno
from uvffi.error import PipeError, StreamError


def echo_server(loop: uvffi.Loop, name: Any) -> uvffi.Pipe:
    srv = uvffi.Pipe(loop)
    srv.bind(name)

    def on_connection(h: uvffi.Pipe, error: Optional[int]) -> None:
        conn = uvffi.Pipe(loop)
        h.accept(conn)

        def on_read(c: uvffi.Pipe, data: Optional[bytes], err: Optional[int]) -> None:
            if data is None:
                c.close()
            else:
                c.write(data)

        conn.start_read(on_read)

    srv.listen(on_connection)
    return srv


def round_trip(loop: uvffi.Loop, srv: uvffi.Pipe, name: Any, msg: bytes = b"hi") -> List[Any]:
    got: List[Any] = []
    client = uvffi.Pipe(loop)

    def on_read(h: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        got.append(data)
        h.close()
        srv.close()

    def on_connect(h: uvffi.Pipe, error: Optional[int]) -> None:
        assert error is None
        got.append(h.getpeername())
        h.start_read(on_read)
        h.write(msg)

    client.connect(name, on_connect)
    loop.run()
    return got


def test_echo_over_a_named_socket(loop: uvffi.Loop, tmp_path: Path) -> None:
    name = str(tmp_path / "sock")
    srv = echo_server(loop, name)
    assert srv.getsockname() == name
    assert round_trip(loop, srv, name) == [name, b"hi"]


def test_pathlike_names(loop: uvffi.Loop, tmp_path: Path) -> None:
    path = tmp_path / "sock-path"
    srv = echo_server(loop, path)
    assert round_trip(loop, srv, path) == [str(path), b"hi"]


def test_bytes_names(loop: uvffi.Loop, tmp_path: Path) -> None:
    name = os.fsencode(tmp_path / "sock-bytes")
    srv = echo_server(loop, name)
    assert round_trip(loop, srv, name)[1] == b"hi"


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="abstract sockets are Linux's")
def test_abstract_namespace_names(loop: uvffi.Loop) -> None:
    name = "\0uvffi-test-%d" % os.getpid()
    if uvffi.lib.uv_version() < 0x012E00:  # a system libuv older than 1.46 (UVFFI_USE_SYSTEM_LIBUV=1)
        with pytest.raises(uvffi.error.FeatureUnavailableError):
            uvffi.Pipe(loop).bind(name)
        return
    srv = echo_server(loop, name)
    assert srv.getsockname() == name
    assert round_trip(loop, srv, name) == [name, b"hi"]


def test_connect_to_a_missing_socket_gives_the_callback_an_error(loop: uvffi.Loop, tmp_path: Path) -> None:
    errors: List[Optional[int]] = []
    uvffi.Pipe(loop).connect(str(tmp_path / "nothing"), lambda h, e: (errors.append(e), h.close()))
    loop.run()
    assert errors == [errno.UV_ENOENT]


def test_bind_to_a_name_in_use_raises(loop: uvffi.Loop, tmp_path: Path) -> None:
    name = str(tmp_path / "busy")
    echo_server(loop, name)
    with pytest.raises(PipeError) as info:
        uvffi.Pipe(loop).bind(name)
    assert info.value.args[0] == errno.UV_EADDRINUSE


def test_a_name_too_long_raises_instead_of_truncating(loop: uvffi.Loop, tmp_path: Path) -> None:
    with pytest.raises(PipeError) as info:
        uvffi.Pipe(loop).bind(str(tmp_path / ("x" * 200)))
    assert info.value.args[0] == errno.UV_EINVAL


@pytest.mark.parametrize("name, exc", [(42, TypeError), ("", ValueError), ("a\0b", ValueError)])
def test_bad_names_raise(loop: uvffi.Loop, name: Any, exc: type) -> None:
    with pytest.raises(exc):
        uvffi.Pipe(loop).bind(name)
    with pytest.raises(exc):
        uvffi.Pipe(loop).connect(name, lambda h, e: None)


def test_pipe_error_is_a_stream_error() -> None:
    assert issubclass(PipeError, StreamError)


def test_ipc_flag(loop: uvffi.Loop) -> None:
    assert uvffi.Pipe(loop, True).ipc and not uvffi.Pipe(loop).ipc
    with pytest.raises(TypeError):
        uvffi.Pipe(loop, 1)  # type: ignore[arg-type]


def test_open_a_socketpair_end(loop: uvffi.Loop) -> None:
    a_fd, b_fd = uvffi.socketpair()
    p = uvffi.Pipe(loop)
    p.open(a_fd)
    assert p.fileno() == a_fd and p.readable and p.writable
    os.close(b_fd)


def test_pending_handle_type_is_unknown_without_a_handle(loop: uvffi.Loop) -> None:
    assert uvffi.Pipe(loop, True).pending_handle_type() == uvffi.UV_UNKNOWN_HANDLE


def test_pending_instances_is_accepted(loop: uvffi.Loop) -> None:
    uvffi.Pipe(loop).pending_instances(4)


def _ipc_pair(loop: uvffi.Loop) -> Any:
    a_fd, b_fd = uvffi.socketpair()
    a, b = uvffi.Pipe(loop, True), uvffi.Pipe(loop, True)
    a.open(a_fd)
    b.open(b_fd)
    return a, b


def test_send_a_tcp_server_over_ipc_and_accept_it(loop: uvffi.Loop) -> None:
    a, b = _ipc_pair(loop)
    srv = uvffi.TCP(loop)
    srv.bind(("127.0.0.1", 0))
    addr = srv.getsockname()
    seen: List[Any] = []
    a.write(b"take this", lambda h, e: seen.append(("sent", e)), send_handle=srv)

    def on_read(h: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        seen.append((data, h.pending_handle_type()))
        received = uvffi.TCP(loop)
        h.accept(received)
        seen.append(received.getsockname())
        received.close()
        h.close()
        a.close()
        srv.close()

    b.start_read(on_read)
    loop.run()
    assert seen == [("sent", None), (b"take this", uvffi.UV_TCP), addr]


def test_send_a_connected_pipe_over_ipc(loop: uvffi.Loop) -> None:
    a, b = _ipc_pair(loop)
    x_fd, y_fd = uvffi.socketpair()
    x, y = uvffi.Pipe(loop), uvffi.Pipe(loop)
    x.open(x_fd)
    y.open(y_fd)
    got: List[Any] = []
    a.write(b".", send_handle=x)

    def on_read(h: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        assert h.pending_handle_type() == uvffi.UV_NAMED_PIPE
        received = uvffi.Pipe(loop)
        h.accept(received)
        received.write(b"via the passed pipe", lambda r, e: r.close())
        y.start_read(lambda yy, d, e: (got.append(d), yy.close()))
        h.close()
        a.close()
        x.close()

    b.start_read(on_read)
    loop.run()
    assert got == [b"via the passed pipe"]


def test_send_handle_needs_an_ipc_pipe(loop: uvffi.Loop) -> None:
    a_fd, b_fd = uvffi.socketpair()
    p = uvffi.Pipe(loop)
    p.open(a_fd)
    with pytest.raises(PipeError):
        p.write(b"x", send_handle=uvffi.TCP(loop, 2))
    os.close(b_fd)


def test_send_handle_must_be_a_stream_or_udp(loop: uvffi.Loop) -> None:
    a, b = _ipc_pair(loop)
    with pytest.raises(TypeError):
        a.write(b"x", send_handle=uvffi.Timer(loop))
    with pytest.raises(TypeError):
        a.write(b"x", send_handle=object())  # type: ignore[arg-type]


def test_shutdown_right_after_connect_calls_back_and_peer_sees_eof(loop: uvffi.Loop, tmp_path: Path) -> None:
    # libuv would keep the shutdown pending for ever (nothing queued while connecting)
    name = str(tmp_path / "sock")
    events: List[Any] = []
    srv = uvffi.Pipe(loop)
    srv.bind(name)

    def on_connection(h: uvffi.Pipe, error: Optional[int]) -> None:
        conn = uvffi.Pipe(loop)
        h.accept(conn)
        conn.start_read(lambda c, d, e: (events.append(("server", d, e)), c.close(), srv.close()))

    srv.listen(on_connection)
    client = uvffi.Pipe(loop)
    client.connect(name, lambda h, e: events.append(("connect", e)))
    client.shutdown(lambda h, e: (events.append(("shutdown", e)), h.close()))
    guard = uvffi.Timer(loop)
    guard.ref = False
    guard.start(lambda t: t.loop.stop(), 5.0, 0)  # a hang ends here and fails below
    loop.run()
    assert events[0] == ("connect", None)
    assert ("shutdown", None) in events and ("server", None, errno.UV_EOF) in events


def test_getsockname_of_a_pipe_on_a_tcp_socket_raises(loop: uvffi.Loop) -> None:
    """libuv would read the TCP address as a unix socket's path (garbage): the family is
    checked, and a socket of another family raises EAFNOSUPPORT."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        p = uvffi.Pipe(loop)
        p.open(os.dup(s.fileno()))
        with pytest.raises(PipeError) as info:
            p.getsockname()
        assert info.value.args[0] == errno.UV_EAFNOSUPPORT
        p.close()
        loop.run()


def test_getpeername_of_a_pipe_on_a_connected_tcp_socket_raises(loop: uvffi.Loop) -> None:
    with socket.create_server(("127.0.0.1", 0)) as srv, socket.create_connection(srv.getsockname()) as c:
        p = uvffi.Pipe(loop)
        p.open(os.dup(c.fileno()))
        with pytest.raises(PipeError) as info:
            p.getpeername()
        assert info.value.args[0] == errno.UV_EAFNOSUPPORT
        p.close()
        loop.run()
