"""uvffi.TCP: pyuv's API and the semantics issue 12 asks for, one behaviour per test.
Only loopback addresses."""

from __future__ import annotations

import gc
import os
import resource
import socket
from typing import Any, List, Optional, Tuple

import pytest

import uvffi
from uvffi import errno
from uvffi.error import HandleClosedError, StreamError, TCPError

LOCAL = ("127.0.0.1", 0)


def server(loop: uvffi.Loop, on_client: Any = None) -> Tuple[uvffi.TCP, Tuple[str, int]]:
    """A listening TCP server on a free loopback port; ``on_client(conn)`` per accepted connection."""
    srv = uvffi.TCP(loop)
    srv.bind(LOCAL)

    def on_connection(handle: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None
        conn = uvffi.TCP(loop)
        handle.accept(conn)
        if on_client is not None:
            on_client(conn)

    srv.listen(on_connection)
    return srv, srv.getsockname()  # type: ignore[return-value]


def echo(conn: uvffi.TCP) -> None:
    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is not None:
            h.write(data)
        else:
            h.close()

    conn.start_read(on_read)


def test_echo_round_trip(loop: uvffi.Loop) -> None:
    srv, addr = server(loop, echo)
    got: List[bytes] = []
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        got.append(data)  # type: ignore[arg-type]
        h.close()
        srv.close()

    def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None
        h.start_read(on_read)
        h.write(b"ping")

    client.connect(addr, on_connect)
    loop.run()
    assert got == [b"ping"]


def test_read_data_is_bytes(loop: uvffi.Loop) -> None:
    kinds: List[type] = []

    def on_client(conn: uvffi.TCP) -> None:
        conn.write(bytearray(b"abc"))
        conn.close()

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is not None:
            kinds.append(type(data))
        else:
            h.close()
            srv.close()

    client.connect(addr, lambda h, e: h.start_read(on_read))
    loop.run()
    assert kinds == [bytes]


def test_eof_is_none_with_uv_eof(loop: uvffi.Loop) -> None:
    seen: List[Any] = []
    srv, addr = server(loop, lambda conn: conn.close())
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        seen.append((data, error))
        h.close()
        srv.close()

    client.connect(addr, lambda h, e: h.start_read(on_read))
    loop.run()
    assert seen == [(None, errno.UV_EOF)]


def test_eof_is_delivered_once_and_stops_reading(loop: uvffi.Loop) -> None:
    seen: List[Any] = []
    srv, addr = server(loop, lambda conn: conn.close())
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        seen.append(error)

    def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
        h.start_read(on_read)
        srv.close()

    client.connect(addr, on_connect)
    loop.run()  # ends: the client stopped reading at EOF, so nothing keeps the loop alive
    assert seen == [errno.UV_EOF]
    assert not client.active
    client.close()
    loop.run()


def test_read_error_delivered_once_and_close_inside_callback(loop: uvffi.Loop) -> None:
    seen: List[Any] = []

    def on_client(conn: uvffi.TCP) -> None:
        # once the client's byte arrived, an RST: the client's read fails with ECONNRESET
        conn.start_read(lambda c, data, error: c.close_reset())

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        seen.append((data, error))
        h.close()
        srv.close()

    client.connect(addr, lambda h, e: (h.start_read(on_read), h.write(b"x")))
    loop.run()
    assert seen == [(None, errno.UV_ECONNRESET)]
    assert client.closed


def test_connect_to_a_closed_port_gives_the_callback_econnrefused(loop: uvffi.Loop) -> None:
    probe = socket.socket()
    probe.bind(LOCAL)
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    errors: List[Optional[int]] = []
    client = uvffi.TCP(loop)
    client.connect(("127.0.0.1", port), lambda h, e: (errors.append(e), h.close()))
    loop.run()
    assert errors == [errno.UV_ECONNREFUSED]


def test_bind_to_a_port_in_use_raises_eaddrinuse(loop: uvffi.Loop) -> None:
    srv, addr = server(loop)
    other = uvffi.TCP(loop)
    with pytest.raises(TCPError) as info:
        other.bind(addr)
    assert info.value.args[0] == errno.UV_EADDRINUSE


def test_bind_after_eaddrinuse_can_bind_elsewhere(loop: uvffi.Loop) -> None:
    srv, addr = server(loop)
    other = uvffi.TCP(loop)
    with pytest.raises(TCPError):
        other.bind(addr)
    other.bind(LOCAL)
    other.listen(lambda h, e: None)
    assert other.getsockname()[1] != addr[1]


@pytest.mark.parametrize("addr, exc", [
    ("127.0.0.1", TypeError),
    (("127.0.0.1",), TypeError),
    (("127.0.0.1", "80"), TypeError),
    ((b"127.0.0.1", 80), TypeError),
    (("not-an-ip", 80), ValueError),
    (("127.0.0.1", 70000), OverflowError),
    (("127.0.0.1", -1), OverflowError),
])
def test_bad_address_raises_before_libuv(loop: uvffi.Loop, addr: Any, exc: type) -> None:
    tcp = uvffi.TCP(loop)
    with pytest.raises(exc):
        tcp.bind(addr)
    with pytest.raises(exc):
        tcp.connect(addr, lambda h, e: None)
    assert not tcp.active


def test_connect_needs_a_callable(loop: uvffi.Loop) -> None:
    with pytest.raises(TypeError):
        uvffi.TCP(loop).connect(("127.0.0.1", 1), None)  # type: ignore[arg-type]


def test_tcp_error_is_a_stream_error() -> None:
    assert issubclass(TCPError, StreamError)
    assert issubclass(StreamError, uvffi.error.HandleError)


def test_write_on_an_unconnected_socket_raises_tcp_error(loop: uvffi.Loop) -> None:
    with pytest.raises(TCPError):
        uvffi.TCP(loop).write(b"x")


def test_getpeername_of_an_unconnected_socket_raises(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop, socket.AF_INET)
    with pytest.raises(TCPError):
        tcp.getpeername()


def test_family_of_an_unbound_unspec_socket_raises(loop: uvffi.Loop) -> None:
    with pytest.raises(TCPError):
        _ = uvffi.TCP(loop).family


def test_family_follows_the_bound_address(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop)
    tcp.bind(("::1", 0))
    assert tcp.family == socket.AF_INET6


def test_bad_family_raises(loop: uvffi.Loop) -> None:
    with pytest.raises(ValueError):
        uvffi.TCP(loop, socket.AF_UNIX)


def test_ipv6_loopback_echo(loop: uvffi.Loop) -> None:
    srv = uvffi.TCP(loop)
    srv.bind(("::1", 0), uvffi.UV_TCP_IPV6ONLY)
    peers: List[Any] = []

    def on_connection(h: uvffi.TCP, e: Optional[int]) -> None:
        conn = uvffi.TCP(loop)
        h.accept(conn)
        peers.append(conn.getpeername())
        conn.close()
        h.close()

    srv.listen(on_connection)
    client = uvffi.TCP(loop)
    client.connect(srv.getsockname(), lambda h, e: h.close())
    loop.run()
    assert peers[0][0] == "::1" and len(peers[0]) == 4


def test_open_adopts_a_socket(loop: uvffi.Loop) -> None:
    sock = socket.socket()
    sock.bind(LOCAL)
    tcp = uvffi.TCP(loop)
    tcp.open(sock.detach())
    assert tcp.getsockname()[0] == "127.0.0.1"


def test_fileno_matches_the_socket(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop)
    tcp.bind(LOCAL)
    sock = socket.socket(fileno=os.dup(tcp.fileno()))
    try:
        assert sock.getsockname() == tcp.getsockname()
    finally:
        sock.close()


def test_options_take_bools(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop, socket.AF_INET)
    tcp.nodelay(True)
    tcp.keepalive(True, 30)
    tcp.simultaneous_accepts(False)
    with pytest.raises(TypeError):
        tcp.nodelay(1)  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        tcp.keepalive(True, -1)


def test_buffer_sizes_can_be_set(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop, socket.AF_INET)
    tcp.send_buffer_size = 65536
    assert tcp.send_buffer_size >= 65536
    assert tcp.receive_buffer_size > 0


def test_readable_writable_follow_the_connection(loop: uvffi.Loop) -> None:
    srv, addr = server(loop, lambda c: c.close())
    client = uvffi.TCP(loop)
    states: List[Any] = [(client.readable, client.writable)]

    def on_connect(h: uvffi.TCP, e: Optional[int]) -> None:
        states.append((h.readable, h.writable))
        h.close()
        srv.close()

    client.connect(addr, on_connect)
    loop.run()
    assert states == [(False, False), (True, True)]


def test_shutdown_calls_back_then_peer_sees_eof(loop: uvffi.Loop) -> None:
    events: List[Any] = []

    def on_client(conn: uvffi.TCP) -> None:
        def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            events.append(("server", data, error))
            if data is None:
                h.close()
                srv.close()

        conn.start_read(on_read)

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_connect(h: uvffi.TCP, e: Optional[int]) -> None:
        h.write(b"last")
        h.shutdown(lambda h, e: (events.append(("shutdown", e)), h.close()))

    client.connect(addr, on_connect)
    loop.run()
    assert events[0] == ("shutdown", None) or events[0] == ("server", b"last", None)
    assert ("shutdown", None) in events
    assert events[-1] == ("server", None, errno.UV_EOF)
    assert [e for e in events if e[0] == "server"][0] == ("server", b"last", None)


def _bounded(loop: uvffi.Loop, seconds: float = 5.0) -> None:
    """A run that a hang cannot keep going: an unreferenced timer stops the loop."""
    guard = uvffi.Timer(loop)
    guard.ref = False
    guard.start(lambda t: t.loop.stop(), seconds, 0)
    loop.run()
    guard.close()


def test_shutdown_right_after_connect_calls_back_and_peer_sees_eof(loop: uvffi.Loop) -> None:
    # libuv keeps a shutdown made while connecting with nothing queued and never runs it
    # (the loop hung with the request pending): uvffi submits it once connected.
    events: List[Any] = []

    def on_client(conn: uvffi.TCP) -> None:
        conn.start_read(lambda h, d, e: (events.append(("server", d, e)), h.close(), srv.close()))

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)
    client.connect(addr, lambda h, e: events.append(("connect", e)))
    client.shutdown(lambda h, e: (events.append(("shutdown", e)), h.close()))
    _bounded(loop)
    assert events[0] == ("connect", None)
    assert ("shutdown", None) in events
    assert ("server", None, errno.UV_EOF) in events


def test_a_stream_shutting_down_while_connecting_is_not_writable(loop: uvffi.Loop) -> None:
    srv, addr = server(loop, lambda conn: conn.close())
    client = uvffi.TCP(loop)
    client.connect(addr, lambda h, e: None)
    client.shutdown()
    assert not client.writable
    with pytest.raises(TCPError) as info:
        client.write(b"x")
    assert info.value.args[0] == errno.UV_EPIPE
    with pytest.raises(TCPError) as info:
        client.shutdown()
    assert info.value.args[0] == errno.UV_ENOTCONN
    client.close()
    srv.close()
    loop.run()


def test_closing_while_a_shutdown_waits_for_the_connect_cancels_it_before_the_close_callback(
        loop: uvffi.Loop) -> None:
    events: List[Any] = []
    srv, addr = server(loop, lambda conn: conn.close())
    client = uvffi.TCP(loop)
    client.connect(addr, lambda h, e: events.append(("connect", e)))
    client.shutdown(lambda h, e: events.append(("shutdown", e)))
    client.close(lambda h: events.append("closed"))
    srv.close()
    _bounded(loop)
    assert events == [("connect", errno.UV_ECANCELED), ("shutdown", errno.UV_ECANCELED), "closed"]


def test_a_shutdown_waiting_for_a_refused_connect_gets_its_error(loop: uvffi.Loop) -> None:
    probe = socket.socket()
    probe.bind(LOCAL)
    port = probe.getsockname()[1]
    probe.close()  # nothing listens there now
    events: List[Any] = []
    client = uvffi.TCP(loop)
    client.connect(("127.0.0.1", port), lambda h, e: events.append(("connect", e)))
    client.shutdown(lambda h, e: (events.append(("shutdown", e)), h.close()))
    _bounded(loop)
    assert events == [("connect", errno.UV_ECONNREFUSED), ("shutdown", errno.UV_ECONNREFUSED)]


def test_accept_needs_a_handle(loop: uvffi.Loop) -> None:
    srv, addr = server(loop)
    with pytest.raises(TypeError):
        srv.accept(object())  # type: ignore[arg-type]


def test_accept_into_a_non_stream_raises_type_error(loop: uvffi.Loop) -> None:
    srv = uvffi.TCP(loop)

    def on_connection(h: uvffi.TCP, e: Optional[int]) -> None:
        timer = uvffi.Timer(loop)
        with pytest.raises(TypeError):
            h.accept(timer)
        timer.close()
        conn = uvffi.TCP(loop)
        h.accept(conn)
        conn.close()
        h.close()

    srv.bind(LOCAL)
    srv.listen(on_connection)
    uvffi.TCP(loop).connect(srv.getsockname(), lambda h, e: h.close())
    loop.run()


def test_listen_needs_a_callable(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop)
    tcp.bind(LOCAL)
    with pytest.raises(TypeError):
        tcp.listen(None)  # type: ignore[arg-type]


def test_closed_stream_raises_handle_closed(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop)
    tcp.close()
    for call in (lambda: tcp.write(b"x"), lambda: tcp.start_read(lambda *a: None), tcp.fileno,
                 lambda: tcp.bind(LOCAL), lambda: tcp.connect(LOCAL, lambda *a: None)):
        with pytest.raises(HandleClosedError):
            call()
    assert tcp.write_queue_size == 0 and not tcp.readable


def test_connect_callback_exception_goes_to_excepthook(loop: uvffi.Loop) -> None:
    seen: List[type] = []
    loop.excepthook = lambda t, v, tb: seen.append(t)
    client = uvffi.TCP(loop)

    def on_connect(h: uvffi.TCP, e: Optional[int]) -> None:
        h.close()
        raise ValueError("from the callback")

    client.connect(("127.0.0.1", 1), on_connect)
    loop.run()
    assert seen == [ValueError]


def test_dropped_reading_stream_keeps_working(loop: uvffi.Loop) -> None:
    got: List[bytes] = []

    def on_client(conn: uvffi.TCP) -> None:
        def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            if data is not None:
                got.append(data)
            h.close()
            srv.close()

        conn.start_read(on_read)
        # the program keeps no reference to conn

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def later(t: uvffi.Timer) -> None:
        t.close()
        client.write(b"still here", lambda h, e: h.close())

    def on_connect(h: uvffi.TCP, e: Optional[int]) -> None:
        gc.collect()
        uvffi.Timer(loop).start(later, 0.02, 0)

    client.connect(addr, on_connect)
    loop.run()
    assert got == [b"still here"]


def test_stop_read_then_start_read_loses_nothing(loop: uvffi.Loop) -> None:
    got: List[bytes] = []
    payload = os.urandom(200_000)

    def on_client(conn: uvffi.TCP) -> None:
        conn.write(payload, lambda h, e: h.close())

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            h.close()
            srv.close()
            return
        got.append(data)
        h.stop_read()
        t = uvffi.Timer(loop)
        t.start(lambda t: (t.close(), h.start_read(on_read)), 0.001, 0)

    client.connect(addr, lambda h, e: h.start_read(on_read))
    loop.run()
    assert b"".join(got) == payload
    assert len(got) > 1


def test_start_read_size_bounds_each_read(loop: uvffi.Loop) -> None:
    sizes: List[int] = []

    def on_client(conn: uvffi.TCP) -> None:
        conn.write(b"x" * 10_000, lambda h, e: h.close())

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            h.close()
            srv.close()
        else:
            sizes.append(len(data))

    client.connect(addr, lambda h, e: h.start_read(on_read, size=1000))
    loop.run()
    assert sum(sizes) == 10_000 and max(sizes) <= 1000


def test_start_read_rejects_a_bad_size(loop: uvffi.Loop) -> None:
    tcp = uvffi.TCP(loop)
    with pytest.raises(ValueError):
        tcp.start_read(lambda *a: None, size=0)
    with pytest.raises(TypeError):
        tcp.start_read(lambda *a: None, size=1.5)  # type: ignore[arg-type]


def test_close_reset_sends_an_rst(loop: uvffi.Loop) -> None:
    errors: List[Optional[int]] = []
    closed: List[bool] = []

    def on_client(conn: uvffi.TCP) -> None:
        conn.start_read(lambda c, data, error: c.close_reset(lambda h: closed.append(True)))

    srv, addr = server(loop, on_client)
    client = uvffi.TCP(loop)

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        errors.append(error)
        h.close()
        srv.close()

    client.connect(addr, lambda h, e: (h.start_read(on_read), h.write(b"x")))
    loop.run()
    assert errors == [errno.UV_ECONNRESET] and closed == [True]


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


def _echo_round(loop: uvffi.Loop, n: int) -> List[bytes]:
    """n concurrent connections to an echo server, each writes, reads its echo, closes."""
    srv, addr = server(loop, echo)
    done: List[bytes] = []

    def connect(i: int) -> None:
        msg = b"conn %d" % i

        def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            assert data == msg
            done.append(data)
            h.close()
            if len(done) == n:
                srv.close()

        def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
            assert error is None
            h.start_read(on_read)
            h.write(msg)

        uvffi.TCP(loop).connect(addr, on_connect)

    for i in range(n):
        connect(i)
    loop.run()
    return done


def test_thousand_concurrent_connections_echoed_and_closed(loop: uvffi.Loop) -> None:
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != resource.RLIM_INFINITY and soft < 2500:  # two fds per connection, both ends here
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(4096, hard) if hard != resource.RLIM_INFINITY else 4096, hard))
    _echo_round(loop, 1)  # the loop's own fds (epoll, the wakeup socketpair, EMFILE reserve) now exist
    gc.collect()
    baseline = _fd_count()
    done = _echo_round(loop, 1000)
    assert len(done) == 1000 and len(set(done)) == 1000
    gc.collect()
    assert _fd_count() == baseline
