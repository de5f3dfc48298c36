"""Serving for :mod:`uvffi.aio`: the listening socket of an ``asyncio.Server`` is watched by a
uvffi :class:`~uvffi.TCP` or :class:`~uvffi.Pipe` (libuv's ``uv_listen``), each connection is
accepted into a new handle and becomes a stream transport (an SSL one with a context).

As for the transports, libuv owns the listening fd once the handle is opened on it; the
socket object is detached when serving stops, so the fd is closed once.
"""

from __future__ import annotations

import asyncio
import os
import socket
import weakref
from asyncio.log import logger
from typing import Any, Callable, Optional, Tuple

from ..error import UVError
from ..handles.pipe import Pipe
from ..handles.stream import Stream
from ..handles.tcp import TCP
from ._transport_base import uv_error_exception, uv_exception
from .stream import UVStreamTransport, open_stream_handle, ssl_transport

__all__ = ["start_serving", "stop_serving", "cleanup_on_stop"]

_HAS_AF_UNIX = hasattr(socket, "AF_UNIX")


class _Listener:
    """One listening socket being served: its handle and what each connection gets."""

    def __init__(self, loop: Any, protocol_factory: Callable[[], asyncio.BaseProtocol], sock: socket.socket,
                 sslcontext: Any, server: Any, backlog: int, ssl_handshake_timeout: Optional[float],
                 ssl_shutdown_timeout: Optional[float]) -> None:
        self.loop = loop
        self.protocol_factory = protocol_factory
        self.sock: Optional[socket.socket] = sock
        self.sslcontext = sslcontext
        self.server = server
        self.ssl_handshake_timeout = ssl_handshake_timeout
        self.ssl_shutdown_timeout = ssl_shutdown_timeout
        self.unix = _HAS_AF_UNIX and sock.family == socket.AF_UNIX
        self.handle: Optional[Stream] = open_stream_handle(loop, sock)
        try:
            self.handle.listen(self._on_connection, backlog)
        except UVError as exc:
            self.close()
            raise uv_error_exception(exc) from None

    def close(self) -> None:
        """Stop accepting and close the listening fd (through libuv; the socket is detached)."""
        handle, sock = self.handle, self.sock
        self.handle = self.sock = None
        if sock is not None:
            sock.detach()
        if handle is not None and not handle.closed:
            handle.close()

    def _on_connection(self, handle: Stream, error: Optional[int]) -> None:
        """libuv's listen callback: a connection is waiting (or accepting failed)."""
        loop = self.loop
        if error is not None:
            loop.call_exception_handler({
                "message": "socket.accept() failed",
                "exception": uv_exception(error),
                "socket": self.sock,
            })
            return
        client: Stream = Pipe(loop.uv_loop) if self.unix else TCP(loop.uv_loop)
        try:
            handle.accept(client)
            conn = socket.socket(fileno=client.fileno())  # shares the fd with the handle, detached at close
        except (UVError, OSError) as exc:
            client.close()
            loop.call_exception_handler({
                "message": "socket.accept() failed",
                "exception": uv_error_exception(exc),
                "socket": self.sock,
            })
            return
        conn.setblocking(False)
        try:
            protocol = self.protocol_factory()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            conn.detach()
            client.close()
            loop.call_exception_handler({
                "message": "Error on transport creation for incoming connection",
                "exception": exc,
            })
            return
        if self.sslcontext is None:
            UVStreamTransport(loop, client, conn, protocol, None, None, self.server)
            return
        waiter = loop.create_future()
        transport = ssl_transport(loop, client, conn, protocol, self.sslcontext, waiter, server_side=True,
                                  server=self.server, ssl_handshake_timeout=self.ssl_handshake_timeout,
                                  ssl_shutdown_timeout=self.ssl_shutdown_timeout)
        loop.create_task(_await_handshake(loop, waiter, transport, protocol))


async def _await_handshake(loop: Any, waiter: "asyncio.Future[Any]", transport: asyncio.Transport,
                           protocol: asyncio.BaseProtocol) -> None:
    """Close an accepted SSL connection whose handshake fails (reported in debug mode, as asyncio)."""
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        transport.close()
        if loop.get_debug():
            loop.call_exception_handler({
                "message": "Error on transport creation for incoming connection",
                "exception": exc,
                "protocol": protocol,
                "transport": transport,
            })


_listeners: "weakref.WeakKeyDictionary[socket.socket, _Listener]" = weakref.WeakKeyDictionary()


def start_serving(loop: Any, protocol_factory: Callable[[], asyncio.BaseProtocol], sock: socket.socket,
                  sslcontext: Any = None, server: Any = None, backlog: int = 100,
                  ssl_handshake_timeout: Optional[float] = None,
                  ssl_shutdown_timeout: Optional[float] = None) -> None:
    """asyncio's ``_start_serving``: accept connections on the listening ``sock``, each with a
    protocol from ``protocol_factory`` and a transport attached to ``server``."""
    if sock in _listeners:
        return  # already served: asyncio's Server guards this too
    _listeners[sock] = _Listener(loop, protocol_factory, sock, sslcontext, server, backlog,
                                 ssl_handshake_timeout, ssl_shutdown_timeout)


_unix_cleanups: "weakref.WeakKeyDictionary[socket.socket, Tuple[Any, int]]" = weakref.WeakKeyDictionary()
"""Unix server sockets whose file goes when serving stops (3.13's ``cleanup_socket``): path, inode."""


def cleanup_on_stop(sock: socket.socket, path: Any, inode: int) -> None:
    """Remove the socket file ``path`` when :func:`stop_serving` closes ``sock``, if the file is
    still that socket (its inode): another server may have bound the path meanwhile."""
    _unix_cleanups[sock] = (path, inode)


def stop_serving(loop: Any, sock: socket.socket) -> None:
    """asyncio's ``_stop_serving``: stop accepting on ``sock`` and close it (once)."""
    cleanup = _unix_cleanups.pop(sock, None)
    listener = _listeners.pop(sock, None)
    if listener is not None:
        listener.close()
    else:
        sock.close()
    if cleanup is not None:
        path, inode = cleanup
        try:
            if os.stat(path).st_ino == inode:
                os.unlink(path)
        except FileNotFoundError:
            pass
        except OSError as err:
            logger.error("Unable to clean up listening UNIX socket %r: %r", path, err)
