"""uvffi.aio.Loop hands the transports to the transport modules (stream, datagram, pipes,
subprocess, server, unix) with every argument passed on: checked with stand-in modules,
so this holds whether or not the real ones are there."""

from __future__ import annotations

import asyncio
import sys
import types
from typing import Any, Dict, Iterator, List, Tuple

import pytest

import uvffi.aio

Calls = List[Tuple[str, Tuple[Any, ...], Dict[str, Any]]]


class _Stub:
    """What a stand-in returns: named for the function, closable like a transport."""

    def __init__(self, name: str) -> None:
        self.name = name

    def close(self) -> None:
        pass


@pytest.fixture
def calls(monkeypatch: pytest.MonkeyPatch) -> Iterator[Calls]:
    """Stand-in transport modules recording every call as ``(name, args, kwargs)``."""
    recorded: Calls = []

    def recorder(name: str) -> Any:
        def fn(*args: Any, **kwargs: Any) -> Any:
            recorded.append((name, args, kwargs))
            return _Stub(name)

        async def afn(*args: Any, **kwargs: Any) -> Any:
            recorded.append((name, args, kwargs))
            return _Stub(name)

        return afn if name in ("make_subprocess_transport", "create_unix_connection",
                               "create_unix_server") else fn

    names = {
        "stream": ["make_socket_transport", "make_ssl_transport"],
        "datagram": ["make_datagram_transport"],
        "pipes": ["make_read_pipe_transport", "make_write_pipe_transport"],
        "subprocess": ["make_subprocess_transport"],
        "server": ["start_serving", "stop_serving"],
        "unix": ["create_unix_connection", "create_unix_server"],
    }
    for module, functions in names.items():
        fake = types.ModuleType(f"uvffi.aio.{module}")
        for f in functions:
            setattr(fake, f, recorder(f))
        monkeypatch.setitem(sys.modules, f"uvffi.aio.{module}", fake)
    yield recorded


def test_socket_and_ssl_transports_go_to_the_stream_module(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    assert aloop._make_socket_transport("sock", "proto", "waiter", "extra", "server").name == "make_socket_transport"
    aloop._make_ssl_transport("raw", "proto", "ctx", "waiter", server_side=True, server_hostname="h",
                              extra="x", server="s", ssl_handshake_timeout=1.0, ssl_shutdown_timeout=2.0,
                              call_connection_made=False)
    assert calls[0] == ("make_socket_transport", (aloop, "sock", "proto", "waiter", "extra", "server"), {})
    name, args, kwargs = calls[1]
    assert (name, args) == ("make_ssl_transport", (aloop, "raw", "proto", "ctx", "waiter"))
    assert kwargs == {"server_side": True, "server_hostname": "h", "extra": "x", "server": "s",
                      "ssl_handshake_timeout": 1.0, "ssl_shutdown_timeout": 2.0, "call_connection_made": False}


def test_datagram_and_pipe_transports_go_to_their_modules(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    aloop._make_datagram_transport("sock", "proto", ("h", 1), "waiter", "extra")
    aloop._make_read_pipe_transport("pipe", "proto", "waiter", "extra")
    aloop._make_write_pipe_transport("pipe", "proto", "waiter", "extra")
    assert calls == [
        ("make_datagram_transport", (aloop, "sock", "proto", ("h", 1), "waiter", "extra"), {}),
        ("make_read_pipe_transport", (aloop, "pipe", "proto", "waiter", "extra"), {}),
        ("make_write_pipe_transport", (aloop, "pipe", "proto", "waiter", "extra"), {}),
    ]


def test_subprocess_transport_goes_to_the_subprocess_module(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    result = aloop.run_until_complete(aloop._make_subprocess_transport(
        "proto", ["ls"], False, 0, 1, 2, 0, "extra", cwd="/"))
    assert result.name == "make_subprocess_transport"
    assert calls == [("make_subprocess_transport", (aloop, "proto", ["ls"], False, 0, 1, 2, 0, "extra"),
                      {"cwd": "/"})]


def test_serving_goes_to_the_server_module(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    aloop._start_serving("factory", "sock", "ctx", "server", 7, 1.0, 2.0)
    aloop._stop_serving("sock")
    assert calls == [("start_serving", (aloop, "factory", "sock", "ctx", "server", 7, 1.0, 2.0), {}),
                     ("stop_serving", (aloop, "sock"), {})]


def test_unix_sockets_go_to_the_unix_module_with_every_keyword(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    async def main() -> None:
        await aloop.create_unix_connection("factory", "/p", ssl="ctx", server_hostname="h",
                                           ssl_handshake_timeout=1.0, ssl_shutdown_timeout=2.0)
        await aloop.create_unix_server("factory", "/p", backlog=5, start_serving=False, cleanup_socket=False)

    aloop.run_until_complete(main())
    assert calls[0] == ("create_unix_connection", (aloop, "factory", "/p"),
                        {"ssl": "ctx", "sock": None, "server_hostname": "h", "ssl_handshake_timeout": 1.0,
                         "ssl_shutdown_timeout": 2.0})
    # a keyword of a newer Python (3.13's cleanup_socket) is passed on as given
    assert calls[1] == ("create_unix_server", (aloop, "factory", "/p"),
                        {"sock": None, "backlog": 5, "ssl": None, "ssl_handshake_timeout": None,
                         "ssl_shutdown_timeout": None, "start_serving": False, "cleanup_socket": False})


def test_asyncio_create_connection_reaches_the_stream_module(aloop: uvffi.aio.Loop, calls: Calls) -> None:
    import socket

    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(1)
    try:
        # BaseEventLoop.create_connection: sock_connect (ours), then _make_socket_transport
        # with a waiter it awaits; the stand-in never completes it, so time out
        with pytest.raises(asyncio.TimeoutError):
            aloop.run_until_complete(asyncio.wait_for(
                aloop.create_connection(asyncio.Protocol, *srv.getsockname()), 0.2))
        assert calls and calls[0][0] == "make_socket_transport"
        sock = calls[0][1][1]
        assert isinstance(sock, socket.socket)
    finally:
        srv.close()
