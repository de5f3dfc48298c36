"""uvffi: the real libuv event loop for Python, through cffi.

A superset of pyuv 1.4's API: pyuv programs run after ``import uvffi as pyuv``
(docs/pyuv-differences.md lists what differs). The public names only: importing
any of uvffi's modules first is safe.
"""

from __future__ import annotations

from . import dns, errno, error, fs, metrics, scheduler, thread, threadsafe, util
from ._core import ffi, lib
from ._version import __version__
from .handles import TCP, TTY, Async, Check, Handle, Idle, Pipe, Poll, Prepare, Signal, Stream, Timer, pipe, socketpair
from .handles.poll import UV_DISCONNECT, UV_PRIORITIZED, UV_READABLE, UV_WRITABLE
from .handles.tcp import UV_TCP_IPV6ONLY, UV_TCP_REUSEPORT
from .handles.tty import UV_TTY_MODE_IO, UV_TTY_MODE_NORMAL, UV_TTY_MODE_RAW
from .loop import RUN_DEFAULT, RUN_NOWAIT, RUN_ONCE, UV_RUN_DEFAULT, UV_RUN_NOWAIT, UV_RUN_ONCE, Loop
from .requests import ConnectRequest, Request, ShutdownRequest, StreamRequest, WorkRequest, WriteRequest
from .util import (
    UV_ASYNC,
    UV_CHECK,
    UV_FILE,
    UV_FS_EVENT,
    UV_FS_POLL,
    UV_HANDLE,
    UV_IDLE,
    UV_NAMED_PIPE,
    UV_POLL,
    UV_PREPARE,
    UV_PROCESS,
    UV_SIGNAL,
    UV_STREAM,
    UV_TCP,
    UV_TIMER,
    UV_TTY,
    UV_UDP,
    UV_UNKNOWN_HANDLE,
)

LIBUV_VERSION: str = ffi.string(lib.uv_version_string()).decode()
"""The version of the libuv uvffi was built with (the pin, or the system's)."""

__all__ = [
    "Loop", "Handle", "Timer", "Prepare", "Check", "Idle", "Async", "Signal", "Poll", "Request", "WorkRequest",
    "RUN_DEFAULT", "RUN_ONCE", "RUN_NOWAIT", "UV_RUN_DEFAULT", "UV_RUN_ONCE", "UV_RUN_NOWAIT",
    "UV_READABLE", "UV_WRITABLE", "UV_DISCONNECT", "UV_PRIORITIZED",
    "error", "errno", "ffi", "__version__", "LIBUV_VERSION", "metrics", "scheduler", "threadsafe",
    "util", "thread", "fs", "dns",
    "Stream", "TCP", "Pipe", "TTY", "StreamRequest", "WriteRequest", "ShutdownRequest", "ConnectRequest",
    "socketpair", "pipe",
    "UV_TCP_IPV6ONLY", "UV_TCP_REUSEPORT", "UV_TTY_MODE_NORMAL", "UV_TTY_MODE_RAW", "UV_TTY_MODE_IO",
    "UV_UNKNOWN_HANDLE", "UV_ASYNC", "UV_CHECK", "UV_FS_EVENT", "UV_FS_POLL", "UV_HANDLE", "UV_IDLE",
    "UV_NAMED_PIPE", "UV_POLL", "UV_PREPARE", "UV_PROCESS", "UV_STREAM", "UV_TCP", "UV_TIMER", "UV_TTY",
    "UV_UDP", "UV_SIGNAL", "UV_FILE",
]
