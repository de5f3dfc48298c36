"""The loop watchers: :class:`Prepare`, :class:`Check` and :class:`Idle`.

They run once per loop iteration in their phase (libuv's loop-watcher.c):
idle and prepare just before poll, check right after it. An active Idle
handle makes poll return at once, so the loop keeps turning.
"""

from __future__ import annotations

from typing import Any, Callable

from .._core import PYPY, c_methods, kind, lib
from ..error import CheckError, IdleError, PrepareError, raise_for
from .base import Handle

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    from .._core.pypy import hold, unhold

__all__ = ["Prepare", "Check", "Idle"]


class _LoopWatcher(Handle):
    """The Python implementation of start(callback) / stop() for the three loop
    watchers (PyPy; CPython's C methods hand it what they do not take)."""

    def start(self, callback: Callable[[Any], Any]) -> None:
        """Call ``callback(handle)`` once per loop iteration, in this watcher's phase."""
        if not callable(callback):
            raise TypeError("a callable is required")
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        held = hold(self) if PYPY else True
        err = lib.uvffi_watcher_start(ptr)
        if err:
            if not held:
                unhold(self._loop, self._cref)
            raise_for(err, self._error)
        self._callback = callback

    def stop(self) -> None:
        """Stop calling the callback."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, self._error)


@c_methods("prepare")
class Prepare(_LoopWatcher):
    """Runs its callback right before the loop polls for I/O."""

    _kind = kind("prepare")
    _error = PrepareError


@c_methods("check")
class Check(_LoopWatcher):
    """Runs its callback right after the loop polled for I/O."""

    _kind = kind("check")
    _error = CheckError


@c_methods("idle")
class Idle(_LoopWatcher):
    """Runs its callback every iteration; while active, poll does not block."""

    _kind = kind("idle")
    _error = IdleError
