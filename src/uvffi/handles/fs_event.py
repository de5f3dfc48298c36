"""Watching a path for changes: :class:`FSEvent`, libuv's ``uv_fs_event_t``
(pyuv's ``pyuv.fs.FSEvent``)."""

from __future__ import annotations

import os
from typing import Any, Callable, Optional, Union

from .._core import c_methods, ffi, kind, lib
from ..error import FSEventError, raise_for
from ..loop import Loop
from .base import Handle

__all__ = ["FSEvent", "UV_RENAME", "UV_CHANGE", "UV_FS_EVENT_WATCH_ENTRY", "UV_FS_EVENT_STAT",
           "UV_FS_EVENT_RECURSIVE"]

UV_RENAME: int = lib.UV_RENAME
UV_CHANGE: int = lib.UV_CHANGE
UV_FS_EVENT_WATCH_ENTRY: int = lib.UV_FS_EVENT_WATCH_ENTRY
UV_FS_EVENT_STAT: int = lib.UV_FS_EVENT_STAT
UV_FS_EVENT_RECURSIVE: int = lib.UV_FS_EVENT_RECURSIVE
_UV_ENOBUFS = -105


def _encode(path: Any) -> bytes:
    p = os.fspath(path)
    b = os.fsencode(p) if isinstance(p, str) else p
    if not isinstance(b, bytes):
        raise TypeError(f"path must be str, bytes or os.PathLike, not {type(path).__name__}")
    if b"\0" in b:
        raise ValueError("path: embedded null byte")
    return b


def _getpath(getter: Callable[[Any, Any, Any], int], ptr: Any) -> Optional[str]:
    """The watched path from ``uv_*_getpath`` (None when not started)."""
    size = ffi.new("size_t *", 1024)
    while True:
        buf = ffi.new("char[]", size[0] + 1)
        err = getter(ptr, buf, size)
        if err == _UV_ENOBUFS:
            continue  # size now holds what libuv needs
        if err:
            return None
        return os.fsdecode(ffi.unpack(buf, size[0]))


@c_methods("fs_event")
class FSEvent(Handle):
    """Watch a file or directory for changes (``uv_fs_event_t``: inotify on Linux).

    ``FSEvent(loop)``, then ``start()``. ``callback(handle, filename, events,
    error)`` gets the name of the entry that changed (relative to a watched
    directory; str, surrogate-escaped), ``events`` ``UV_RENAME`` and/or
    ``UV_CHANGE``, and ``error`` None or a libuv error code."""

    _kind = kind("fs_event")
    _error = FSEventError

    def __init__(self, loop: Loop) -> None:
        super().__init__(loop)

    def start(self, path: Union[str, bytes, "os.PathLike[str]"], flags: int,
              callback: Callable[["FSEvent", Optional[str], int, Optional[int]], Any]) -> None:
        """Start watching ``path``; ``flags``: 0 or ``UV_FS_EVENT_WATCH_ENTRY``,
        ``UV_FS_EVENT_STAT``, ``UV_FS_EVENT_RECURSIVE`` (or-ed; libuv ignores those
        a platform lacks)."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise TypeError(f"flags must be an int, not {type(flags).__name__}")
        if flags < 0:
            raise ValueError("flags must not be negative")
        p = _encode(path)
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        err = lib.uvffi_fs_event_start(ptr, p, flags)
        if err:
            raise_for(err, FSEventError)

    def stop(self) -> None:
        """Stop watching."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, FSEventError)

    @property
    def path(self) -> Optional[str]:
        """The path being watched (None when not started)."""
        return _getpath(lib.uvffi_fs_event_getpath, self._live())

    @property
    def filename(self) -> Optional[str]:
        """The path being watched, under the name pyuv 1.4's documentation gives it."""
        return self.path

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        name = os.fsdecode(ffi.string(ffi.cast("char *", a))) if a else None
        if b < 0:
            callback(self, name, 0, b)
        else:
            callback(self, name, b, None)
