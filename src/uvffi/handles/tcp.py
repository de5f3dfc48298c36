"""TCP: :class:`TCP`, libuv's ``uv_tcp_t`` (pyuv's ``pyuv.TCP``)."""

from __future__ import annotations

import socket
from typing import Any, Callable, Optional

from .._core import c_methods, ffi, kind, lib, ref
from .._core.sockaddr import SockAddr, from_sockaddr, to_sockaddr
from ..error import TCPError, raise_for
from ..loop import Loop
from ..requests.stream import ConnectRequest
from .stream import Stream, _bool

__all__ = ["TCP", "UV_TCP_IPV6ONLY", "UV_TCP_REUSEPORT"]

UV_TCP_IPV6ONLY: int = lib.UV_TCP_IPV6ONLY
UV_TCP_REUSEPORT: int = lib.UVFFI_TCP_REUSEPORT  # 0 with a system libuv older than 1.49


def _uint(value: Any, what: str, top: int = 0xFFFFFFFF) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    if not 0 <= value <= top:
        raise OverflowError(f"{what} is out of range")
    return value


@c_methods("tcp")
class TCP(Stream):
    """A TCP socket (``uv_tcp_t``): a server (:meth:`~uvffi.TCP.bind`, :meth:`~uvffi.Stream.listen`,
    :meth:`~uvffi.Stream.accept`) or a connection (:meth:`~uvffi.TCP.connect`, then the :class:`~uvffi.Stream` methods).

    ``TCP(loop, family=socket.AF_UNSPEC)``: with ``AF_INET`` or ``AF_INET6`` the socket
    is created at once (so :meth:`~uvffi.Stream.fileno` and socket options work before bind).

    Unlike pyuv (and libuv, which reports it at ``listen()``), :meth:`~uvffi.TCP.bind` to an address
    in use raises ``TCPError`` ``UV_EADDRINUSE`` at once."""

    _kind = kind("tcp")
    _error = TCPError

    def __init__(self, loop: Loop, family: int = socket.AF_UNSPEC) -> None:
        if not isinstance(family, int) or isinstance(family, bool):
            raise TypeError(f"family must be an int, not {type(family).__name__}")
        if family not in (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6):
            raise ValueError("family must be AF_UNSPEC, AF_INET or AF_INET6")
        super().__init__(loop, _arg=family)

    def bind(self, addr: SockAddr, flags: int = 0) -> None:
        """Bind to ``(host, port)`` or ``(host, port, flowinfo, scope_id)``; ``flags``:
        ``UV_TCP_IPV6ONLY``, ``UV_TCP_REUSEPORT``."""
        sa = to_sockaddr(addr)
        flags = _uint(flags, "flags")
        err = lib.uvffi_tcp_bind(self._live(), ffi.cast("struct sockaddr *", sa), flags)
        if err:
            raise_for(err, TCPError)

    def connect(self, addr: SockAddr, callback: Callable[["TCP", Optional[int]], Any]) -> ConnectRequest:
        """Connect to ``addr``; ``callback(handle, error)`` then, with ``error`` None or
        libuv's error code (``UV_ECONNREFUSED``, ...): a failed connection is never an
        exception out of ``run()``."""
        if not callable(callback):
            raise TypeError("a callable is required")
        sa = to_sockaddr(addr)
        ptr = self._live()
        req = ConnectRequest(self, callback)
        r = lib.uvffi_tcp_connect(ptr, ref(req), ffi.cast("struct sockaddr *", sa))
        if not r:
            raise_for(lib.uvffi_last_error(), TCPError)
        req._req = r
        return req

    def open(self, fd: int) -> None:
        """Manage the existing socket ``fd`` (it then belongs to the handle). An fd the
        loop cannot watch (a regular file, a directory, ``/dev/null``) raises ``TCPError``
        ``UV_EPERM``."""
        fd = _uint(fd, "fd", 0x7FFFFFFF)
        err = lib.uvffi_tcp_open(self._live(), fd)
        if err:
            raise_for(err, TCPError)

    def _name(self, peer: int) -> SockAddr:
        ss = ffi.new("struct sockaddr_storage *")
        err = lib.uvffi_tcp_name(self._live(), peer, ss)
        if err:
            raise_for(err, TCPError)
        addr = from_sockaddr(ffi.cast("struct sockaddr *", ss))
        if addr is None:
            raise TCPError(-22, "unknown address family")
        return addr

    def getsockname(self) -> SockAddr:
        """The local address."""
        return self._name(0)

    def getpeername(self) -> SockAddr:
        """The peer's address (``TCPError`` ``UV_ENOTCONN`` if not connected)."""
        return self._name(1)

    @property
    def family(self) -> int:
        """The socket's address family (``TCPError`` before the socket exists:
        ``AF_UNSPEC`` and not bound or connected yet)."""
        ss = ffi.new("struct sockaddr_storage *")
        err = lib.uvffi_tcp_name(self._live(), 0, ss)
        if err:
            raise_for(err, TCPError)
        return int(ss.ss_family)

    def nodelay(self, enable: bool) -> None:
        """Disable (True) or enable Nagle's algorithm."""
        err = lib.uvffi_tcp_nodelay(self._live(), _bool(enable, "enable"))
        if err:
            raise_for(err, TCPError)

    def keepalive(self, enable: bool, delay: int) -> None:
        """TCP keep-alive on or off; ``delay``: seconds of idleness before the first probe."""
        on = _bool(enable, "enable")
        delay = _uint(delay, "delay")
        err = lib.uvffi_tcp_keepalive(self._live(), on, delay)
        if err:
            raise_for(err, TCPError)

    def simultaneous_accepts(self, enable: bool) -> None:
        """Windows' simultaneous accepts (a no-op elsewhere)."""
        err = lib.uvffi_tcp_simultaneous_accepts(self._live(), _bool(enable, "enable"))
        if err:
            raise_for(err, TCPError)

    def close_reset(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the connection with a TCP RST instead of the orderly FIN
        (``uv_tcp_close_reset``); ``callback(handle)`` once closed. Beyond pyuv."""
        if callback is not None and not callable(callback):
            raise TypeError("a callable or None is required")
        err = lib.uvffi_tcp_close_reset(self._live())
        if err:
            raise_for(err, TCPError)
        if callback is not None:
            self._close_cb = callback
        self._closed = True
