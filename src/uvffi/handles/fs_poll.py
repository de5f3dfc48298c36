"""Polling a path's stat: :class:`FSPoll`, libuv's ``uv_fs_poll_t``
(pyuv's ``pyuv.fs.FSPoll``)."""

from __future__ import annotations

import math
import os
from typing import Any, Callable, Optional, Union

from .._core import c_methods, ffi, kind, lib
from ..error import FSPollError, raise_for
from ..loop import Loop
from .base import Handle
from .fs_event import _encode, _getpath

__all__ = ["FSPoll"]

_MAX_MS = 2 ** 32 - 1


@c_methods("fs_poll")
class FSPoll(Handle):
    """Poll a path's stat every ``interval`` seconds (``uv_fs_poll_t``), for file
    systems without change notification.

    ``callback(handle, prev_stat, curr_stat, error)`` runs when the stat changed:
    two :class:`uvffi.fs.StatResult`, and ``error`` None; or, when the stat fails
    (the path is missing), ``prev_stat`` and ``curr_stat`` None and ``error`` the
    libuv error code (reported once, until the stat changes again). The interval
    is honoured to the millisecond (pyuv 1.4 truncated it to whole seconds first:
    0.1 polled every 1 ms)."""

    _kind = kind("fs_poll")
    _error = FSPollError

    def __init__(self, loop: Loop) -> None:
        super().__init__(loop)
        self._user_cb: Optional[Callable[..., Any]] = None

    def start(self, path: Union[str, bytes, "os.PathLike[str]"], interval: float,
              callback: Callable[["FSPoll", Any, Any, Optional[int]], Any]) -> None:
        """Start polling ``path`` every ``interval`` seconds (a float; at least 1 ms)."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(interval, (int, float)) or isinstance(interval, bool):
            raise TypeError(f"interval must be a number, not {type(interval).__name__}")
        if not interval >= 0 or math.isinf(interval):
            raise ValueError("interval must be a finite number >= 0")
        ms = max(1, int(round(interval * 1000)))
        if ms > _MAX_MS:
            raise OverflowError("interval is too large")
        p = _encode(path)
        ptr = self._live()
        self._user_cb = callback
        self._callback = self._dispatch  # converts libuv's stat buffers, then calls callback
        err = lib.uvffi_fs_poll_start(ptr, p, ms)
        if err:
            raise_for(err, FSPollError)

    def stop(self) -> None:
        """Stop polling."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, FSPollError)

    @property
    def path(self) -> Optional[str]:
        """The path being polled (None when not started)."""
        return _getpath(lib.uvffi_fs_poll_getpath, self._live())

    def _dispatch(self, handle: "FSPoll", address: int) -> None:
        from ..fs import _stat_of

        cb = self._user_cb
        if cb is None:
            return
        ev = ffi.cast("uvffi_fs_poll_event_t *", address)
        if ev.status < 0:
            cb(self, None, None, int(ev.status))
        else:
            cb(self, _stat_of(ev.prev), _stat_of(ev.curr), None)

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        callback(self, a)
