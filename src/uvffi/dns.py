"""Name resolution, named as pyuv names it (``pyuv.dns``): :func:`getaddrinfo` and
:func:`getnameinfo`.

Without a callback each call is synchronous: it blocks the calling thread (the GIL
released), returns pyuv's result and raises :class:`~uvffi.error.UVError`
``(code, message)`` with libuv's ``UV_EAI_*`` code on failure. Every result libuv
allocates is freed before the call returns (pyuv 1.4 leaked it). A synchronous
call never touches the loop's state, so it is safe from any thread. With a
callback the lookup will run on libuv's thread pool (``callback(result, errorno)``)
-- that half arrives with the request layer; until then a callback raises
``NotImplementedError``.
"""

from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional, Union

from ._core import ffi, lib
from ._core.sockaddr import SockAddr, from_sockaddr, to_sockaddr
from .errno import strerror
from .error import UVError

__all__ = ["getaddrinfo", "getnameinfo", "AddrinfoResult"]

_ASYNC = "dns with a callback arrives with the request layer"

Callback = Optional[Callable[[Any, Optional[int]], Any]]


class AddrinfoResult(NamedTuple):
    """One :func:`getaddrinfo` result (pyuv's field names)."""

    family: int
    socktype: int
    proto: int
    canonname: str
    sockaddr: Optional[SockAddr]


def _check_loop(loop: Any) -> None:
    from .loop import Loop

    if not isinstance(loop, Loop):
        raise TypeError(f"loop must be a uvffi.Loop, not {type(loop).__name__}")
    loop._live_raw()


def _check_callback(callback: Any) -> None:
    if callback is not None:
        if not callable(callback):
            raise TypeError("'callback' must be a callable or None")
        # The request layer: a GAIRequest/GNIRequest run on the pool.
        raise NotImplementedError(_ASYNC)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _host(host: Any) -> Any:
    if host is None:
        return ffi.NULL
    if isinstance(host, str):
        b = host.encode("idna")
    elif isinstance(host, bytes):
        b = host
    else:
        raise TypeError(f"host must be str, bytes or None, not {type(host).__name__}")
    if b"\0" in b:
        raise ValueError("host: embedded null byte")
    return b


def _service(port: Any) -> Any:
    if port is None:
        return ffi.NULL
    if isinstance(port, str):
        b = port.encode("ascii")
    elif isinstance(port, bytes):
        b = port
    elif isinstance(port, int):
        if not 0 <= port <= 0xFFFF:
            raise ValueError("port must be between 0 and 65535")
        b = str(port).encode()
    else:
        raise TypeError(f"port must be str, bytes, int or None, not {type(port).__name__}")
    if b"\0" in b:
        raise ValueError("port: embedded null byte")
    return b


def getaddrinfo(loop: Any, host: Union[str, bytes, None], port: Union[int, str, bytes, None] = None,
                family: int = 0, socktype: int = 0, protocol: int = 0, flags: int = 0,
                callback: Callback = None) -> Any:
    """Resolve ``host`` and ``port`` (a number, a service name or None) like
    ``socket.getaddrinfo``: a list of :class:`AddrinfoResult`."""
    _check_loop(loop)
    node, service = _host(host), _service(port)
    family, socktype = _int(family, "family"), _int(socktype, "socktype")
    protocol, flags = _int(protocol, "protocol"), _int(flags, "flags")
    _check_callback(callback)
    out = ffi.new("struct addrinfo **")
    err = lib.uvffi_getaddrinfo_sync(node, service, family, socktype, protocol, flags, out)
    if err < 0:
        raise UVError(err, strerror(err))
    res = out[0]
    try:
        results: List[AddrinfoResult] = []
        ai = res
        while ai != ffi.NULL:
            if ai.ai_addrlen:
                canon = ffi.string(ai.ai_canonname).decode("utf-8", "surrogateescape") if ai.ai_canonname else ""
                results.append(AddrinfoResult(ai.ai_family, ai.ai_socktype, ai.ai_protocol, canon,
                                              from_sockaddr(ai.ai_addr)))
            ai = ai.ai_next
        return results
    finally:
        lib.uv_freeaddrinfo(res)


def getnameinfo(loop: Any, address: SockAddr, flags: int = 0, callback: Callback = None) -> Any:
    """The host and service names for a numeric address tuple, like
    ``socket.getnameinfo``: ``(host, service)``."""
    _check_loop(loop)
    ss = to_sockaddr(address)
    flags = _int(flags, "flags")
    _check_callback(callback)
    host = ffi.new("char[]", lib.NI_MAXHOST)
    service = ffi.new("char[]", lib.NI_MAXSERV)
    err = lib.uvffi_getnameinfo_sync(ffi.cast("struct sockaddr *", ss), flags, host, service)
    if err < 0:
        raise UVError(err, strerror(err))
    return (ffi.string(host).decode("utf-8", "surrogateescape"),
            ffi.string(service).decode("utf-8", "surrogateescape"))
