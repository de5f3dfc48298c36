"""Cross-thread wakeups: :class:`Async`.

All Async handles of a loop share one eventfd watcher; ``send()`` marks the
handle pending and writes to it. Several sends before the loop wakes coalesce
into one callback; a send after the callback ran gives another.
"""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Callable, Optional

from ._ffi import fast, lib
from .error import AsyncError, HandleClosedError, raise_for
from .handle import Handle
from .loop import Loop

__all__ = ["Async"]


_c_send = fast["HandleBase"].__dict__["_async_send"] if "HandleBase" in fast else None


class Async(Handle):
    """Wake the loop from any thread: ``callback(async_handle)`` runs on the loop thread.

    The handle is active from creation until :meth:`close`. Several :meth:`send`
    calls before the loop wakes coalesce into one callback (all Async handles of a
    loop share one eventfd watcher and a pending flag per handle); a :meth:`send`
    after the callback ran gives another callback. :meth:`send` after :meth:`close`
    raises :class:`~uvffi.error.HandleClosedError`. Sends racing :meth:`close` from
    other threads never touch freed memory: on CPython ``send`` is a C method that
    holds the GIL from reading the handle to ``uv_async_send`` (it does not release
    the GIL, as pyuv's does not), and the handle is freed only in its close callback,
    under the GIL; on PyPy a per-handle lock serialises them.
    """

    _kind = lib.UVFFI_ASYNC
    _error = AsyncError

    def __init__(self, loop: Loop, callback: Callable[["Async"], Any]) -> None:
        if not callable(callback):
            raise TypeError("a callable is required")
        self._send_lock = threading.Lock()
        Handle.__init__(self, loop, callback)

    def _send(self) -> None:
        """Wake the loop; safe from any thread. Raises HandleClosedError once closed.

        :meth:`send` on PyPy; on CPython ``send`` is HandleBase's C ``_async_send``,
        which calls this for a closed handle."""
        with self._send_lock:
            if self._closed or self._ptr is None:
                raise HandleClosedError(lib.UVFFI_ECLOSED, "handle is closing or closed")
            err = lib.uvffi_async_send(self._ptr)
        if err:
            raise_for(err, AsyncError)

    if TYPE_CHECKING or _c_send is None:
        send = _send
    else:
        send = _c_send

    def close(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the handle; later sends raise HandleClosedError."""
        with self._send_lock:
            Handle.close(self, callback)

    def _on_closed(self) -> None:
        # The libuv memory is freed right after this returns: no send may be in flight.
        with self._send_lock:
            self._ptr = None
            self._closed = True
        Handle._on_closed(self)
