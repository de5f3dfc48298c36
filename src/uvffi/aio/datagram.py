"""Datagram transports of :mod:`uvffi.aio`: UDP over uvffi's :class:`~uvffi.UDP`, opened on the
socket's fd (libuv owns the fd; the socket object is detached at close).

Receiving is libuv's (``uv_udp_recv_start``). Sending tries the socket at once when nothing is
queued, as asyncio does (same errors, same ``error_received``); what the socket cannot take now
is queued in libuv (``uv_udp_send``), whose queue size is :meth:`get_write_buffer_size`.

Unix datagram sockets, which libuv's UDP handle does not speak, get asyncio's own selector
datagram transport over the loop's ``add_reader``/``add_writer``.
"""

from __future__ import annotations

import asyncio
import socket
from asyncio import selector_events
from typing import Any, Dict, Optional, Tuple, Union

from ..errno import UV_ECANCELED
from ..error import UVError
from ..handles.udp import UDP
from ._transport_base import (
    FlowControl,
    SocketTransportBase,
    check_data,
    release_fd_watchers,
    uv_error_exception,
    uv_exception,
)

__all__ = ["UVDatagramTransport", "make_datagram_transport"]

Address = Any  # (host, port), (host, port, flowinfo, scope_id), ...


class UVDatagramTransport(SocketTransportBase, FlowControl, asyncio.DatagramTransport):
    """An asyncio datagram transport over a uvffi :class:`~uvffi.UDP` handle; ``address`` is the
    peer of a connected socket (``sendto`` then takes None or that address only)."""

    _what = "datagram transport"

    def __init__(self, loop: Any, handle: UDP, sock: socket.socket, protocol: asyncio.DatagramProtocol,
                 address: Optional[Address] = None, waiter: Optional["asyncio.Future[Any]"] = None,
                 extra: Optional[Dict[str, Any]] = None) -> None:
        SocketTransportBase.__init__(self, loop, handle, sock, extra)
        self._init_flow_control()
        self._address = address
        self._connected = bool(address) or self._extra.get("peername") is not None
        self._protocol = protocol
        self._connect(self._start_receiving, waiter)

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else ("closing" if self._closing else "open")
        return f"<{type(self).__name__} {state} fd={self._fd}>"

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Set a new protocol."""
        self._protocol = protocol

    def get_write_buffer_size(self) -> int:
        """Bytes of datagrams waiting in libuv's send queue."""
        handle = self._handle
        return 0 if handle is None or handle.closed else handle.send_queue_size

    # -- receiving ---------------------------------------------------------------

    def _start_receiving(self) -> None:
        handle = self._handle
        if self._closing or handle is None or self._reading:
            return
        try:
            handle.start_recv(self._on_datagram)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), "Fatal read error on datagram transport")
            return
        self._reading = True

    def _on_datagram(self, handle: UDP, addr: Optional[Address], flags: int, data: Optional[bytes],
                     error: Optional[int]) -> None:
        """libuv's receive callback: a datagram, or an error (ICMP errors on a connected socket)."""
        if self._closing:
            return
        try:
            if error is not None:
                self._protocol.error_received(uv_exception(error))
            elif data is not None:
                self._protocol.datagram_received(data, addr)
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal read error on datagram transport")

    # -- sending -------------------------------------------------------------------

    def sendto(self, data: Union[bytes, bytearray, memoryview], addr: Optional[Address] = None) -> None:
        """Send ``data`` as one datagram to ``addr`` (None: the connected peer). Errors go to the
        protocol's ``error_received``."""
        if type(data) is not bytes:
            check_data(data)
        if not data:
            return
        if self._address:
            if addr not in (None, self._address):
                raise ValueError(f"Invalid address: must be None or {self._address}")
            addr = self._address
        if self._conn_lost or self._handle is None:
            self._drop_write("socket.send() raised exception.")
            return
        sock = self._sock
        assert sock is not None
        if not self._pending_writes:
            try:  # nothing queued: the socket itself, as asyncio (so its errors are asyncio's)
                if self._connected:
                    sock.send(data)
                else:
                    sock.sendto(data, addr)  # type: ignore[arg-type]
                return
            except (BlockingIOError, InterruptedError):
                pass
            except OSError as exc:
                self._protocol.error_received(exc)
                return
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal write error on datagram socket.")
                return
        try:
            self._handle.send(None if self._connected else addr, bytes(data), self._on_sent)
        except UVError as exc:
            self._protocol.error_received(uv_error_exception(exc))
            return
        except (TypeError, ValueError) as exc:  # an address libuv cannot take
            self._protocol.error_received(OSError(str(exc)))
            return
        self._pending_writes += 1
        self._maybe_pause_protocol()

    def _on_sent(self, handle: UDP, error: Optional[int]) -> None:
        self._pending_writes -= 1
        if self._conn_lost:
            return
        if error is not None and error != UV_ECANCELED:
            self._protocol.error_received(uv_exception(error))
        self._maybe_resume_protocol()
        self._lost_when_written()

    # -- closing (SocketTransportBase) --------------------------------------------

    def _stop_reading(self) -> None:
        handle = self._handle
        if self._reading and handle is not None and not handle.closed:
            handle.stop_recv()
        self._reading = False


def make_datagram_transport(loop: Any, sock: socket.socket, protocol: asyncio.DatagramProtocol,
                            address: Optional[Tuple[Any, ...]] = None,
                            waiter: Optional["asyncio.Future[Any]"] = None,
                            extra: Optional[Dict[str, Any]] = None) -> asyncio.DatagramTransport:
    """asyncio's ``_make_datagram_transport``: a transport over the datagram socket ``sock``."""
    sock.setblocking(False)
    if sock.family not in (socket.AF_INET, socket.AF_INET6):
        # libuv's UDP handle is for IP; a unix datagram socket gets asyncio's selector transport,
        # which runs on the loop's add_reader/add_writer.
        fallback: asyncio.DatagramTransport = selector_events._SelectorDatagramTransport(  # type: ignore[attr-defined]
            loop, sock, protocol, address, waiter, extra)
        return fallback
    handle = UDP(loop.uv_loop)
    release_fd_watchers(loop)
    try:
        handle.open(sock.fileno())
    except UVError as exc:
        handle.close()
        raise uv_error_exception(exc) from None
    return UVDatagramTransport(loop, handle, sock, protocol, address, waiter, extra)
