"""Name resolution, named as pyuv names it (``pyuv.dns``): :func:`getaddrinfo` and
:func:`getnameinfo`.

Without a callback each call is synchronous: it blocks the calling thread (the GIL
released), returns pyuv's result and raises :class:`~uvffi.error.UVError`
``(code, message)`` with libuv's ``UV_EAI_*`` code on failure. Every result libuv
allocates is freed before the call returns (pyuv 1.4 leaked it). A synchronous
call never touches the loop's state, so it is safe from any thread.

With a callback the lookup runs on libuv's thread pool and the call returns a
request (:class:`GAIRequest`, :class:`GNIRequest`, with ``cancel()``); then
``callback(result, errorno)`` runs on the loop thread: the synchronous call's
result and None, or None and the ``UV_EAI_*`` code. Submitting is allowed only
from the loop's thread while it runs (``RuntimeError`` otherwise); closing the
loop cancels lookups still queued (``errorno`` ``UV_ECANCELED``, as for fs
requests and work; libuv and pyuv say ``UV_EAI_CANCELED`` here).
"""

from __future__ import annotations

from typing import Any, Callable, List, NamedTuple, Optional, Tuple, Union

from ._core import ffi, lib, ref
from ._core.once import call_attr_once_with
from ._core.sockaddr import SockAddr, from_sockaddr, to_sockaddr
from .errno import UV_EINTR as _UV_EINTR
from .errno import strerror
from .error import DNSError, LoopClosedError, UVError, raise_for
from .requests.base import Request

__all__ = ["getaddrinfo", "getnameinfo", "AddrinfoResult", "GAIRequest", "GNIRequest"]

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
    if callback is not None and not callable(callback):
        raise TypeError("'callback' must be a callable or None")


_UV_EAI_CANCELED = -3003
_UV_ECANCELED = -125


class _DNSRequest(Request):
    _callback: Optional[Callable[[Any, Optional[int]], Any]] = None  # the instance's until taken
    _args: Optional[Tuple[Any, Optional[int]]] = None  # the callback's arguments, once known

    def _submit(self, loop: Any, callback: Callable[[Any, Optional[int]], Any], submit: Any,
                *args: Any) -> None:
        if loop._closed:
            raise LoopClosedError("the loop is closed")
        self._loop = loop
        self._callback = callback
        r = submit(loop._lp, ref(self), *args)
        if not r:
            raise_for(lib.uvffi_last_error(), UVError)
        self._req = r
        loop._requests.add(self)

    def _result(self, uvreq: Any) -> Any:  # pragma: no cover - both kinds override it
        raise NotImplementedError

    def _done(self, status: int) -> None:
        """On the loop thread: ``callback(result, None)`` or ``callback(None, errorno)``,
        exactly once. The arguments are stored in one step (``_args``), and the callback is
        taken and called in one call of built-ins (:func:`~uvffi._core.once.call_attr_once_with`),
        the last step: :meth:`_salvage`, which C calls if a signal interrupted this, finds
        the callback either called or still there."""
        req = self._req
        self._finish()
        self._loop._requests.discard(self)
        if self._args is None and req is not None:
            result = self._result(lib.uvffi_req_uv(req)) if status == 0 else None
            self._args = (result, _status(status))
        call_attr_once_with(self, "_callback", self._args or (None, _status(status)))

    def _salvage(self, status: int) -> None:
        """:meth:`_done` was interrupted (C calls this next, maybe more than once): if the
        callback was not yet taken, call it with the arguments ``_done`` stored, or, if it
        had not stored them, ``(None, status)`` for a failed request and ``(None, UV_EINTR)``
        for a succeeded one whose result was not read."""
        self._finish()
        self._loop._requests.discard(self)
        if self._args is None:
            self._args = (None, _status(status) if status < 0 else _UV_EINTR)
        call_attr_once_with(self, "_callback", self._args)


def _status(status: int) -> Optional[int]:
    """The callback's error argument for libuv's status."""
    if status == _UV_EAI_CANCELED:  # libuv's name for it here; the same UV_ECANCELED as fs and work
        return _UV_ECANCELED
    return status if status < 0 else None


class GAIRequest(_DNSRequest):
    """A :func:`getaddrinfo` running in libuv's thread pool (made by getaddrinfo
    with a callback): ``callback(result, errorno)`` when done; ``cancel()`` until
    a pool thread takes it. The callback runs exactly once, also when a signal's
    ``KeyboardInterrupt`` lands in uvffi's completion of the request: then with
    ``(None, UV_EINTR)`` if the result had not been read yet."""

    def __init__(self, loop: Any, callback: Callable[[Any, Optional[int]], Any], node: Any, service: Any,
                 family: int, socktype: int, protocol: int, flags: int) -> None:
        self._submit(loop, callback, lib.uvffi_getaddrinfo_async, node, service, family, socktype,
                     protocol, flags)

    def _result(self, uvreq: Any) -> List["AddrinfoResult"]:
        return _addrinfo_list(ffi.cast("uv_getaddrinfo_t *", uvreq).addrinfo)


class GNIRequest(_DNSRequest):
    """A :func:`getnameinfo` running in libuv's thread pool (made by getnameinfo
    with a callback): ``callback((host, service), errorno)`` when done."""

    def __init__(self, loop: Any, callback: Callable[[Any, Optional[int]], Any], addr: Any,
                 flags: int) -> None:
        self._submit(loop, callback, lib.uvffi_getnameinfo_async, addr, flags)

    def _result(self, uvreq: Any) -> Tuple[str, str]:
        r = ffi.cast("uv_getnameinfo_t *", uvreq)
        return _names(r.host, r.service)


def _names(host: Any, service: Any) -> Tuple[str, str]:
    return (ffi.string(host).decode("utf-8", "surrogateescape"),
            ffi.string(service).decode("utf-8", "surrogateescape"))


def _addrinfo_list(res: Any) -> List["AddrinfoResult"]:
    results: List[AddrinfoResult] = []
    ai = res
    while ai != ffi.NULL:
        if ai.ai_addrlen:
            canon = ffi.string(ai.ai_canonname).decode("utf-8", "surrogateescape") if ai.ai_canonname else ""
            results.append(AddrinfoResult(ai.ai_family, ai.ai_socktype, ai.ai_protocol, canon,
                                          from_sockaddr(ai.ai_addr)))
        ai = ai.ai_next
    return results


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
    if callback is not None:
        return GAIRequest(loop, callback, node, service, family, socktype, protocol, flags)
    out = ffi.new("struct addrinfo **")
    err = lib.uvffi_getaddrinfo_sync(node, service, family, socktype, protocol, flags, out)
    if err < 0:
        raise DNSError(err, strerror(err))
    res = out[0]
    try:
        return _addrinfo_list(res)
    finally:
        lib.uv_freeaddrinfo(res)


def getnameinfo(loop: Any, address: SockAddr, flags: int = 0, callback: Callback = None) -> Any:
    """The host and service names for a numeric address tuple, like
    ``socket.getnameinfo``: ``(host, service)``."""
    _check_loop(loop)
    ss = to_sockaddr(address)
    flags = _int(flags, "flags")
    _check_callback(callback)
    if callback is not None:
        return GNIRequest(loop, callback, ffi.cast("struct sockaddr *", ss), flags)
    host = ffi.new("char[]", lib.NI_MAXHOST)
    service = ffi.new("char[]", lib.NI_MAXSERV)
    err = lib.uvffi_getnameinfo_sync(ffi.cast("struct sockaddr *", ss), flags, host, service)
    if err < 0:
        raise DNSError(err, strerror(err))
    return _names(host, service)
