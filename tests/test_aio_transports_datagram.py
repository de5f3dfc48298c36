"""uvffi.aio's datagram transport (uvffi/aio/datagram.py) on the real uvffi.aio loop, over loopback."""

from __future__ import annotations

import asyncio
import socket
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from aio_transports_helpers import run

import uvffi.aio
from uvffi.aio.datagram import UVDatagramTransport

Loop = uvffi.aio.Loop


class Echo(asyncio.DatagramProtocol):
    """Sends each datagram back upper-cased."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.transport.sendto(data.upper(), addr)


class Client(asyncio.DatagramProtocol):
    """Records datagrams, errors and the end."""

    def __init__(self) -> None:
        loop = asyncio.get_event_loop()
        self.datagrams: "asyncio.Queue[Tuple[bytes, Any]]" = asyncio.Queue()
        self.errors: List[BaseException] = []
        self.error: "asyncio.Future[BaseException]" = loop.create_future()
        self.lost: "asyncio.Future[Optional[BaseException]]" = loop.create_future()

    def datagram_received(self, data: bytes, addr: Any) -> None:
        self.datagrams.put_nowait((data, addr))

    def error_received(self, exc: Exception) -> None:
        self.errors.append(exc)
        if not self.error.done():
            self.error.set_result(exc)

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.lost.set_result(exc)


def test_datagram_echo_with_addresses(aloop: Loop) -> None:
    async def main() -> Tuple[Tuple[bytes, Any], Any]:
        server, _ = await aloop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = server.get_extra_info("sockname")
        client, proto = await aloop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        assert isinstance(client, UVDatagramTransport)
        client.sendto(b"ping", addr)
        got = await proto.datagrams.get()
        client.close()
        server.close()
        await proto.lost
        return got, addr

    (data, source), addr = run(aloop, main())
    assert data == b"PING"
    assert source == addr


def test_connected_datagram_endpoint_sends_to_its_peer(aloop: Loop) -> None:
    async def main() -> bytes:
        server, _ = await aloop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        addr = server.get_extra_info("sockname")
        client, proto = await aloop.create_datagram_endpoint(Client, remote_addr=addr)
        assert client.get_extra_info("peername") == addr
        client.sendto(b"connected")
        data, _ = await proto.datagrams.get()
        client.close()
        server.close()
        await proto.lost
        return data

    assert run(aloop, main()) == b"CONNECTED"


def test_connected_endpoint_rejects_another_address(aloop: Loop) -> None:
    async def main() -> None:
        server, _ = await aloop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        client, proto = await aloop.create_datagram_endpoint(Client, remote_addr=server.get_extra_info("sockname"))
        with pytest.raises(ValueError):
            client.sendto(b"x", ("127.0.0.1", 9))
        client.close()
        server.close()
        await proto.lost

    run(aloop, main())


def test_icmp_port_unreachable_goes_to_error_received(aloop: Loop) -> None:
    dead = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dead.bind(("127.0.0.1", 0))
    addr = dead.getsockname()
    dead.close()  # nobody listens there now

    async def main() -> BaseException:
        client, proto = await aloop.create_datagram_endpoint(Client, remote_addr=addr)
        client.sendto(b"anyone?")
        exc = await proto.error
        client.close()
        await proto.lost
        return exc

    assert isinstance(run(aloop, main()), ConnectionRefusedError)


def test_many_datagrams_all_arrive_in_order_over_loopback(aloop: Loop) -> None:
    async def main() -> List[bytes]:
        receiver, rproto = await aloop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        sender, sproto = await aloop.create_datagram_endpoint(
            Client, remote_addr=receiver.get_extra_info("sockname"))
        for i in range(200):
            sender.sendto(b"%d" % i)
        got = [(await rproto.datagrams.get())[0] for _ in range(200)]
        assert sender.get_write_buffer_size() == 0
        sender.close()
        receiver.close()
        await sproto.lost
        await rproto.lost
        return got

    assert run(aloop, main()) == [b"%d" % i for i in range(200)]


def test_abort_calls_connection_lost_and_closes_the_socket(aloop: Loop) -> None:
    async def main() -> Tuple[Optional[BaseException], int]:
        transport, proto = await aloop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        sock = transport.get_extra_info("socket")
        transport.abort()
        assert transport.is_closing()
        return await proto.lost, sock.fileno()

    assert run(aloop, main()) == (None, -1)


def test_sendto_after_close_of_a_connected_endpoint_is_dropped(aloop: Loop) -> None:
    async def main() -> None:
        server, _ = await aloop.create_datagram_endpoint(Echo, local_addr=("127.0.0.1", 0))
        client, proto = await aloop.create_datagram_endpoint(Client, remote_addr=server.get_extra_info("sockname"))
        client.close()
        await proto.lost
        client.sendto(b"too late")  # no exception: dropped, as asyncio does
        server.close()
        assert proto.errors == []

    run(aloop, main())


def test_unix_datagram_endpoint_works_through_the_fallback(aloop: Loop, tmp_path: Path) -> None:
    path = str(tmp_path / "dgram.sock")

    async def main() -> bytes:
        server, _ = await aloop.create_datagram_endpoint(Echo, local_addr=path, family=socket.AF_UNIX)
        client, proto = await aloop.create_datagram_endpoint(Client, local_addr=str(tmp_path / "c.sock"),
                                                             family=socket.AF_UNIX)
        client.sendto(b"unix", path)
        data, _ = await proto.datagrams.get()
        client.close()
        server.close()
        await proto.lost
        return data

    assert run(aloop, main()) == b"UNIX"


def test_add_reader_on_a_datagram_transports_fd_raises_runtime_error(aloop: Loop) -> None:
    async def main() -> None:
        transport, _ = await aloop.create_datagram_endpoint(Client, local_addr=("127.0.0.1", 0))
        sock = transport.get_extra_info("socket")
        try:
            with pytest.raises(RuntimeError, match="is used by transport"):
                aloop.add_reader(sock.fileno(), lambda: None)
        finally:
            transport.close()
        await asyncio.sleep(0)

    aloop.run_until_complete(main())
