"""Loop configuration and metrics over ``uv_loop_configure`` and ``uv_metrics_*``.

Used through :class:`~uvffi.Loop`'s methods: :meth:`~uvffi.Loop.block_signal`,
:meth:`~uvffi.Loop.enable_idle_time_metrics`, :meth:`~uvffi.Loop.configure`,
:meth:`~uvffi.Loop.metrics_idle_time` and :meth:`~uvffi.Loop.metrics_info`.
When the linked libuv is too old for a feature (a system libuv, see
``UVFFI_USE_SYSTEM_LIBUV``), the call raises :class:`FeatureUnavailableError`.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional

from . import errno
from ._core.native import ffi, lib
from .error import FeatureUnavailableError, raise_for, unavailable

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["LoopMetrics", "FeatureUnavailableError", "LOOP_BLOCK_SIGNAL", "METRICS_IDLE_TIME"]

LOOP_BLOCK_SIGNAL: int = lib.UV_LOOP_BLOCK_SIGNAL
"""``uv_loop_configure`` option: block a signal while polling (libuv supports SIGPROF)."""
METRICS_IDLE_TIME: int = lib.UV_METRICS_IDLE_TIME
"""``uv_loop_configure`` option: accumulate the time spent waiting in poll (libuv >= 1.39)."""

_UV_ENOSYS: int = errno.UV_ENOSYS


class LoopMetrics(NamedTuple):
    """``uv_metrics_info()``: counters since the loop was created."""

    loop_count: int
    """Loop iterations run."""
    events: int
    """Events processed by the event provider (epoll/kqueue)."""
    events_waiting: int
    """Events that were waiting to be processed when the event provider was called."""


def _raise(err: int, what: str, since: str) -> None:
    if err == _UV_ENOSYS:
        raise unavailable(what, since)
    raise_for(err)


def configure(loop: "Loop", option: int, value: Optional[int] = None) -> None:
    """``uv_loop_configure(loop, option[, value])`` on the loop's thread."""
    lp = loop._live_lp()
    err = lib.uvffi_loop_check_thread(lp)
    if err:
        raise_for(err)
    if option == LOOP_BLOCK_SIGNAL:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError("LOOP_BLOCK_SIGNAL needs a signal number")
        err = lib.uvffi_loop_configure(lp, option, value)
        if err:
            _raise(err, "LOOP_BLOCK_SIGNAL", "1.0")
    elif option == METRICS_IDLE_TIME:
        if value is not None:
            raise TypeError("METRICS_IDLE_TIME takes no value")
        err = lib.uvffi_loop_configure(lp, option, 0)
        if err:
            _raise(err, "METRICS_IDLE_TIME", "1.39")
    else:
        raise ValueError(f"unknown loop option {option!r}: use LOOP_BLOCK_SIGNAL or METRICS_IDLE_TIME")


def idle_time(loop: "Loop") -> int:
    """``uv_metrics_idle_time()``: nanoseconds spent waiting in poll (0 unless enabled)."""
    return int(lib.uvffi_metrics_idle_time(loop._live_lp()))


def info(loop: "Loop") -> LoopMetrics:
    """``uv_metrics_info()``: loop count, events, events waiting."""
    out = ffi.new("uint64_t[3]")
    err = lib.uvffi_metrics_info(loop._live_lp(), out)
    if err:
        _raise(err, "metrics_info()", "1.45")
    return LoopMetrics(int(out[0]), int(out[1]), int(out[2]))
