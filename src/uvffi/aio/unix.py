"""Unix domain stream sockets for :mod:`uvffi.aio`: ``loop.create_unix_connection`` and
``loop.create_unix_server`` (so ``asyncio.open_unix_connection`` / ``start_unix_server``).

The sockets are made as asyncio makes them; the transports and the serving are
:mod:`uvffi.aio.stream` and :mod:`uvffi.aio.server` (a uvffi :class:`~uvffi.Pipe` on the fd).
"""

from __future__ import annotations

import asyncio
import errno
import inspect
import os
import socket
import stat
import sys
from asyncio import base_events
from asyncio.log import logger
from typing import Any, Callable, Optional, Tuple

from .server import cleanup_on_stop

__all__ = ["create_unix_connection", "create_unix_server"]

_CCT_HAS_SHUTDOWN_TIMEOUT = "ssl_shutdown_timeout" in inspect.signature(
    base_events.BaseEventLoop._create_connection_transport).parameters  # type: ignore[attr-defined]  # 3.11+
_SERVER_HAS_SHUTDOWN_TIMEOUT = "ssl_shutdown_timeout" in inspect.signature(base_events.Server.__init__).parameters


def _check_ssl_args(ssl: Any, server_hostname: Optional[str], ssl_handshake_timeout: Optional[float],
                    ssl_shutdown_timeout: Optional[float]) -> None:
    if ssl:
        if server_hostname is None:
            raise ValueError("you have to pass server_hostname when using ssl")
        return
    if server_hostname is not None:
        raise ValueError("server_hostname is only meaningful with ssl")
    if ssl_handshake_timeout is not None:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")


def _shutdown_timeout_kwargs(supported: bool, ssl_shutdown_timeout: Optional[float]) -> dict:
    if supported:
        return {"ssl_shutdown_timeout": ssl_shutdown_timeout}
    if ssl_shutdown_timeout is not None:
        raise ValueError("ssl_shutdown_timeout needs Python 3.11 or later")
    return {}


def _check_unix_stream(sock: socket.socket) -> None:
    if sock.family != socket.AF_UNIX or sock.type != socket.SOCK_STREAM:
        raise ValueError(f"A UNIX Domain Stream Socket was expected, got {sock!r}")


async def create_unix_connection(loop: Any, protocol_factory: Callable[[], asyncio.BaseProtocol],
                                 path: Optional[str] = None, *, ssl: Any = None, sock: Optional[socket.socket] = None,
                                 server_hostname: Optional[str] = None, ssl_handshake_timeout: Optional[float] = None,
                                 ssl_shutdown_timeout: Optional[float] = None
                                 ) -> Tuple[asyncio.BaseTransport, asyncio.BaseProtocol]:
    """Connect to the unix socket ``path`` (or use the connected ``sock``): ``(transport, protocol)``."""
    _check_ssl_args(ssl, server_hostname, ssl_handshake_timeout, ssl_shutdown_timeout)
    extra = _shutdown_timeout_kwargs(_CCT_HAS_SHUTDOWN_TIMEOUT, ssl_shutdown_timeout)
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM, 0)
        try:
            sock.setblocking(False)
            await loop.sock_connect(sock, path)
        except BaseException:
            sock.close()
            raise
    else:
        if sock is None:
            raise ValueError("no path and sock were specified")
        _check_unix_stream(sock)
        sock.setblocking(False)
    transport, protocol = await loop._create_connection_transport(
        sock, protocol_factory, ssl, server_hostname, ssl_handshake_timeout=ssl_handshake_timeout, **extra)
    return transport, protocol


def _remove_stale_socket(path: Any) -> None:
    """Remove a socket file left by an earlier server at ``path`` (as asyncio does)."""
    try:
        if stat.S_ISSOCK(os.stat(path).st_mode):
            os.remove(path)
    except FileNotFoundError:
        pass
    except OSError as err:
        logger.error("Unable to check or remove stale UNIX socket %r: %r", path, err)


async def create_unix_server(loop: Any, protocol_factory: Callable[[], asyncio.BaseProtocol],
                             path: Optional[str] = None, *, sock: Optional[socket.socket] = None, backlog: int = 100,
                             ssl: Any = None, ssl_handshake_timeout: Optional[float] = None,
                             ssl_shutdown_timeout: Optional[float] = None,
                             start_serving: bool = True, cleanup_socket: Optional[bool] = None) -> base_events.Server:
    """Serve on the unix socket ``path`` (or the bound ``sock``): an ``asyncio.Server``.
    ``cleanup_socket`` (Python 3.13's, default True there, False before): the socket file is
    removed when the server closes, if it is still this server's."""
    if isinstance(ssl, bool):
        raise TypeError("ssl argument must be an SSLContext or None")
    if ssl_handshake_timeout is not None and not ssl:
        raise ValueError("ssl_handshake_timeout is only meaningful with ssl")
    if ssl_shutdown_timeout is not None and not ssl:
        raise ValueError("ssl_shutdown_timeout is only meaningful with ssl")
    extra = _shutdown_timeout_kwargs(_SERVER_HAS_SHUTDOWN_TIMEOUT, ssl_shutdown_timeout)
    if path is not None:
        if sock is not None:
            raise ValueError("path and sock can not be specified at the same time")
        path = os.fspath(path)
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        if path[0] not in (0, "\x00"):  # not Linux's abstract namespace: a file may be left over
            _remove_stale_socket(path)
        try:
            sock.bind(path)
        except OSError as exc:
            sock.close()
            if exc.errno == errno.EADDRINUSE:
                raise OSError(errno.EADDRINUSE, f"Address {path!r} is already in use") from None
            raise
        except BaseException:
            sock.close()
            raise
    else:
        if sock is None:
            raise ValueError("path was not specified, and no sock specified")
        _check_unix_stream(sock)
    sock.setblocking(False)
    if cleanup_socket is None:
        cleanup_socket = sys.version_info >= (3, 13)
    if cleanup_socket:
        name = sock.getsockname()
        if name and name[0] not in (0, "\x00"):  # a file, not Linux's abstract namespace
            try:
                cleanup_on_stop(sock, name, os.stat(name).st_ino)
            except FileNotFoundError:
                pass
    server = base_events.Server(loop, [sock], protocol_factory, ssl, backlog, ssl_handshake_timeout, **extra)
    if start_serving:
        server._start_serving()  # type: ignore[attr-defined]  # asyncio's own create_unix_server calls it
        await asyncio.sleep(0)  # as asyncio: one iteration, so that serving has begun on return
    return server
