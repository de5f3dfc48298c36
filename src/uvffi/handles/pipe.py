"""Pipes: :class:`Pipe`, libuv's ``uv_pipe_t`` (pyuv's ``pyuv.Pipe``): unix domain
sockets by name, pipes by fd, and IPC pipes that carry handles."""

from __future__ import annotations

import os
import sys
from typing import Any, Callable, Optional, Union

from .._core import c_methods, ffi, kind, lib, ref
from ..error import PipeError, raise_for, require_libuv
from ..loop import Loop
from ..requests.stream import ConnectRequest, WriteRequest
from .base import Handle
from .stream import DoneCallback, Stream

__all__ = ["Pipe"]

PipeName = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _name(name: Any) -> bytes:
    """A pipe name as bytes: str (file system encoding), bytes or os.PathLike. A name
    starting with a NUL byte is Linux's abstract namespace."""
    if isinstance(name, (bytes, bytearray)):
        return bytes(name)
    if isinstance(name, str):
        if name.startswith("\0"):
            return name.encode("utf-8")
        return os.fsencode(name)
    if isinstance(name, os.PathLike):
        return os.fsencode(name)
    raise TypeError(f"name must be str, bytes or os.PathLike, not {type(name).__name__}")


def _check_name(data: bytes) -> None:
    if not data:
        raise ValueError("the pipe name is empty")
    if data[0] == 0:
        if not sys.platform.startswith("linux"):
            raise ValueError("abstract socket names (a leading NUL) exist only on Linux")
        require_libuv((1, 46, 0), "an abstract pipe name (uv_pipe_bind2)")
    elif b"\0" in data:
        raise ValueError("embedded null byte in the pipe name")


@c_methods("pipe")
class Pipe(Stream):
    """A pipe (``uv_pipe_t``): a unix domain socket (:meth:`~uvffi.Pipe.bind`, :meth:`~uvffi.Stream.listen`,
    :meth:`~uvffi.Pipe.connect`), an fd (:meth:`~uvffi.Pipe.open`), or with ``ipc=True`` a channel that carries
    handles (:meth:`~uvffi.Pipe.write`'s ``send_handle``, :meth:`~uvffi.Pipe.pending_handle_type`,
    :meth:`~uvffi.Stream.accept`).

    Names are ``str``, ``bytes`` or ``os.PathLike``; on Linux a name starting with a NUL
    byte is in the abstract namespace (no file). A name too long for ``sun_path`` raises
    ``PipeError`` ``UV_EINVAL`` rather than being truncated."""

    _kind = kind("pipe")
    _error = PipeError

    def __init__(self, loop: Loop, ipc: bool = False) -> None:
        if not isinstance(ipc, bool):
            raise TypeError(f"ipc must be a bool, not {type(ipc).__name__}")
        super().__init__(loop, _arg=1 if ipc else 0)

    @property
    def ipc(self) -> bool:
        """Whether the pipe carries handles."""
        ptr = self._ptr
        return ptr is not None and bool(lib.uvffi_pipe_ipc(ptr))

    def bind(self, name: PipeName) -> None:
        """Bind to the socket file (or abstract name) ``name``."""
        data = _name(name)
        _check_name(data)
        err = lib.uvffi_pipe_bind(self._live(), data, len(data))
        if err:
            raise_for(err, PipeError)

    def connect(self, name: PipeName, callback: Callable[["Pipe", Optional[int]], Any]) -> ConnectRequest:
        """Connect to the socket ``name``; ``callback(handle, error)`` then (``UV_ENOENT``,
        ``UV_ECONNREFUSED``, ... as ``error``, never an exception out of ``run()``)."""
        if not callable(callback):
            raise TypeError("a callable is required")
        data = _name(name)
        _check_name(data)
        ptr = self._live()
        req = ConnectRequest(self, callback)
        r = lib.uvffi_pipe_connect(ptr, ref(req), data, len(data))
        if not r:
            raise_for(lib.uvffi_last_error(), PipeError)
        req._req = r
        return req

    def open(self, fd: int) -> None:
        """Manage the existing pipe or unix socket ``fd`` (it then belongs to the handle).
        An fd the loop cannot watch (a regular file, a directory, ``/dev/null``) raises
        ``PipeError`` ``UV_EPERM``."""
        if not isinstance(fd, int) or isinstance(fd, bool):
            raise TypeError(f"fd must be an int, not {type(fd).__name__}")
        if not 0 <= fd <= 0x7FFFFFFF:
            raise ValueError(f"invalid file descriptor: {fd}")
        err = lib.uvffi_pipe_open(self._live(), fd)
        if err:
            raise_for(err, PipeError)

    def pending_instances(self, count: int) -> None:
        """Windows' number of pending pipe instances (a no-op elsewhere)."""
        if not isinstance(count, int) or isinstance(count, bool):
            raise TypeError(f"count must be an int, not {type(count).__name__}")
        if not -0x80000000 <= count <= 0x7FFFFFFF:
            raise OverflowError("count is out of range")
        lib.uvffi_pipe_pending_instances(self._live(), count)

    def pending_handle_type(self) -> int:
        """The kind of handle received and waiting for :meth:`~uvffi.Stream.accept` (``UV_TCP``,
        ``UV_NAMED_PIPE``, ``UV_UDP``), or ``UV_UNKNOWN_HANDLE``."""
        t = lib.uvffi_pipe_pending_type(self._live())
        if t < 0:
            raise_for(t, PipeError)
        return t

    def write(self, data: Any, callback: DoneCallback = None,
              send_handle: Optional[Handle] = None) -> WriteRequest:
        """Write ``data``; over an IPC pipe, ``send_handle`` (a TCP, Pipe or UDP handle)
        travels with it. ``callback(handle, error)`` once written. Without a handle to
        send, as :meth:`~uvffi.Stream.write` (one ``bytes`` goes to the kernel at once)."""
        return self._write(data, callback, send_handle)

    def _pname(self, peer: int) -> str:
        size = ffi.new("size_t *", 4096)
        buf = ffi.new("char[]", 4096)
        err = lib.uvffi_pipe_name(self._live(), peer, buf, size)
        if err:
            raise_for(err, PipeError)
        raw = ffi.buffer(buf, size[0])[:]
        if raw.startswith(b"\0"):
            return raw.decode("utf-8", "surrogateescape")
        return os.fsdecode(raw)

    def getsockname(self) -> str:
        """The name the pipe is bound to ('' if none). A pipe opened on a socket of
        another family (a TCP socket) raises :class:`~uvffi.error.PipeError` with
        ``UV_EAFNOSUPPORT``."""
        return self._pname(0)

    def getpeername(self) -> str:
        """The name of the socket the pipe is connected to (``UV_EAFNOSUPPORT`` as for
        :meth:`getsockname`)."""
        return self._pname(1)

    def chmod(self, flags: int) -> None:
        """Let others read and/or write the bound socket: ``uvffi.UV_READABLE``,
        ``UV_WRITABLE`` or both (``uv_pipe_chmod``). Beyond pyuv."""
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise TypeError(f"flags must be an int, not {type(flags).__name__}")
        err = lib.uvffi_pipe_chmod(self._live(), flags)
        if err:
            raise_for(err, PipeError)
