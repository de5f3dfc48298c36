"""uvffi: the real libuv event loop for Python, through cffi.

A superset of pyuv 1.4's API: pyuv programs run after ``import uvffi as pyuv``
(docs/pyuv-differences.md lists what differs). The public names only: importing
any of uvffi's modules first is safe.
"""

from __future__ import annotations

from . import dns, errno, error, fs, metrics, scheduler, thread, threadsafe, util
from ._core import ffi, lib
from ._version import __version__
from .handles import (
    TCP,
    TTY,
    UDP,
    Async,
    Check,
    Handle,
    Idle,
    Pipe,
    Poll,
    Prepare,
    Process,
    Signal,
    StdIO,
    Stream,
    Timer,
    pipe,
    socketpair,
)
from .handles.poll import UV_DISCONNECT, UV_PRIORITIZED, UV_READABLE, UV_WRITABLE
from .handles.process import (
    UV_CREATE_PIPE,
    UV_IGNORE,
    UV_INHERIT_FD,
    UV_INHERIT_STREAM,
    UV_PROCESS_DETACHED,
    UV_PROCESS_SETGID,
    UV_PROCESS_SETUID,
    UV_PROCESS_WINDOWS_HIDE,
    UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS,
    UV_READABLE_PIPE,
    UV_WRITABLE_PIPE,
)
from .handles.tcp import UV_TCP_IPV6ONLY, UV_TCP_REUSEPORT
from .handles.tty import UV_TTY_MODE_IO, UV_TTY_MODE_NORMAL, UV_TTY_MODE_RAW
from .handles.udp import (
    UV_JOIN_GROUP,
    UV_LEAVE_GROUP,
    UV_UDP_IPV6ONLY,
    UV_UDP_LINUX_RECVERR,
    UV_UDP_PARTIAL,
    UV_UDP_RECVMMSG,
    UV_UDP_REUSEADDR,
    UV_UDP_REUSEPORT,
)
from .loop import RUN_DEFAULT, RUN_NOWAIT, RUN_ONCE, UV_RUN_DEFAULT, UV_RUN_NOWAIT, UV_RUN_ONCE, Loop
from .requests import (
    ConnectRequest,
    Request,
    ShutdownRequest,
    StreamRequest,
    UDPSendRequest,
    WorkRequest,
    WriteRequest,
)
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
    "UDP", "UDPSendRequest", "UV_UDP_IPV6ONLY", "UV_UDP_PARTIAL", "UV_UDP_REUSEADDR", "UV_UDP_REUSEPORT", "UV_UDP_RECVMMSG", "UV_UDP_LINUX_RECVERR", "UV_JOIN_GROUP", "UV_LEAVE_GROUP",  # noqa: E501
    "Process", "StdIO", "UV_IGNORE", "UV_CREATE_PIPE", "UV_INHERIT_FD", "UV_INHERIT_STREAM",
    "UV_READABLE_PIPE", "UV_WRITABLE_PIPE", "UV_PROCESS_SETUID", "UV_PROCESS_SETGID", "UV_PROCESS_DETACHED",
    "UV_PROCESS_WINDOWS_HIDE", "UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS",
    "Stream", "TCP", "Pipe", "TTY", "StreamRequest", "WriteRequest", "ShutdownRequest", "ConnectRequest",
    "socketpair", "pipe",
    "UV_TCP_IPV6ONLY", "UV_TCP_REUSEPORT", "UV_TTY_MODE_NORMAL", "UV_TTY_MODE_RAW", "UV_TTY_MODE_IO",
    "UV_UNKNOWN_HANDLE", "UV_ASYNC", "UV_CHECK", "UV_FS_EVENT", "UV_FS_POLL", "UV_HANDLE", "UV_IDLE",
    "UV_NAMED_PIPE", "UV_POLL", "UV_PREPARE", "UV_PROCESS", "UV_STREAM", "UV_TCP", "UV_TIMER", "UV_TTY",
    "UV_UDP", "UV_SIGNAL", "UV_FILE",
]
