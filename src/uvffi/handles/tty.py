"""Terminals: :class:`TTY`, libuv's ``uv_tty_t`` (pyuv's ``pyuv.TTY``)."""

from __future__ import annotations

from typing import Any, Tuple

from .._core import c_methods, ffi, kind, lib
from ..error import TTYError, raise_for
from ..loop import Loop
from .poll import _fileno
from .stream import Stream

__all__ = ["TTY", "UV_TTY_MODE_NORMAL", "UV_TTY_MODE_RAW", "UV_TTY_MODE_IO"]

UV_TTY_MODE_NORMAL: int = lib.UV_TTY_MODE_NORMAL
UV_TTY_MODE_RAW: int = lib.UV_TTY_MODE_RAW
UV_TTY_MODE_IO: int = lib.UV_TTY_MODE_IO


@c_methods("tty")
class TTY(Stream):
    """A terminal (``uv_tty_t``): ``TTY(loop, fd, readable)`` for the fd of a tty (an
    int or an object with ``fileno()``); ``readable`` True to read from it."""

    _kind = kind("tty")
    _error = TTYError

    def __init__(self, loop: Loop, fd: Any, readable: bool) -> None:
        fd = _fileno(fd)
        if not isinstance(readable, bool):
            raise TypeError(f"readable must be a bool, not {type(readable).__name__}")
        if fd > 0x7FFFFFFF:
            raise OverflowError("fd is out of range")
        super().__init__(loop, _arg=fd * 2 + (1 if readable else 0))

    def set_mode(self, mode: int) -> None:
        """``UV_TTY_MODE_NORMAL`` (0), ``UV_TTY_MODE_RAW`` (1) or ``UV_TTY_MODE_IO`` (2)."""
        if not isinstance(mode, int) or isinstance(mode, bool):
            raise TypeError(f"mode must be an int, not {type(mode).__name__}")
        if mode not in (UV_TTY_MODE_NORMAL, UV_TTY_MODE_RAW, UV_TTY_MODE_IO):
            raise ValueError(f"invalid tty mode: {mode}")
        err = lib.uvffi_tty_set_mode(self._live(), mode)
        if err:
            raise_for(err, TTYError)

    def get_winsize(self) -> Tuple[int, int]:
        """The terminal's ``(width, height)`` in characters."""
        w = ffi.new("int *")
        h = ffi.new("int *")
        err = lib.uvffi_tty_get_winsize(self._live(), w, h)
        if err:
            raise_for(err, TTYError)
        return w[0], h[0]

    @staticmethod
    def reset_mode() -> None:
        """Restore the terminal mode saved when a TTY was first set to a non-normal mode
        (call it at exit). A class method, as in pyuv."""
        err = lib.uv_tty_reset_mode()
        if err:
            raise_for(err, TTYError)
