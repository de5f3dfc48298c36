"""UDP: uv_udp_t sockets and their send requests, on loopback only."""

from __future__ import annotations

import array
import gc
import os
import socket
import weakref

import pytest

import uvffi
from uvffi import errno
from uvffi.error import FeatureUnavailableError, HandleClosedError, HandleError, UDPError


def _has_ipv6_loopback() -> bool:
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_DGRAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


needs_ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="this machine has no IPv6 loopback (::1)")


def bound(loop, host="127.0.0.1", **kw):
    h = uvffi.UDP(loop, **kw)
    h.bind((host, 0))
    return h


def receive(loop, receiver, count=1):
    """Run the loop until receiver got `count` datagrams; returns the callback's arguments."""
    got = []

    def on_recv(h, addr, flags, data, error):
        got.append((addr, flags, data, error))
        if len(got) == count:
            h.close()

    receiver.start_recv(on_recv)
    return got


# -- delivery -----------------------------------------------------------------

def test_datagram_arrives_with_the_senders_address(loop):
    rx, tx = bound(loop), bound(loop)
    sender = tx.getsockname()
    got = receive(loop, rx)
    tx.send(rx.getsockname(), b"ping", lambda h, e: h.close())
    loop.run()
    assert got == [(sender, 0, b"ping", None)]


def test_bytes_datagram_without_callback_the_socket_takes_is_not_queued(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx, count=3)
    for i in range(3):
        tx.send(rx.getsockname(), b"%d" % i)
        assert tx.send_queue_count == 0 and tx.send_queue_size == 0  # sent now, no request
    tx.close()
    loop.run()
    assert [d for _, _, d, _ in got] == [b"0", b"1", b"2"]


def test_a_cached_address_does_not_admit_a_bad_port_type(loop):
    tx = bound(loop)
    tx.send(("127.0.0.1", 9), b"x")
    tx.send(("127.0.0.1", 1), b"x")
    with pytest.raises(TypeError):
        tx.send(("127.0.0.1", 9.0), b"x")  # equal to ("127.0.0.1", 9) as a dict key
    with pytest.raises(TypeError):
        tx.send(("127.0.0.1", True), b"x")  # equal to ("127.0.0.1", 1)
    tx.close()
    loop.run()


def test_received_data_is_bytes(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.send(rx.getsockname(), bytearray(b"abc"), lambda h, e: h.close())
    loop.run()
    assert type(got[0][2]) is bytes


def test_empty_datagram_arrives_as_empty_bytes(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.send(rx.getsockname(), b"", lambda h, e: h.close())
    loop.run()
    assert got == [(got[0][0], 0, b"", None)]


def test_datagram_with_nul_bytes_arrives_intact(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.send(rx.getsockname(), b"a\0b\0", lambda h, e: h.close())
    loop.run()
    assert got[0][2] == b"a\0b\0"


def test_largest_ipv4_datagram_arrives_whole(loop):
    rx, tx = bound(loop), bound(loop)
    rx.receive_buffer_size = 1 << 20
    got = receive(loop, rx)
    payload = bytes(range(256)) * 255 + b"z" * 227  # 65507 bytes: 65535 minus the IP and UDP headers
    tx.send(rx.getsockname(), payload, lambda h, e: h.close())
    loop.run()
    assert got[0][1] == 0 and got[0][2] == payload


def test_sequence_is_sent_as_one_datagram(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.send(rx.getsockname(), [b"ab", bytearray(b"cd"), memoryview(b"ef")], lambda h, e: h.close())
    loop.run()
    assert [g[2] for g in got] == [b"abcdef"]


def test_sendlines_takes_any_iterable(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.sendlines(rx.getsockname(), (bytes([c]) for c in b"xyz"), lambda h, e: h.close())
    loop.run()
    assert got[0][2] == b"xyz"


@pytest.mark.parametrize("data", [
    bytearray(b"data"), memoryview(b"data"), array.array("b", b"data"), memoryview(b"dxaxtxax")[::2],
    memoryview(array.array("H", [0x6164, 0x6174])),
], ids=["bytearray", "memoryview", "array", "strided-memoryview", "memoryview-of-H"])
def test_any_buffer_protocol_object_is_sent(loop, data):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    tx.send(rx.getsockname(), data, lambda h, e: h.close())
    loop.run()
    assert got[0][2] == bytes(memoryview(data).tobytes())


def test_bytearray_dropped_after_send_arrives_intact(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    data = bytearray(b"Q" * 1000)
    tx.send(rx.getsockname(), data, lambda h, e: h.close())
    del data
    gc.collect()
    loop.run()
    assert got[0][2] == b"Q" * 1000


def test_many_datagrams_arrive_in_order(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx, count=200)
    for i in range(200):
        tx.send(rx.getsockname(), b"%d" % i)
    loop.run()
    tx.close()
    loop.run()
    assert [g[2] for g in got] == [b"%d" % i for i in range(200)]


def test_stop_recv_stops_delivery(loop):
    rx, tx = bound(loop), bound(loop)
    got = []
    rx.start_recv(lambda *a: got.append(a))
    rx.stop_recv()
    tx.send(rx.getsockname(), b"x", lambda h, e: h.close())
    t = uvffi.Timer(loop)
    t.start(lambda t: t.close(), 0.05, 0)
    loop.run()
    assert got == [] and not rx.active
    rx.close()
    loop.run()


def test_recv_restarted_after_stop_gets_the_queued_datagram(loop):
    rx, tx = bound(loop), bound(loop)
    rx.start_recv(lambda *a: None)
    rx.stop_recv()
    tx.send(rx.getsockname(), b"late", lambda h, e: h.close())
    loop.run()
    got = receive(loop, rx)
    loop.run()
    assert got[0][2] == b"late"


# -- send callbacks and errors --------------------------------------------------

def test_send_callback_runs_once_with_none(loop):
    rx, tx = bound(loop), bound(loop)
    calls = []
    tx.send(rx.getsockname(), b"x", lambda h, e: calls.append((h, e)))
    loop.run()
    assert calls == [(tx, None)]
    rx.close()
    tx.close()
    loop.run()


def test_oversized_datagram_gives_the_callback_emsgsize(loop):
    tx = uvffi.UDP(loop)
    calls = []
    tx.send(("127.0.0.1", 9), b"X" * 65536, lambda h, e: (calls.append(e), h.close()))
    loop.run()  # does not raise
    assert calls == [errno.UV_EMSGSIZE]


def test_receive_error_goes_to_the_recv_callback(loop):
    # a connected socket learns of the ICMP port unreachable on its next receive
    closed = bound(loop)
    port = closed.getsockname()[1]
    closed.close()
    tx = uvffi.UDP(loop)
    tx.connect(("127.0.0.1", port))
    got = []

    def on_recv(h, addr, flags, data, error):
        got.append((addr, flags, data, error))
        h.close()

    tx.start_recv(on_recv)
    tx.send(None, b"anyone?")
    loop.run()
    assert got == [(None, 0, None, errno.UV_ECONNREFUSED)]


def test_exception_in_recv_callback_goes_to_excepthook(loop):
    rx, tx = bound(loop), bound(loop)
    seen = []
    loop.excepthook = lambda *a: (seen.append(a[1]), rx.close(), tx.close())

    def on_recv(*a):
        raise ValueError("boom")

    rx.start_recv(on_recv)
    tx.send(rx.getsockname(), b"x")
    loop.run()
    assert [type(e) for e in seen] == [ValueError]


def test_exception_in_send_callback_goes_to_excepthook(loop):
    tx = bound(loop)
    seen = []
    loop.excepthook = lambda *a: (seen.append(a[1]), tx.close())

    def on_sent(h, e):
        raise KeyError("send")

    tx.send(tx.getsockname(), b"x", on_sent)
    loop.run()
    assert [type(e) for e in seen] == [KeyError]


def test_close_with_sends_queued_cancels_them_before_the_close_callback(loop):
    rx, tx = bound(loop), bound(loop)
    dest = rx.getsockname()
    events = []

    def first(h, e):
        # inside a send callback libuv queues new sends instead of sending them at once
        h.send(dest, b"2", lambda h, e: events.append(("2", e)))
        h.send(dest, [b"3"], lambda h, e: events.append(("3", e)))
        assert h.send_queue_count == 2 and h.send_queue_size == 2
        h.close(lambda h: events.append(("closed", None)))

    tx.send(dest, b"1", first)
    rx.close()
    loop.run()
    assert events == [("2", errno.UV_ECANCELED), ("3", errno.UV_ECANCELED), ("closed", None)]


def test_send_on_closed_handle_raises(loop):
    tx = uvffi.UDP(loop)
    tx.close()
    with pytest.raises(HandleClosedError):
        tx.send(("127.0.0.1", 9), b"x")
    loop.run()


def test_udp_error_is_a_handle_error():
    assert issubclass(UDPError, HandleError)


def test_bind_to_an_address_in_use_raises_eaddrinuse(loop):
    a = bound(loop)
    b = uvffi.UDP(loop)
    with pytest.raises(UDPError) as info:
        b.bind(a.getsockname())
    assert info.value.args[0] == errno.UV_EADDRINUSE


def test_reuseaddr_lets_two_handles_bind_one_port(loop):
    a = uvffi.UDP(loop)
    a.bind(("127.0.0.1", 0), uvffi.UV_UDP_REUSEADDR)
    b = uvffi.UDP(loop)
    b.bind(a.getsockname(), uvffi.UV_UDP_REUSEADDR)
    assert a.getsockname() == b.getsockname()


# -- bad input: raised before libuv sees it -------------------------------------

@pytest.mark.parametrize("addr, exc", [
    ("127.0.0.1", TypeError),
    (("127.0.0.1",), TypeError),
    (("127.0.0.1", "80"), TypeError),
    ((b"127.0.0.1", 80), TypeError),
    (("127.0.0.1", 80, 0, 0, 0), TypeError),
    (("no.such.host", 80), ValueError),
    (("300.1.1.1", 80), ValueError),
    (("127.0.0.1", 65536), OverflowError),
    (("127.0.0.1", -1), OverflowError),
], ids=["str", "1-tuple", "str-port", "bytes-host", "5-tuple", "hostname", "bad-ip", "port-high", "port-negative"])
def test_bad_address_raises_before_libuv(loop, addr, exc):
    tx = uvffi.UDP(loop)
    calls = []
    with pytest.raises(exc):
        tx.send(addr, b"x", lambda h, e: calls.append(e))
    with pytest.raises(exc):
        tx.bind(addr)
    assert tx.send_queue_count == 0
    with pytest.raises(UDPError):
        _ = tx.family  # no socket was made: libuv never saw the address
    tx.close()
    loop.run()
    assert calls == []


def test_address_of_the_wrong_family_raises_udp_error(loop):
    tx = uvffi.UDP(loop, socket.AF_INET)
    with pytest.raises(UDPError) as info:
        tx.bind(("::1", 0))
    assert info.value.args[0] == errno.UV_EINVAL
    with pytest.raises(UDPError):
        tx.send(("::1", 9), b"x")


@pytest.mark.parametrize("data", ["text", 1, object(), None, [b"ok", "text"], [1]])
def test_data_that_is_not_bytes_like_raises_type_error(loop, data):
    tx = uvffi.UDP(loop)
    with pytest.raises(TypeError):
        tx.send(("127.0.0.1", 9), data)


def test_empty_sequence_raises_value_error(loop):
    with pytest.raises(ValueError):
        uvffi.UDP(loop).send(("127.0.0.1", 9), [])


def test_non_callable_callbacks_raise_type_error(loop):
    tx = uvffi.UDP(loop)
    with pytest.raises(TypeError):
        tx.send(("127.0.0.1", 9), b"x", 42)
    with pytest.raises(TypeError):
        tx.start_recv(None)


@pytest.mark.parametrize("family", [socket.AF_UNIX, 12345, -1])
def test_bad_family_raises_value_error(loop, family):
    with pytest.raises(ValueError):
        uvffi.UDP(loop, family)


def test_bad_constructor_flags_raise_value_error(loop):
    with pytest.raises(ValueError):
        uvffi.UDP(loop, flags=uvffi.UV_UDP_REUSEADDR)


def test_bad_bind_flags_raise_value_error(loop):
    with pytest.raises(ValueError):
        uvffi.UDP(loop).bind(("127.0.0.1", 0), 1 << 20)


@pytest.mark.parametrize("ttl, exc", [(256, ValueError), (-1, ValueError), ("1", TypeError), (1.0, TypeError)])
def test_bad_ttl_raises(loop, ttl, exc):
    h = bound(loop)
    with pytest.raises(exc):
        h.set_ttl(ttl)
    with pytest.raises(exc):
        h.set_multicast_ttl(ttl)


def test_switches_take_only_bools(loop):
    h = bound(loop)
    with pytest.raises(TypeError):
        h.set_broadcast(1)
    with pytest.raises(TypeError):
        h.set_multicast_loop("yes")


def test_membership_must_be_join_or_leave(loop):
    h = bound(loop, "0.0.0.0")
    with pytest.raises(ValueError):
        h.set_membership("239.255.0.1", 7)
    with pytest.raises(TypeError):
        h.set_membership(b"239.255.0.1", uvffi.UV_JOIN_GROUP)


# -- lifetime ---------------------------------------------------------------------

def test_dropped_receiving_handle_keeps_working(loop):
    got = []
    rx = bound(loop)
    dest = rx.getsockname()
    rx.start_recv(lambda h, addr, flags, data, error: (got.append(data), h.close()))
    ref = weakref.ref(rx)
    del rx
    gc.collect()
    assert ref() is not None
    tx = bound(loop)
    tx.send(dest, b"still here", lambda h, e: h.close())
    loop.run()
    assert got == [b"still here"]


def test_dropped_handle_is_collected_after_stop_recv(loop):
    rx = bound(loop)
    rx.start_recv(lambda *a: None)
    rx.stop_recv()
    ref = weakref.ref(rx)
    del rx
    gc.collect()
    assert ref() is None
    loop.run()


def test_handle_dropped_with_a_send_in_flight_still_gets_its_callback(loop):
    rx = bound(loop)
    calls = []
    tx = uvffi.UDP(loop)
    tx.send(rx.getsockname(), b"x", lambda h, e: calls.append(e))
    del tx
    gc.collect()
    loop.run()
    rx.close()
    loop.run()
    assert calls == [None]


# -- names, options, extras -------------------------------------------------------

def test_family_follows_bind(loop):
    h = uvffi.UDP(loop)
    with pytest.raises(UDPError):
        _ = h.family
    h.bind(("127.0.0.1", 0))
    assert h.family == socket.AF_INET


def test_family_given_creates_the_socket_at_once(loop):
    h = uvffi.UDP(loop, socket.AF_INET)
    assert h.family == socket.AF_INET
    assert h.fileno() >= 0


def test_fileno_is_the_bound_socket(loop):
    h = bound(loop)
    with socket.socket(fileno=socket.dup(h.fileno())) as s:
        assert s.getsockname() == h.getsockname()
        assert s.type == socket.SOCK_DGRAM


def test_open_adopts_a_socket(loop):
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))
    s.setblocking(False)
    h = uvffi.UDP(loop)
    h.open(s.detach())
    got = receive(loop, h)
    tx = bound(loop)
    tx.send(h.getsockname(), b"adopted", lambda h, e: h.close())
    loop.run()
    assert got[0][2] == b"adopted"


def test_send_queue_is_empty_at_first(loop):
    h = uvffi.UDP(loop)
    assert (h.send_queue_size, h.send_queue_count) == (0, 0)


def test_options_are_accepted_on_a_bound_socket(loop):
    h = bound(loop, "0.0.0.0")
    h.set_broadcast(True)
    h.set_ttl(10)
    h.set_multicast_ttl(10)
    h.set_multicast_loop(True)
    h.set_multicast_interface("0.0.0.0")
    h.set_multicast_interface(None)
    h.send_buffer_size = 65536
    h.receive_buffer_size = 65536
    assert h.send_buffer_size >= 65536 and h.receive_buffer_size >= 65536


def test_join_and_leave_a_multicast_group(loop):
    h = bound(loop, "0.0.0.0")
    h.set_membership("239.255.0.1", uvffi.UV_JOIN_GROUP)
    h.set_membership("239.255.0.1", uvffi.UV_LEAVE_GROUP)
    with pytest.raises(UDPError):
        h.set_membership("239.255.0.1", uvffi.UV_LEAVE_GROUP)  # not a member any more


def test_try_send_returns_the_bytes_sent(loop):
    rx, tx = bound(loop), bound(loop)
    got = receive(loop, rx)
    assert tx.try_send(rx.getsockname(), b"now") == 3
    loop.run()
    assert got[0][2] == b"now"


def test_connected_handle_sends_without_an_address(loop):
    rx, tx = bound(loop), bound(loop)
    tx.connect(rx.getsockname())
    assert tx.getpeername() == rx.getsockname()
    got = receive(loop, rx)
    tx.send(None, b"to my peer", lambda h, e: h.close())
    loop.run()
    assert got[0][2] == b"to my peer"


def test_getpeername_of_an_unconnected_handle_raises_enotconn(loop):
    with pytest.raises(UDPError) as info:
        bound(loop).getpeername()
    assert info.value.args[0] == errno.UV_ENOTCONN


def test_connect_none_dissolves_the_association(loop):
    rx, tx = bound(loop), bound(loop)
    tx.connect(rx.getsockname())
    tx.connect(None)
    with pytest.raises(UDPError):
        tx.getpeername()


def test_try_send2_sends_several_datagrams(loop):
    rx, tx = bound(loop), bound(loop)
    dest = rx.getsockname()
    if uvffi.lib.uv_version() < 0x013200:  # a system libuv older than 1.50 (UVFFI_USE_SYSTEM_LIBUV=1)
        with pytest.raises(FeatureUnavailableError):
            tx.try_send2([(dest, b"one")])
        return
    got = receive(loop, rx, count=3)
    try:
        n = tx.try_send2([(dest, b"one"), (dest, [b"t", b"wo"]), (dest, bytearray(b"three"))])
    except FeatureUnavailableError:
        pytest.fail("the pinned libuv has uv_udp_try_send2")
    assert n == 3
    loop.run()
    assert [g[2] for g in got] == [b"one", b"two", b"three"]


def test_recvmmsg_handle_receives_a_burst_in_order(loop):
    rx = uvffi.UDP(loop, socket.AF_INET, flags=uvffi.UV_UDP_RECVMMSG)
    rx.bind(("127.0.0.1", 0))
    assert rx.using_recvmmsg
    tx = bound(loop)
    for i in range(50):
        tx.try_send(rx.getsockname(), b"m%02d" % i)
    got = receive(loop, rx, count=50)
    loop.run()
    assert [g[2] for g in got] == [b"m%02d" % i for i in range(50)]
    assert {g[1] for g in got} == {0}  # libuv's chunk flags are not handed over
    assert {g[0] for g in got} == {tx.getsockname()}


def test_recvmmsg_handle_stopped_mid_batch_drops_the_rest_of_the_batch(loop):
    # libuv's recvmmsg path: the datagrams of one system call not yet delivered when the
    # callback stops receiving are gone (documented on UV_UDP_RECVMMSG and stop_recv)
    rx = uvffi.UDP(loop, socket.AF_INET, flags=uvffi.UV_UDP_RECVMMSG)
    rx.bind(("127.0.0.1", 0))
    tx = bound(loop)
    for i in range(10):
        tx.try_send(rx.getsockname(), b"%d" % i)
    got = []

    def on_recv(h, addr, flags, data, error):
        got.append(data)
        if len(got) == 3:
            h.stop_recv()

    rx.start_recv(on_recv)
    loop.run()
    assert got == [b"0", b"1", b"2"]
    rx.start_recv(on_recv)
    tx.try_send(rx.getsockname(), b"next")
    t = uvffi.Timer(loop)
    t.start(lambda t: (t.close(), rx.close()), 0.05, 0)
    loop.run()
    assert got == [b"0", b"1", b"2", b"next"]


def test_plain_handle_stopped_mid_burst_loses_nothing(loop):
    rx, tx = bound(loop), bound(loop)
    for i in range(10):
        tx.try_send(rx.getsockname(), b"%d" % i)
    got = []

    def on_recv(h, addr, flags, data, error):
        got.append(data)
        if len(got) == 3:
            h.stop_recv()

    rx.start_recv(on_recv)
    loop.run()
    assert got == [b"0", b"1", b"2"]
    rest = receive(loop, rx, count=7)
    loop.run()
    assert [g[2] for g in rest] == [b"%d" % i for i in range(3, 10)]


@needs_ipv6
def test_ipv6_datagram_on_loopback_arrives_with_a_4_tuple(loop):
    rx, tx = bound(loop, "::1"), bound(loop, "::1")
    assert rx.family == socket.AF_INET6
    sender = tx.getsockname()
    got = receive(loop, rx)
    tx.send(rx.getsockname(), b"six", lambda h, e: h.close())
    loop.run()
    addr, flags, data, error = got[0]
    assert (data, error) == (b"six", None)
    assert len(addr) == 4 and addr == sender and addr[0] == "::1"


@needs_ipv6
def test_ipv6only_socket_refuses_ipv4_traffic(loop):
    h = uvffi.UDP(loop)
    h.bind(("::", 0), uvffi.UV_UDP_IPV6ONLY)
    with pytest.raises(UDPError):
        h.try_send(("127.0.0.1", h.getsockname()[1]), b"x")


def test_reuseport_lets_two_handles_share_a_port(loop):
    a = uvffi.UDP(loop)
    if uvffi.lib.uv_version() < 0x013100:  # a system libuv older than 1.49 (UVFFI_USE_SYSTEM_LIBUV=1)
        with pytest.raises(FeatureUnavailableError):
            a.bind(("127.0.0.1", 0), uvffi.UV_UDP_REUSEPORT)
        return
    a.bind(("127.0.0.1", 0), uvffi.UV_UDP_REUSEPORT)
    b = uvffi.UDP(loop)
    b.bind(a.getsockname(), uvffi.UV_UDP_REUSEPORT)
    assert a.getsockname() == b.getsockname()


def test_open_refuses_a_tcp_socket(loop):
    """A stream socket would make every receive fail with ENOTCONN, and the loop spin
    reporting it: open() raises instead, and the fd stays the caller's."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        h = uvffi.UDP(loop)
        with pytest.raises(UDPError) as info:
            h.open(s.fileno())
        assert info.value.args[0] == errno.UV_EPROTOTYPE
        assert s.getsockname()[0] == "127.0.0.1"  # still open
        h.close()
        loop.run()


def test_open_refuses_an_fd_that_is_not_a_socket(loop):
    r, w = os.pipe()
    try:
        h = uvffi.UDP(loop)
        with pytest.raises(UDPError) as info:
            h.open(r)
        assert info.value.args[0] == errno.UV_ENOTSOCK
        h.close()
        loop.run()
    finally:
        os.close(r)
        os.close(w)
