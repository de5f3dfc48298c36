"""The loop watchers: :class:`Prepare`, :class:`Check` and :class:`Idle`.

They run once per loop iteration in their phase (libuv's loop-watcher.c):
idle and prepare just before poll, check right after it. An active Idle
handle makes poll return at once, so the loop keeps turning.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

from ._ffi import cb_ref, fast, lib
from .error import CheckError, IdleError, PrepareError, raise_for
from .handle import Handle

__all__ = ["Prepare", "Check", "Idle"]

W = TypeVar("W", bound="_LoopWatcher")

_fast_start = fast.get("watcher_start")
_fast_stop = fast.get("handle_stop")


class _LoopWatcher(Handle):
    """start(callback) / stop() shared by the three loop watchers."""

    def start(self: W, callback: Callable[[W], Any]) -> None:
        """Call ``callback(handle)`` once per loop iteration, in this watcher's phase."""
        if _fast_start is not None:  # CPython: one C call, GIL kept (see _ffi.fast)
            err = _fast_start(self._ptr, callback)
            if err is None:
                self._callback = callback
                return
            if err is not NotImplemented:
                raise_for(err, self._error)
        if not callable(callback):
            raise TypeError("a callable is required")
        ptr = self._ptr
        if ptr is None:
            self._live()
        err = lib.uvffi_watcher_start(ptr, cb_ref(callback))
        if err:
            raise_for(err, self._error)
        self._callback = callback

    def stop(self) -> None:
        """Stop calling the callback."""
        if _fast_stop is not None and not self._closed:
            err = _fast_stop(self._ptr)
            if err is None:
                return
            if err is not NotImplemented:
                raise_for(err, self._error)
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, self._error)


class Prepare(_LoopWatcher):
    """Runs its callback right before the loop polls for I/O."""

    _kind = lib.UVFFI_PREPARE
    _error = PrepareError


class Check(_LoopWatcher):
    """Runs its callback right after the loop polled for I/O."""

    _kind = lib.UVFFI_CHECK
    _error = CheckError


class Idle(_LoopWatcher):
    """Runs its callback every iteration; while active, poll does not block."""

    _kind = lib.UVFFI_IDLE
    _error = IdleError
