"""Cross-thread wakeups: :class:`Async`.

All Async handles of a loop share one eventfd watcher; ``send()`` marks the
handle pending and writes to it. Several sends before the loop wakes coalesce
into one callback; a send after the callback ran gives another.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

from .._core import CBASE, c_methods, kind, lib
from ..error import AsyncError, HandleClosedError, raise_for
from ..loop import Loop
from .base import Handle

__all__ = ["Async"]


@c_methods("async")
class Async(Handle):
    """Wake the loop from any thread: ``callback(async_handle)`` runs on the loop
    thread (no callback: the wakeup only makes the loop iterate, as in pyuv).

    The handle is active from creation until :meth:`close`. Several :meth:`send`
    calls before the loop wakes coalesce into one callback (all Async handles of a
    loop share one eventfd watcher and a pending flag per handle); a :meth:`send`
    after the callback ran gives another callback. :meth:`send` after :meth:`close`
    raises :class:`~uvffi.error.HandleClosedError`. Sends racing :meth:`close` from
    other threads never touch freed memory: on CPython ``send`` is a C method that
    holds the GIL from reading the handle to ``uv_async_send``, and the handle is
    freed only in its close callback, under the GIL; on PyPy a per-handle lock
    serialises them.
    """

    _kind = kind("async")
    _error = AsyncError

    def __init__(self, loop: Loop, callback: Optional[Callable[["Async"], Any]] = None) -> None:
        if callback is not None and not callable(callback):
            raise TypeError("callback must be a callable or None")
        if not CBASE:
            self._send_lock = threading.Lock()
        super().__init__(loop)
        self._callback = callback

    def send(self) -> None:
        """Wake the loop; safe from any thread. Raises
        :class:`~uvffi.error.HandleClosedError` once the handle is closed."""
        lock = getattr(self, "_send_lock", None)
        if lock is None:  # CPython's C send declined (closed, or an error): the GIL is the lock
            err = lib.uvffi_async_send(self._live())
        else:
            with lock:
                if self._closed or self._ptr is None:
                    raise HandleClosedError(lib.UVFFI_ECLOSED, "handle is closing or closed")
                err = lib.uvffi_async_send(self._ptr)
        if err:
            raise_for(err, AsyncError)

    def close(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the handle; later sends raise HandleClosedError."""
        lock = getattr(self, "_send_lock", None)
        if lock is None:
            Handle.close(self, callback)
        else:
            with lock:
                Handle.close(self, callback)
