"""Name resolution for :class:`uvffi.aio.Loop` through libuv (:mod:`uvffi.dns` with a
callback: ``uv_getaddrinfo`` / ``uv_getnameinfo`` in libuv's thread pool), with the
result shapes and errors of :func:`socket.getaddrinfo` / :func:`socket.getnameinfo`."""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any, Callable, Dict, List, Optional, Tuple, Union

from .. import dns as _dns
from .. import errno as _uverrno
from ..errno import strerror

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["getaddrinfo", "getnameinfo"]

AddrInfo = Tuple[socket.AddressFamily, socket.SocketKind, int, str,
                 Union[Tuple[str, int], Tuple[str, int, int, int]]]


def _eai_codes() -> Dict[int, int]:
    """libuv's UV_EAI_* codes -> the system's EAI_* values, by name."""
    out: Dict[int, int] = {}
    for name in dir(_uverrno):
        if name.startswith("UV_EAI_"):
            system = getattr(socket, name[3:], None)
            if isinstance(system, int):
                out[getattr(_uverrno, name)] = system
    return out


_EAI = _eai_codes()


def _error(code: int) -> OSError:
    """:class:`socket.gaierror` for a UV_EAI_* code (with the system's EAI number), an
    OSError with the errno for another libuv code (libuv's codes are -errno on Unix)."""
    eai = _EAI.get(code)
    if eai is not None:
        return socket.gaierror(eai, strerror(code))
    return OSError(-code, strerror(code))


def _family(value: int) -> Any:
    try:
        return socket.AddressFamily(value)
    except ValueError:
        return value


def _kind(value: int) -> Any:
    try:
        return socket.SocketKind(value)
    except ValueError:
        return value


def _completer(loop: "Loop", fut: "asyncio.Future[Any]", convert: Callable[[Any], Any]
               ) -> Callable[[Any, Optional[int]], None]:
    """The uvffi.dns callback that settles ``fut`` with ``convert(result)`` or the error."""
    def done(result: Any, error: Optional[int]) -> None:
        # closing the loop cancels lookups in flight: their futures are left alone then
        if fut.done() or loop.is_closed():
            return
        if error is not None:
            fut.set_exception(_error(error))
        else:
            fut.set_result(convert(result))
    return done


async def getaddrinfo(loop: "Loop", host: Any, port: Any, family: int = 0, type: int = 0, proto: int = 0,
                      flags: int = 0) -> List[AddrInfo]:
    """``socket.getaddrinfo(host, port, family, type, proto, flags)`` on libuv's pool."""
    fut = loop.create_future()
    done = _completer(loop, fut, list)

    if isinstance(port, str) and port.isdigit():
        port = int(port)  # as socket.getaddrinfo takes a numeric port string
    try:
        request = _dns.getaddrinfo(loop.uv_loop, host, port, family, type, proto, flags, callback=done)
    except UnicodeError as exc:
        # socket.getaddrinfo's error for a host name IDNA cannot encode
        raise UnicodeError(f"encoding with 'idna' codec failed ({exc})") from None
    try:
        results = await fut
    except BaseException:
        request.cancel()  # cancelled while queued: the pool thread never takes it
        raise
    return [(_family(r.family), _kind(r.socktype), r.proto, r.canonname, r.sockaddr)
            for r in results if r.sockaddr is not None]


async def getnameinfo(loop: "Loop", sockaddr: Any, flags: int = 0) -> Tuple[str, str]:
    """``socket.getnameinfo(sockaddr, flags)`` on libuv's pool."""
    fut = loop.create_future()
    done = _completer(loop, fut, tuple)

    request = _dns.getnameinfo(loop.uv_loop, sockaddr, flags, callback=done)
    try:
        return await fut
    except BaseException:
        request.cancel()
        raise
