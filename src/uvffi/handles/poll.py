"""fd polling: :class:`Poll`, libuv's ``uv_poll_t`` (pyuv's ``pyuv.Poll``)."""

from __future__ import annotations

from typing import Any, Callable, Optional

from .._core import c_methods, kind, lib
from ..error import PollError, raise_for
from ..loop import Loop
from .base import Handle

__all__ = ["Poll", "UV_READABLE", "UV_WRITABLE", "UV_DISCONNECT", "UV_PRIORITIZED"]

UV_READABLE: int = lib.UV_READABLE
UV_WRITABLE: int = lib.UV_WRITABLE
UV_DISCONNECT: int = lib.UV_DISCONNECT
UV_PRIORITIZED: int = lib.UV_PRIORITIZED
_EVENTS = UV_READABLE | UV_WRITABLE | UV_DISCONNECT | UV_PRIORITIZED


def _fileno(fd: Any) -> int:
    """An fd from an int or an object with ``fileno()`` (a socket, a file)."""
    if isinstance(fd, bool):
        raise TypeError("fd must be an int or have a fileno() method, not bool")
    if not isinstance(fd, int):
        fileno = getattr(fd, "fileno", None)
        if fileno is None:
            raise TypeError(f"fd must be an int or have a fileno() method, not {type(fd).__name__}")
        fd = fileno()
        if not isinstance(fd, int):
            raise TypeError("fileno() must return an int")
    if fd < 0:
        raise ValueError(f"invalid file descriptor: {fd}")
    return fd


@c_methods("poll")
class Poll(Handle):
    """Watch a file descriptor for readability and writability (``uv_poll_t``).

    ``Poll(loop, fd)`` takes an int or an object with ``fileno()``. Only one Poll
    per fd at a time (libuv's rule: a second raises ``PollError`` ``UV_EEXIST``).
    Use it for sockets and pipes of other libraries; regular files cannot be
    polled (``UV_EPERM``)."""

    _kind = kind("poll")
    _error = PollError

    def __init__(self, loop: Loop, fd: Any) -> None:
        fd = _fileno(fd)
        super().__init__(loop, _arg=fd)
        self._fd = fd

    def start(self, events: int, callback: Callable[["Poll", int, Optional[int]], Any]) -> None:
        """Watch the fd for ``events`` (``UV_READABLE``, ``UV_WRITABLE``,
        ``UV_DISCONNECT``, ``UV_PRIORITIZED``, or-ed); ``callback(handle, events,
        error)`` gets the events seen and ``error`` None or a libuv error code.
        Starting again changes the events watched."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(events, int) or isinstance(events, bool):
            raise TypeError(f"events must be an int, not {type(events).__name__}")
        if events & ~_EVENTS or not events:
            raise ValueError(f"invalid events: {events!r} (use UV_READABLE, UV_WRITABLE, UV_DISCONNECT)")
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        err = lib.uvffi_poll_start(ptr, events)
        if err:
            raise_for(err, PollError)

    def stop(self) -> None:
        """Stop watching the fd."""
        err = lib.uvffi_handle_stop(self._live())
        if err:
            raise_for(err, PollError)

    def fileno(self) -> int:
        """The fd being watched."""
        self._live()
        return self._fd

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        callback(self, a, b if b else None)
