"""Where a handle's and a loop's state lives.

On CPython it is C struct slots (``HandleStorage`` and ``LoopStorage`` of
``_c/bases.c``): the close callback's bookkeeping and the finaliser are C there,
out of reach of Python code. On PyPy (whose JIT makes attributes cheap) it is the
plain classes below, with the same attributes; the close bookkeeping is
:func:`closed_by_libuv`, and the finaliser is C reached through ``ffi.gc``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Dict, Optional

from .native import C
from .once import call_attr_once

__all__ = ["HandleStorage", "LoopStorage", "closed_by_libuv"]


class PyHandleStorage:
    """A handle's state as Python attributes (PyPy). Defaults are class
    attributes: fewer instance writes per handle created. ``_owner`` tells C that
    the object is gone: an ``ffi.gc`` object whose finaliser is C
    (``uvffi_owner_drop``), which no signal handler can interrupt as it could a
    ``__del__``."""

    _callback: Optional[Callable[..., Any]] = None
    _close_cb: Optional[Callable[[Any], Any]] = None
    _closed: bool = False
    _ptr: Any = None
    _owner: Any = None
    _loop: Any = None
    _cref: int = 0  # the object's cffi handle, as C holds it (_core.pypy.bind_handle)


class PyLoopStorage:
    """A loop's state as Python attributes (PyPy); ``_kept`` holds the objects C
    keeps alive (active handles, requests in flight), by their cffi handle."""

    _lp: Any = None
    _closed: bool = False
    _running: bool = False
    _threadsafe: Any = None
    _scheduler: Any = None
    _pending_exc: Optional[BaseException] = None
    _kept: Dict[int, Any]


if TYPE_CHECKING:
    HandleStorage = PyHandleStorage
    LoopStorage = PyLoopStorage
else:
    HandleStorage = C.get("HandleStorage") or PyHandleStorage
    LoopStorage = C.get("LoopStorage") or PyLoopStorage


def closed_by_libuv(handle: Any) -> None:
    """libuv closed ``handle`` (Python storage): the bookkeeping, then its close
    callback. Not a method: no subclass can skip it. An Async on the Python path
    does it under its send lock, so that no send is in flight. Idempotent: a second
    call does what an interrupted first one did not, and never calls back twice."""
    lock = getattr(handle, "_send_lock", None)
    if lock is not None:
        with lock:
            handle._ptr = None
            handle._closed = True
    else:
        handle._ptr = None
        handle._closed = True
    handle._callback = None
    # A signal can interrupt this anywhere, and then PyPy's C calls it again (the closed
    # hook, _core/pypy.py): each step above is idempotent, and the close callback is taken
    # and called in one call of built-ins (_core/once.py), so it runs exactly once.
    if "_close_cb" in getattr(handle, "__dict__", ()):
        call_attr_once(handle, "_close_cb", handle)
    else:  # the attribute is a slot (C storage): not reached by a signal between the steps
        cb = handle._close_cb
        if cb is not None:
            handle._close_cb = None
            cb(handle)
