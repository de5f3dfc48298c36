"""UDP sockets: :class:`UDP`, libuv's ``uv_udp_t`` (pyuv's ``pyuv.UDP``)."""

from __future__ import annotations

import socket
from typing import Any, Callable, Dict, Iterable, List, Optional, Sequence, Tuple

from .._core import PYPY, c_methods, ffi, kind, lib
from .._core.sockaddr import SockAddr, from_sockaddr, to_sockaddr
from ..errno import UV_EINVAL
from ..error import UDPError, raise_for, require_libuv, unavailable
from ..loop import Loop
from ..requests.udp_send import UDPSendRequest
from .base import Handle

__all__ = [
    "UDP", "UV_UDP_IPV6ONLY", "UV_UDP_PARTIAL", "UV_UDP_REUSEADDR", "UV_UDP_REUSEPORT", "UV_UDP_RECVMMSG",
    "UV_UDP_LINUX_RECVERR", "UV_JOIN_GROUP", "UV_LEAVE_GROUP",
]

UV_UDP_IPV6ONLY: int = lib.UV_UDP_IPV6ONLY
"""bind() flag: an IPv6 socket takes no IPv4 traffic (no dual stack)."""
UV_UDP_PARTIAL: int = lib.UV_UDP_PARTIAL
"""Receive callback flag: the datagram was truncated (it did not fit the buffer)."""
UV_UDP_REUSEADDR: int = lib.UV_UDP_REUSEADDR
"""bind() flag: ``SO_REUSEADDR`` (several sockets on one address; the last one receives)."""
UV_UDP_REUSEPORT: int = lib.UVFFI_UDP_REUSEPORT or 64
"""bind() flag: ``SO_REUSEPORT`` (libuv >= 1.49): datagrams are spread over the sockets."""
UV_UDP_RECVMMSG: int = lib.UV_UDP_RECVMMSG
"""Constructor flag: receive with ``recvmmsg``, up to 20 datagrams per system call. The
datagrams of one call that were not yet delivered when a callback stops receiving (or
closes the handle) are dropped: libuv has already taken them from the socket."""
UV_UDP_LINUX_RECVERR: int = lib.UV_UDP_LINUX_RECVERR
"""bind() flag (Linux): ``IP_RECVERR``, full ICMP error reporting."""
UV_JOIN_GROUP: int = lib.UV_JOIN_GROUP
"""set_membership(): join the multicast group."""
UV_LEAVE_GROUP: int = lib.UV_LEAVE_GROUP
"""set_membership(): leave the multicast group."""

_FAMILIES = (socket.AF_UNSPEC, socket.AF_INET, socket.AF_INET6)
_BIND_FLAGS = UV_UDP_IPV6ONLY | UV_UDP_REUSEADDR | UV_UDP_REUSEPORT | UV_UDP_LINUX_RECVERR

RecvCallback = Callable[["UDP", Optional[SockAddr], int, Optional[bytes], Optional[int]], Any]
SendCallback = Callable[["UDP", Optional[int]], Any]


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _bool(value: Any, what: str) -> int:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return 1 if value else 0


def _ttl(value: Any) -> int:
    _int(value, "ttl")
    if not 0 <= value <= 255:
        raise ValueError("ttl must be between 0 and 255")
    return value


_SS_CACHE: Dict[Tuple[str, int], Any] = {}
"""Parsed ``(host, port)`` addresses (``struct sockaddr_storage *``, never written to
after parsing): a ``send`` to a known peer skips the parse."""


def _buffer(data: Any) -> Any:
    """A cffi ``char[]`` over one buffer-protocol object (a copy only for a non-contiguous one)."""
    if isinstance(data, str):
        raise TypeError("data must be a bytes-like object, not str")
    try:
        view = memoryview(data)
    except TypeError:
        raise TypeError(f"data must be a bytes-like object or a sequence of them, not {type(data).__name__}") from None
    if not view.contiguous:
        return ffi.from_buffer("char[]", view.tobytes())
    if view.nbytes == 0:
        return ffi.from_buffer("char[]", b"")
    return ffi.from_buffer("char[]", view if view.ndim == 1 and view.itemsize == 1 else view.cast("B"))


def _buffers(data: Any, what: str = "data") -> List[Any]:
    """One buffer-protocol object, or a sequence of them (not str), as cffi buffers."""
    try:
        memoryview(data)
        single = True
    except TypeError:
        single = False
    if single:
        return [_buffer(data)]
    if isinstance(data, str) or not isinstance(data, (Sequence, list, tuple)):
        raise TypeError("only bytes-like objects and sequences of them are supported")
    bufs = [_buffer(item) for item in data]
    if not bufs:
        raise ValueError(f"{what} is an empty sequence")
    return bufs


@c_methods("udp")
class UDP(Handle):
    """A UDP socket (``uv_udp_t``): datagrams to and from ``(host, port)`` for IPv4,
    ``(host, port, flowinfo, scope_id)`` for IPv6.

    ``UDP(loop, family=AF_UNSPEC, flags=0)``: with ``AF_INET`` or ``AF_INET6`` the
    socket is created at once, otherwise by :meth:`bind` (or the first send).
    ``flags`` may be :data:`UV_UDP_RECVMMSG` (receive up to 20 datagrams per system
    call; the handle then carries a 1.25 MiB receive buffer instead of 64 KiB).

    Errors of operations that libuv completes later (sends, receives) go to their
    callbacks, never out of :meth:`uvffi.Loop.run`. A receiving handle stays alive
    though the program drops it."""

    _kind = kind("udp")
    _error = UDPError

    def __init__(self, loop: Loop, family: int = socket.AF_UNSPEC, flags: int = 0) -> None:
        _int(family, "family")
        _int(flags, "flags")
        if family not in _FAMILIES:
            raise ValueError(f"family must be AF_UNSPEC, AF_INET or AF_INET6, not {family}")
        if flags & ~UV_UDP_RECVMMSG:
            raise ValueError(f"invalid flags: {flags!r} (only UV_UDP_RECVMMSG)")
        super().__init__(loop, _arg=int(family) | flags)
        self._family = int(family)

    # -- addresses ------------------------------------------------------------

    def _sockaddr(self, addr: Any) -> Any:
        """``addr`` as a new ``struct sockaddr_storage *`` (pass it cast to ``struct
        sockaddr *`` while holding it: the cast does not own the memory); UDPError ``UV_EINVAL`` for an address
        of the other family than the one the handle was created for."""
        if type(addr) is tuple and len(addr) == 2 and type(addr[0]) is str and type(addr[1]) is int:
            ss = _SS_CACHE.get(addr)  # a datagram server answers the same peers again and again
            if ss is None:
                ss = to_sockaddr(addr)
                if len(_SS_CACHE) >= 256:
                    _SS_CACHE.clear()
                _SS_CACHE[addr] = ss
        else:
            ss = to_sockaddr(addr)
        if self._family != socket.AF_UNSPEC and ss.ss_family != self._family:
            raise UDPError(UV_EINVAL, f"address {addr[0]!r} is not of the handle's family")
        return ss

    def _name(self, peer: int) -> SockAddr:
        ss = ffi.new("struct sockaddr_storage *")
        err = lib.uvffi_udp_name(self._live(), peer, ss)
        if err:
            raise_for(err, UDPError)
        addr = from_sockaddr(ffi.cast("struct sockaddr *", ss))
        if addr is None:  # pragma: no cover - UDP sockets are IPv4 or IPv6
            raise UDPError(UV_EINVAL, "not an IP socket")
        return addr

    def bind(self, addr: Tuple[Any, ...], flags: int = 0) -> None:
        """Bind to ``addr``, ``(host, port[, flowinfo[, scope_id]])``; host ``""`` is
        any address. ``flags``: :data:`UV_UDP_IPV6ONLY`, :data:`UV_UDP_REUSEADDR`,
        :data:`UV_UDP_REUSEPORT`, :data:`UV_UDP_LINUX_RECVERR`, or-ed. An address in
        use raises :class:`~uvffi.error.UDPError` ``UV_EADDRINUSE``."""
        _int(flags, "flags")
        if flags & ~_BIND_FLAGS:
            raise ValueError(f"invalid bind flags: {flags!r}")
        if flags & UV_UDP_REUSEPORT and not lib.UVFFI_UDP_REUSEPORT:
            raise unavailable("UV_UDP_REUSEPORT", "1.49.0")
        ss = self._sockaddr(addr)
        err = lib.uvffi_udp_bind(self._live(), ffi.cast("struct sockaddr *", ss), flags)
        if err:
            raise_for(err, UDPError)

    def connect(self, addr: Optional[Tuple[Any, ...]]) -> None:
        """Beyond pyuv (``uv_udp_connect``): send to and receive from ``addr`` only;
        :meth:`send` then takes ``None`` as its address. ``connect(None)`` dissolves
        the association."""
        ss = ffi.NULL if addr is None else self._sockaddr(addr)
        err = lib.uvffi_udp_connect(self._live(), ffi.cast("struct sockaddr *", ss))
        if err:
            raise_for(err, UDPError)

    def open(self, fd: int) -> None:
        """Manage the socket ``fd`` (a UDP socket of another library; it is closed with
        the handle: ``os.dup`` it to keep it). The fd is not made non-blocking. A datagram
        socket only: another socket type raises :class:`~uvffi.error.UDPError` with
        ``UV_EPROTOTYPE`` (a TCP socket would fail every receive with ENOTCONN), an fd that
        is no socket ``UV_ENOTSOCK``; the fd then stays the caller's."""
        if hasattr(fd, "fileno"):
            fd = fd.fileno()
        _int(fd, "fd")
        if fd < 0:
            raise ValueError(f"invalid file descriptor: {fd}")
        self._set(lib.UVFFI_UDP_OPEN, fd)

    def getsockname(self) -> SockAddr:
        """The local address, ``(host, port)`` or ``(host, port, flowinfo, scope_id)``."""
        return self._name(0)

    def getpeername(self) -> SockAddr:
        """Beyond pyuv: the peer of a :meth:`connect`-ed handle (``UV_ENOTCONN`` otherwise)."""
        return self._name(1)

    # -- sending --------------------------------------------------------------

    def send(self, addr: Optional[Tuple[Any, ...]], data: Any, callback: Optional[SendCallback] = None) -> None:
        """Send one datagram to ``addr`` (None on a :meth:`connect`-ed handle). ``data``
        is a bytes-like object (bytes, bytearray, memoryview, array, ...) or a sequence
        of them, sent as one datagram. ``callback(handle, error)`` runs once, with
        ``error`` None or a libuv error code (``UV_EMSGSIZE``, ``UV_ECANCELED`` if the
        handle is closed first, ...). The buffers are kept until then. A ``bytes``
        datagram without a callback goes at once if the socket takes it (never ahead
        of queued sends); only otherwise is it queued."""
        if callback is not None and not callable(callback):
            raise TypeError("'callback' must be a callable or None")
        ss = ffi.NULL if addr is None else self._sockaddr(addr)
        if callback is None and type(data) is bytes:  # now, if the socket takes it: no request
            if lib.uvffi_udp_send_now(self._live(), data, len(data), ffi.cast("struct sockaddr *", ss)) >= 0:
                return
        UDPSendRequest(self, ss, _buffers(data), callback)

    def sendlines(self, addr: Optional[Tuple[Any, ...]], seq: Iterable[Any],
                  callback: Optional[SendCallback] = None) -> None:
        """Send the bytes-like objects of ``seq`` (any iterable) as one datagram, like
        :meth:`send` with a sequence."""
        if isinstance(seq, (str, bytes, bytearray, memoryview)):
            raise TypeError("sendlines() takes an iterable of bytes-like objects")
        self.send(addr, list(seq), callback)

    def try_send(self, addr: Optional[Tuple[Any, ...]], data: Any) -> int:
        """Send a datagram now if the socket can take it: returns the bytes sent, or
        raises :class:`~uvffi.error.UDPError` (``UV_EAGAIN`` when it would block)."""
        ss = ffi.NULL if addr is None else self._sockaddr(addr)
        buffers = _buffers(data)
        bufs = ffi.new("uv_buf_t[]", len(buffers))
        for i, b in enumerate(buffers):
            bufs[i].base = b
            bufs[i].len = len(b)
        n = lib.uvffi_udp_try_send(self._live(), bufs, len(buffers), ffi.cast("struct sockaddr *", ss))
        if n < 0:
            raise_for(n, UDPError)
        return n

    def try_send2(self, messages: Iterable[Tuple[Tuple[Any, ...], Any]]) -> int:
        """Beyond pyuv (libuv >= 1.50's ``uv_udp_try_send2``, one ``sendmmsg``): try to
        send several datagrams, ``messages`` an iterable of ``(addr, data)`` with
        ``data`` as for :meth:`send`. Returns how many were sent (from the first on);
        raises :class:`~uvffi.error.UDPError` if none could be (``UV_EAGAIN``), and
        :class:`~uvffi.error.FeatureUnavailableError` on an older libuv."""
        require_libuv((1, 50, 0), "UDP.try_send2")
        msgs = list(messages)
        if not msgs:
            raise ValueError("messages is empty")
        count = len(msgs)
        keep: List[Any] = []
        bufs = ffi.new("uv_buf_t *[]", count)
        nbufs = ffi.new("unsigned int[]", count)
        addrs = ffi.new("struct sockaddr *[]", count)
        for i, msg in enumerate(msgs):
            if not isinstance(msg, tuple) or len(msg) != 2:
                raise TypeError("each message must be an (addr, data) tuple")
            addr, data = msg
            ss = self._sockaddr(addr)
            buffers = _buffers(data)
            arr = ffi.new("uv_buf_t[]", len(buffers))
            for j, b in enumerate(buffers):
                arr[j].base = b
                arr[j].len = len(b)
            keep += [ss, buffers, arr]
            bufs[i], nbufs[i], addrs[i] = arr, len(buffers), ffi.cast("struct sockaddr *", ss)
        n = lib.uvffi_udp_try_send2(self._live(), count, bufs, nbufs, addrs, 0)
        if n < 0:
            raise_for(n, UDPError)
        return n

    # -- receiving ------------------------------------------------------------

    def start_recv(self, callback: RecvCallback) -> None:
        """Receive datagrams: ``callback(handle, addr, flags, data, error)`` gets the
        sender's address, ``flags`` (:data:`UV_UDP_PARTIAL` for a truncated datagram),
        the datagram as ``bytes``, and ``error`` None; on a receive error
        ``callback(handle, None, 0, None, error)``."""
        if not callable(callback):
            raise TypeError("a callable is required")
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        err = lib.uvffi_udp_recv_start(ptr)
        if err:
            raise_for(err, UDPError)

    def stop_recv(self) -> None:
        """Stop receiving. Nothing is lost (the socket keeps what arrives meanwhile), except
        on a :data:`UV_UDP_RECVMMSG` handle stopped from its receive callback: the rest of
        that ``recvmmsg`` batch is dropped."""
        err = lib.uvffi_udp_recv_stop(self._live())
        if err:
            raise_for(err, UDPError)

    # -- options ----------------------------------------------------------------

    def _set(self, option: int, value: int) -> None:
        err = lib.uvffi_udp_set(self._live(), option, value)
        if err:
            raise_for(err, UDPError)

    def _get(self, option: int) -> int:
        out = ffi.new("long *")
        err = lib.uvffi_udp_get(self._live(), option, out)
        if err:
            raise_for(err, UDPError)
        return int(out[0])

    def set_membership(self, multicast_address: str, membership: int, interface: Optional[str] = None) -> None:
        """Join (:data:`UV_JOIN_GROUP`) or leave (:data:`UV_LEAVE_GROUP`) a multicast
        group, on ``interface`` (an address; None: the system's choice)."""
        self._membership(multicast_address, interface, None, membership)

    def set_source_membership(self, multicast_address: str, interface: Optional[str], source_address: str,
                              membership: int) -> None:
        """Beyond pyuv: join or leave a source-specific multicast group (only datagrams
        from ``source_address``)."""
        if not isinstance(source_address, str):
            raise TypeError(f"source_address must be str, not {type(source_address).__name__}")
        self._membership(multicast_address, interface, source_address, membership)

    def _membership(self, group: str, iface: Optional[str], source: Optional[str], membership: int) -> None:
        if not isinstance(group, str):
            raise TypeError(f"multicast_address must be str, not {type(group).__name__}")
        if iface is not None and not isinstance(iface, str):
            raise TypeError(f"interface must be str or None, not {type(iface).__name__}")
        _int(membership, "membership")
        if membership not in (UV_JOIN_GROUP, UV_LEAVE_GROUP):
            raise ValueError("membership must be UV_JOIN_GROUP or UV_LEAVE_GROUP")
        args = [s.encode() if s is not None else ffi.NULL for s in (group, iface, source)]
        if any(isinstance(a, bytes) and b"\0" in a for a in args):
            raise ValueError("embedded null character")
        err = lib.uvffi_udp_membership(self._live(), args[0], args[1], args[2], membership)
        if err:
            raise_for(err, UDPError)

    def set_multicast_ttl(self, ttl: int) -> None:
        """The time to live of multicast datagrams (0-255)."""
        self._set(lib.UVFFI_UDP_MULTICAST_TTL, _ttl(ttl))

    def set_multicast_interface(self, interface: Optional[str] = None) -> None:
        """The interface (an address) multicast datagrams are sent from; None: the default."""
        if interface is not None and not isinstance(interface, str):
            raise TypeError(f"interface must be str or None, not {type(interface).__name__}")
        if interface is not None and "\0" in interface:
            raise ValueError("embedded null character")
        err = lib.uvffi_udp_set_multicast_interface(self._live(),
                                                    ffi.NULL if interface is None else interface.encode())
        if err:
            raise_for(err, UDPError)

    def set_multicast_loop(self, enable: bool) -> None:
        """Whether multicast datagrams loop back to this host's sockets."""
        self._set(lib.UVFFI_UDP_MULTICAST_LOOP, _bool(enable, "enable"))

    def set_broadcast(self, enable: bool) -> None:
        """Whether datagrams may go to broadcast addresses (``SO_BROADCAST``)."""
        self._set(lib.UVFFI_UDP_BROADCAST, _bool(enable, "enable"))

    def set_ttl(self, ttl: int) -> None:
        """The time to live of unicast datagrams (1-255; libuv refuses 0 with ``UV_EINVAL``)."""
        self._set(lib.UVFFI_UDP_TTL, _ttl(ttl))

    def fileno(self) -> int:
        """The socket's file descriptor (do not change its state behind libuv's back)."""
        fd = lib.uvffi_handle_fileno(self._live())
        if fd < 0:
            raise_for(fd, UDPError)
        return fd

    @property
    def family(self) -> int:
        """The socket's address family (``AF_INET`` or ``AF_INET6``); UDPError while
        no socket exists yet (``AF_UNSPEC`` before :meth:`bind`)."""
        ss = ffi.new("struct sockaddr_storage *")
        err = lib.uvffi_udp_name(self._live(), 0, ss)
        if err:
            raise_for(err, UDPError)
        return int(ss.ss_family)

    @property
    def send_queue_size(self) -> int:
        """Bytes queued for sending."""
        return self._get(lib.UVFFI_UDP_QUEUE_SIZE)

    @property
    def send_queue_count(self) -> int:
        """Beyond pyuv: send requests queued."""
        return self._get(lib.UVFFI_UDP_QUEUE_COUNT)

    @property
    def using_recvmmsg(self) -> bool:
        """Beyond pyuv: whether the handle receives with ``recvmmsg``."""
        return bool(self._get(lib.UVFFI_UDP_USING_RECVMMSG))

    @property
    def send_buffer_size(self) -> int:
        """The socket's send buffer size (``SO_SNDBUF``; Linux reports twice what was set)."""
        return self._get(lib.UVFFI_UDP_SNDBUF)

    @send_buffer_size.setter
    def send_buffer_size(self, value: int) -> None:
        _int(value, "send_buffer_size")
        if value <= 0:
            raise ValueError("send_buffer_size must be positive")
        self._set(lib.UVFFI_UDP_SNDBUF, value)

    @property
    def receive_buffer_size(self) -> int:
        """The socket's receive buffer size (``SO_RCVBUF``; Linux reports twice what was set)."""
        return self._get(lib.UVFFI_UDP_RCVBUF)

    @receive_buffer_size.setter
    def receive_buffer_size(self, value: int) -> None:
        _int(value, "receive_buffer_size")
        if value <= 0:
            raise ValueError("receive_buffer_size must be positive")
        self._set(lib.UVFFI_UDP_RCVBUF, value)


if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    from .._core.pypy import _onerror, _resolve, _route

    @ffi.def_extern(onerror=_onerror)
    def _uvffi_py_udp_recv(self: int, nread: int, data: Any, addr: Any, flags: int) -> None:
        """A datagram (or a receive error) for the UDP handle ``self``."""
        handle = _resolve(self)
        try:
            cb = handle._callback
            if cb is None:
                return
            if nread < 0:
                cb(handle, None, 0, None, nread)
            else:
                cb(handle, from_sockaddr(addr) if addr != ffi.NULL else None, flags,
                   ffi.unpack(data, nread) if nread else b"", None)
        except BaseException as exc:  # noqa: BLE001 - routed like CPython's core does
            _route(handle, exc)
