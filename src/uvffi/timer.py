"""Timers: :class:`Timer`, a callback after a timeout and optionally at an interval."""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, Callable

from ._ffi import cb_ref, fast, lib
from .error import TimerError, raise_for
from .handle import Handle

__all__ = ["Timer"]

_fast_timer_start = fast.get("timer_start")
_c_start = fast["HandleBase"].__dict__["_timer_start"] if "HandleBase" in fast else None
_fast_stop = fast.get("handle_stop")


_MAX_MS = (1 << 64) - 1  # libuv's uint64_t milliseconds


def to_ms(seconds: float, what: str = "timeout") -> int:
    """Seconds (float) to libuv's milliseconds; a positive value under 1 ms becomes 1 ms."""
    if seconds.__class__ is not float:
        if not isinstance(seconds, (int, float)):
            raise TypeError(f"{what} must be a number of seconds, not {type(seconds).__name__}")
        seconds = float(seconds)
    if not 0.0 <= seconds < math.inf:
        raise ValueError(f"{what} must be a finite number of seconds >= 0, got {seconds!r}")
    ms = int(seconds * 1000.0)
    if ms == 0 and seconds > 0.0:
        ms = 1
    if ms > _MAX_MS:  # was an OverflowError from cffi
        raise ValueError(f"{what} is too large: {seconds!r} seconds")
    return ms


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

    _kind = lib.UVFFI_TIMER
    _error = TimerError

    def _start(self, callback: Callable[["Timer"], Any], timeout: float, repeat: float) -> None:
        """Call ``callback(timer)`` after ``timeout`` seconds, then every ``repeat``
        seconds if ``repeat`` is not 0. Starting again restarts the timer.

        :meth:`start` on PyPy; on CPython ``start`` is HandleBase's C ``_timer_start``,
        which calls this for all but the plain case."""
        if _fast_timer_start is not None:  # CPython: one C call, GIL kept (see _ffi.fast)
            err = _fast_timer_start(self._ptr, callback, timeout, repeat)
            if err is None:
                self._callback = callback
                return
            if err is not NotImplemented:
                raise_for(err, TimerError)
        if not callable(callback):
            raise TypeError("a callable is required")
        t = to_ms(timeout)
        r = to_ms(repeat, "repeat")
        ptr = self._ptr
        if ptr is None:
            self._live()
        err = lib.uvffi_timer_start(ptr, cb_ref(callback), t, r)
        if err:
            raise_for(err, TimerError)
        self._callback = callback

    if TYPE_CHECKING or _c_start is None:
        start = _start
    else:
        start = _c_start

    def stop(self) -> None:
        """Stop the timer; its callback will not run until started again."""
        if _fast_stop is not None and not self._closed:
            err = _fast_stop(self._ptr)
            if err is None:
                return
            if err is not NotImplemented:
                raise_for(err, TimerError)
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
