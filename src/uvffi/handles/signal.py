"""Signals: :class:`Signal`, a callback on the loop thread when a signal arrives."""

from __future__ import annotations

import signal as _signal
from typing import Any, Callable

from .._core import c_methods, kind, lib
from ..error import SignalError, raise_for
from .base import Handle

__all__ = ["Signal"]

_NSIG = getattr(_signal, "NSIG", 65)


@c_methods("signal")
class Signal(Handle):
    """Watch a signal with libuv's ``uv_signal_t``: ``callback(handle, signum)``.

    Do not use it for SIGINT in programs that rely on KeyboardInterrupt: when
    the last watcher of a signal stops, libuv resets it to SIG_DFL. uvffi's own
    Ctrl-C support (see :class:`~uvffi.Loop`) does not use ``uv_signal_t``."""

    _kind = kind("signal")
    _error = SignalError

    def start(self, callback: Callable[["Signal", int], Any], signum: int) -> None:
        """Call ``callback(handle, signum)`` on the loop thread each time ``signum`` is
        delivered. ``ValueError`` for a signal number outside 1..NSIG-1, ``TypeError``
        for a non-int or a non-callable."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(signum, int) or isinstance(signum, bool):
            raise TypeError(f"signum must be an int, not {type(signum).__name__}")
        if not 0 < signum < _NSIG:
            raise ValueError(f"invalid signal number: {signum}")
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        err = lib.uvffi_signal_start(ptr, int(signum))
        if err:
            raise_for(err, SignalError)

    def stop(self) -> None:
        """Stop watching the signal."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, SignalError)

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        callback(self, a)
