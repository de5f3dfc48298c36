"""Socket addresses between Python and C: pyuv's address tuples, ``(host, port)`` for
IPv4 and ``(host, port, flowinfo, scope_id)`` for IPv6, to and from ``struct sockaddr``.
Used by every module that names a network address (dns, and the TCP and UDP handles)."""

from __future__ import annotations

import socket
from typing import Any, Optional, Tuple, Union

from ..errno import strerror
from ..error import UVError
from .native import ffi, lib

__all__ = ["SockAddr", "to_sockaddr", "from_sockaddr"]

SockAddr = Union[Tuple[str, int], Tuple[str, int, int, int]]


def _int(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"{what} must be an int, not {type(value).__name__}")
    return value


def _ip_name(sa: Any) -> str:
    buf = ffi.new("char[64]")
    err = lib.uv_ip_name(sa, buf, 64)
    if err < 0:
        raise UVError(err, strerror(err))
    return ffi.string(buf).decode()


def from_sockaddr(sa: Any) -> Optional[SockAddr]:
    """The address tuple of a ``struct sockaddr *`` (None for a family other than IPv4/IPv6)."""
    family = sa.sa_family
    if family == lib.AF_INET:
        sin = ffi.cast("struct sockaddr_in *", sa)
        return (_ip_name(sa), lib.uvffi_ntohs(sin.sin_port))
    if family == lib.AF_INET6:
        sin6 = ffi.cast("struct sockaddr_in6 *", sa)
        return (_ip_name(sa), lib.uvffi_ntohs(sin6.sin6_port), lib.uvffi_ntohl(sin6.sin6_flowinfo),
                sin6.sin6_scope_id)
    return None


def to_sockaddr(addr: Any) -> Any:
    """pyuv's address tuple, ``(host, port[, flowinfo[, scope_id]])``, as a new
    ``struct sockaddr_storage *``. TypeError, OverflowError or ValueError for a bad one."""
    if not isinstance(addr, tuple):
        raise TypeError(f"address must be tuple, not {type(addr).__name__}")
    if not 2 <= len(addr) <= 4:
        raise TypeError("address must be (host, port[, flowinfo[, scope_id]])")
    host, port = addr[0], addr[1]
    flowinfo = addr[2] if len(addr) > 2 else 0
    scope_id = addr[3] if len(addr) > 3 else 0
    if not isinstance(host, str):
        raise TypeError(f"host must be str, not {type(host).__name__}")
    for name, v in (("port", port), ("flowinfo", flowinfo), ("scope_id", scope_id)):
        _int(v, name)
    if not 0 <= port <= 0xFFFF:
        raise OverflowError("port must be 0-65535")
    if not 0 <= flowinfo <= 0xFFFFF:
        raise OverflowError("flowinfo must be 0-1048575")
    if not 0 <= scope_id <= 0xFFFFFFFF:
        raise OverflowError("scope_id must be 0-4294967295")
    if host == "":
        host = "0.0.0.0"
    elif host == "<broadcast>":
        host = "255.255.255.255"
    if "\0" in host:
        raise ValueError("invalid IP address")
    ss = ffi.new("struct sockaddr_storage *")
    h = host.encode("ascii", "replace")
    if lib.uv_ip4_addr(h, port, ffi.cast("struct sockaddr_in *", ss)) == 0:
        return ss
    sin6 = ffi.cast("struct sockaddr_in6 *", ss)
    if lib.uv_ip6_addr(h, port, sin6) == 0:
        sin6.sin6_flowinfo = socket.htonl(flowinfo)
        if scope_id:
            sin6.sin6_scope_id = scope_id
        return ss
    raise ValueError("invalid IP address")


