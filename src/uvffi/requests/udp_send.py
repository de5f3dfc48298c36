"""UDP sends: :class:`UDPSendRequest`, made by :meth:`uvffi.UDP.send` (``uv_udp_send_t``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, List, Optional

from .._core import ffi, lib, ref, request_kind
from ..error import UDPError, raise_for
from .base import _HandleRequest

if TYPE_CHECKING:
    from ..handles.udp import UDP

__all__ = ["UDPSendRequest"]

_KIND = request_kind("udp_send")


class UDPSendRequest(_HandleRequest):
    """One datagram in flight, made by :meth:`uvffi.UDP.send`.

    The buffers it sends are pinned (kept alive, and a ``bytearray`` cannot be
    resized) until ``callback(handle, error)`` has run, once, with ``error`` None
    or a libuv error code (``UV_ECANCELED`` when the handle was closed first)."""

    _handle: Optional["UDP"] = None  # None once done
    _callback: Optional[Callable[["UDP", Optional[int]], Any]] = None  # the instance's until taken

    def __init__(self, handle: "UDP", addr: Any, buffers: List[Any],
                 callback: Optional[Callable[["UDP", Optional[int]], Any]]) -> None:
        # addr: a struct sockaddr_storage * (kept until done), or NULL for a connected handle
        self._loop = handle._loop
        self._handle = handle
        self._callback = callback
        bufs = ffi.new("uv_buf_t[]", len(buffers))
        for i, b in enumerate(buffers):
            bufs[i].base = b
            bufs[i].len = len(b)
        self._pinned = [buffers, bufs, addr]
        out = ffi.new("uvffi_req_t **")
        err = lib.uvffi_udp_send(handle._live(), _KIND, ref(self), ffi.cast("struct sockaddr *", addr), bufs,
                                 len(buffers), out)
        if err:
            self._pinned = None
            self._handle = self._callback = None
            raise_for(err, UDPError)
        self._req = out[0]
