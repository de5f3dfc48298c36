"""Timers: :class:`Timer`, a callback after a timeout and optionally at an interval."""

from __future__ import annotations

import math
import warnings
from typing import Any, Callable

from .._core import PYPY, c_methods, kind, lib
from ..error import TimerError, raise_for
from .base import Handle

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    from .._core.pypy import hold, unhold

__all__ = ["Timer", "to_ms"]

_MAX_MS = (1 << 64) - 1  # libuv's uint64_t milliseconds


def to_ms(seconds: float, what: str = "timeout") -> int:
    """Seconds (float) to libuv's milliseconds. A positive value under 1 ms becomes
    1 ms with a ``RuntimeWarning``, as in pyuv (libuv's timers count milliseconds)."""
    if seconds.__class__ is not float:
        if not isinstance(seconds, (int, float)):
            raise TypeError(f"{what} must be a number of seconds, not {type(seconds).__name__}")
        try:
            seconds = float(seconds)
        except OverflowError:
            raise ValueError(f"{what} is too large: {seconds!r} seconds") from None
    if not 0.0 <= seconds < math.inf:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {seconds!r}")
    ms = int(seconds * 1000.0)
    if ms == 0 and seconds > 0.0:
        warnings.warn(f"timers don't have sub-millisecond accuracy, setting {what} to 1ms", RuntimeWarning,
                      stacklevel=3)
        ms = 1
    if ms > _MAX_MS:
        raise ValueError(f"{what} is too large: {seconds!r} seconds")
    return ms


@c_methods("timer")
class Timer(Handle):
    """A libuv timer. Times are in **seconds** (float), as in pyuv; ``callback(timer)``
    runs in the loop's timers phase.

    :meth:`start` restarts a started timer with the new callback. A positive time
    under 1 ms becomes 1 ms; a negative, NaN or infinite time raises ``ValueError``,
    a non-number or a non-callable ``TypeError``. :meth:`again` on a timer never
    started raises :class:`~uvffi.error.TimerError` (``UV_EINVAL``). A one-shot timer
    is inactive once it fired and is then released like any inactive handle.

    >>> loop = uvffi.Loop()
    >>> timer = uvffi.Timer(loop)
    >>> timer.start(lambda t: None, 10.0, 0)
    >>> 9.9 < timer.due_in <= 10.0
    True
    >>> timer.close(); loop.close()
    """

    _kind = kind("timer")
    _error = TimerError

    def start(self, callback: Callable[["Timer"], Any], timeout: float, repeat: float) -> None:
        """Call ``callback(timer)`` after ``timeout`` seconds, then every ``repeat``
        seconds if ``repeat`` is not 0. Starting again restarts the timer."""
        if not callable(callback):
            raise TypeError("a callable is required")
        self._start_ms(callback, to_ms(timeout), to_ms(repeat, "repeat"))

    def _start_ms(self, callback: Callable[..., Any], timeout_ms: int, repeat_ms: int) -> None:
        """Start with times in milliseconds (uvffi.scheduler's timers)."""
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        held = hold(self) if PYPY else True
        err = lib.uvffi_timer_start(ptr, timeout_ms, repeat_ms)
        if err:
            if not held:
                unhold(self._loop, self._cref)
            raise_for(err, TimerError)

    def stop(self) -> None:
        """Stop the timer; its callback will not run until started again."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, TimerError)

    def again(self) -> None:
        """Restart a repeating timer with its repeat as the timeout; TimerError if never started."""
        err = lib.uvffi_timer_again(self._live())
        if err:
            raise_for(err, TimerError)

    @property
    def repeat(self) -> float:
        """The repeat interval in seconds (0 for a one-shot timer)."""
        return lib.uvffi_timer_get_repeat(self._live()) / 1000.0

    @repeat.setter
    def repeat(self, value: float) -> None:
        err = lib.uvffi_timer_set_repeat(self._live(), to_ms(value, "repeat"))
        if err:
            raise_for(err, TimerError)

    @property
    def due_in(self) -> float:
        """Seconds until the timer fires; 0.0 if it is not active."""
        ptr = self._live()
        if not lib.uvffi_handle_active(ptr):
            return 0.0
        return lib.uvffi_timer_get_due_in(ptr) / 1000.0
