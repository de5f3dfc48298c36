"""The stream requests: :class:`WriteRequest`, :class:`ShutdownRequest` and
:class:`ConnectRequest`, made by the methods of :class:`uvffi.Stream`, :class:`uvffi.TCP`
and :class:`uvffi.Pipe`. Each calls its callback as ``callback(handle, error)``, once,
with ``error`` None or libuv's error code (``UV_ECANCELED`` when the handle was closed
first: before the handle's close callback). Exactly once also when a signal's
``KeyboardInterrupt`` lands in uvffi's completion of the request: ``run()`` raises it and
the callback still runs."""

from __future__ import annotations

from typing import Any, Callable, List, Optional

from .._core import set_hook
from .base import _HandleRequest

__all__ = ["StreamRequest", "WriteRequest", "ShutdownRequest", "ConnectRequest"]


class StreamRequest(_HandleRequest):
    """A request on a stream whose callback is ``callback(handle, error)``."""

    _handle: Any = None  # None once the callback has run
    _callback: Optional[Callable[[Any, Optional[int]], Any]] = None  # the instance's until taken

    def __init__(self, handle: Any, callback: Optional[Callable[[Any, Optional[int]], Any]],
                 pinned: Optional[List[Any]] = None) -> None:
        self._loop = handle._loop
        self._handle = handle
        self._callback = callback
        self._pinned = pinned

    @property
    def handle(self) -> Any:
        """The stream the request is for."""
        return self._handle


class WriteRequest(StreamRequest):
    """A write in flight; its buffers (and a handle sent over an IPC pipe) are
    pinned until its callback has run. A write without a callback that the kernel
    took at once returns one already finished (CPython: ``_c/stream.c``)."""


set_hook("written", WriteRequest)  # the class C's write fast path makes finished requests of


class ShutdownRequest(StreamRequest):
    """A shutdown of a stream's writing side, after the writes queued before it."""


class ConnectRequest(StreamRequest):
    """A connection attempt of a :class:`~uvffi.TCP` or :class:`~uvffi.Pipe`."""
