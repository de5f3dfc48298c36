"""uvffi.aio.Loop.getaddrinfo / getnameinfo: libuv's resolver with socket's result shapes."""

from __future__ import annotations

import asyncio
import socket
import threading
from typing import Any, List

import pytest

import uvffi.aio


def _same(ours: Any, theirs: Any) -> None:
    assert sorted(ours, key=repr) == sorted(theirs, key=repr)
    for entry in ours:
        assert type(entry[0]) is socket.AddressFamily
        assert type(entry[1]) is socket.SocketKind


def test_getaddrinfo_of_a_numeric_ipv4_address_matches_socket(aloop: uvffi.aio.Loop) -> None:
    ours = aloop.run_until_complete(aloop.getaddrinfo("127.0.0.1", 8080))
    _same(ours, socket.getaddrinfo("127.0.0.1", 8080))


def test_getaddrinfo_of_a_numeric_ipv6_address_matches_socket(aloop: uvffi.aio.Loop) -> None:
    if not socket.has_ipv6:
        pytest.skip("no IPv6 in this Python build")
    ours = aloop.run_until_complete(aloop.getaddrinfo("::1", 443, type=socket.SOCK_STREAM))
    _same(ours, socket.getaddrinfo("::1", 443, type=socket.SOCK_STREAM))
    assert ours[0][4][:2] == ("::1", 443) and len(ours[0][4]) == 4


def test_getaddrinfo_of_localhost_matches_socket(aloop: uvffi.aio.Loop) -> None:
    ours = aloop.run_until_complete(aloop.getaddrinfo("localhost", 80, family=socket.AF_INET,
                                                      type=socket.SOCK_STREAM))
    _same(ours, socket.getaddrinfo("localhost", 80, socket.AF_INET, socket.SOCK_STREAM))
    assert ours[0][4] == ("127.0.0.1", 80)


def test_getaddrinfo_with_a_service_name_and_a_numeric_port_string(aloop: uvffi.aio.Loop) -> None:
    ours = aloop.run_until_complete(aloop.getaddrinfo("127.0.0.1", "http", type=socket.SOCK_STREAM))
    assert ours[0][4] == ("127.0.0.1", 80)
    ours = aloop.run_until_complete(aloop.getaddrinfo("127.0.0.1", "8080", type=socket.SOCK_STREAM))
    assert ours[0][4] == ("127.0.0.1", 8080)


def test_getaddrinfo_with_no_host_and_passive_gives_the_wildcard(aloop: uvffi.aio.Loop) -> None:
    ours = aloop.run_until_complete(aloop.getaddrinfo(None, 0, family=socket.AF_INET, type=socket.SOCK_STREAM,
                                                      flags=socket.AI_PASSIVE))
    assert ours[0][4] == ("0.0.0.0", 0)


def test_getaddrinfo_of_an_unknown_name_raises_gaierror(aloop: uvffi.aio.Loop) -> None:
    with pytest.raises(socket.gaierror) as info:
        aloop.run_until_complete(aloop.getaddrinfo("no-such-host.invalid", 80))
    assert info.value.errno in (socket.EAI_NONAME, socket.EAI_AGAIN, getattr(socket, "EAI_NODATA", None),
                                getattr(socket, "EAI_FAIL", None))


def test_getnameinfo_of_a_numeric_address(aloop: uvffi.aio.Loop) -> None:
    flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    ours = aloop.run_until_complete(aloop.getnameinfo(("127.0.0.1", 8080), flags))
    assert ours == ("127.0.0.1", "8080")
    assert ours == socket.getnameinfo(("127.0.0.1", 8080), flags)


def test_getnameinfo_of_localhost_matches_socket(aloop: uvffi.aio.Loop) -> None:
    ours = aloop.run_until_complete(aloop.getnameinfo(("127.0.0.1", 80)))
    assert ours == socket.getnameinfo(("127.0.0.1", 80), 0)


def test_create_connection_resolves_through_the_loop(aloop: uvffi.aio.Loop) -> None:
    # _ensure_resolved (asyncio's) calls loop.getaddrinfo for a name: ours
    calls = []
    original = aloop.getaddrinfo

    async def spy(*args: Any, **kwargs: Any) -> Any:
        calls.append(args)
        return await original(*args, **kwargs)

    aloop.getaddrinfo = spy  # type: ignore[method-assign]
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    srv.setblocking(False)
    client = socket.socket()
    client.setblocking(False)
    try:
        aloop.run_until_complete(aloop.sock_connect(client, ("localhost", srv.getsockname()[1])))
        assert calls and calls[0][0] == "localhost"
    finally:
        client.close()
        srv.close()


def test_a_cancelled_getaddrinfo_raises_cancelled_error(aloop: uvffi.aio.Loop) -> None:
    async def main() -> None:
        task = asyncio.ensure_future(aloop.getaddrinfo("localhost", 80))
        await asyncio.sleep(0)
        task.cancel()
        await task

    with pytest.raises(asyncio.CancelledError):
        aloop.run_until_complete(main())


def test_closing_the_loop_with_a_lookup_in_flight_reports_nothing() -> None:
    lp = uvffi.aio.new_event_loop()
    contexts: List[Any] = []
    lp.set_exception_handler(lambda loop, ctx: contexts.append(ctx))
    release = threading.Event()
    for _ in range(8):  # occupy libuv's thread pool (4 threads by default): the lookup stays queued
        lp.uv_loop.queue_work(lambda: release.wait(5))

    async def main() -> "asyncio.Future[Any]":
        task = asyncio.ensure_future(lp.getaddrinfo("localhost", 80))
        await asyncio.sleep(0)  # its first step submits the request
        return task

    task = lp.run_until_complete(main())
    task._log_destroy_pending = False  # type: ignore[attr-defined]
    release.set()
    lp.close()  # cancels the queued lookup: its callback must not touch the closed loop
    assert contexts == []
    assert not task.done()
