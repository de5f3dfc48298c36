"""uvffi: the real libuv event loop for Python, through cffi.

A superset of pyuv 1.4's Loop, Timer, Check, Prepare, Idle, Async, Signal and
``queue_work``: pyuv programs run after ``import uvffi as pyuv``.
"""

from __future__ import annotations

from . import errno, error
from ._ffi import ffi, lib
from ._loop_hooks import install as _install_loop_hooks
from ._trampoline import install as _install
from ._version import __version__
from .async_handle import Async
from .handle import Handle
from .loop import RUN_DEFAULT, RUN_NOWAIT, RUN_ONCE, UV_RUN_DEFAULT, UV_RUN_NOWAIT, UV_RUN_ONCE, Loop
from .loop_watchers import Check, Idle, Prepare
from .signal_handle import Signal
from .timer import Timer
from .work import WorkRequest

_install()
_install_loop_hooks()

from . import dns, fs, metrics, scheduler, thread, threadsafe, util  # noqa: E402  (after the hooks are installed)

LIBUV_VERSION: str = ffi.string(lib.uv_version_string()).decode()
"""The version of the libuv uvffi was built with (the pin, or the system's)."""

__all__ = [
    "Loop", "Handle", "Timer", "Prepare", "Check", "Idle", "Async", "Signal", "WorkRequest",
    "RUN_DEFAULT", "RUN_ONCE", "RUN_NOWAIT", "UV_RUN_DEFAULT", "UV_RUN_ONCE", "UV_RUN_NOWAIT",
    "error", "errno", "ffi", "__version__", "LIBUV_VERSION", "metrics", "scheduler", "threadsafe",
    "util", "thread", "fs", "dns",
]
