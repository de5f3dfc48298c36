"""The Python ends of the C trampoline (``_c/trampoline.c``): where a callback's
exception goes and what happens when libuv closed a handle with Python storage,
and the registry of per-loop hooks (next-tick, call_soon_threadsafe) that the
modules owning them fill in at their import.

On CPython the C core calls these functions through the C API; on PyPy the
``extern "Python"`` hooks of :mod:`uvffi._core.pypy` do.
"""

from __future__ import annotations

import signal as _signal
from typing import Any, Callable, Dict

from .native import PYPY, lib
from .storage import closed_by_libuv

__all__ = ["on_error", "set_hook", "hooks"]

_HOOKS = {"error": 0, "closed": 1, "ticks": 2, "threadsafe": 3, "wakeup": 4, "written": 5}

hooks: Dict[str, Callable[..., Any]] = {}
"""name -> function: what C (or PyPy's extern hooks) call for ``error`` (source,
exc), ``closed`` (handle), ``ticks`` (loop) and ``threadsafe`` (loop)."""


def on_error(source: Any, exc: BaseException) -> None:
    """A callback of ``source`` (a handle, a request or the loop) raised ``exc``.

    A TypeError with no traceback was raised by the call itself (the callback takes other
    arguments than libuv's callback gives): it gets a note naming whose callback it was."""
    if isinstance(exc, TypeError) and _raised_by_the_call(source, exc):
        note = f"uvffi: raised calling the callback of {source!r}"
        if hasattr(exc, "add_note"):  # Python 3.11+
            exc.add_note(note)
        elif exc.args and isinstance(exc.args[0], str):
            exc.args = (f"{exc.args[0]} ({note})",) + exc.args[1:]
    getattr(source, "_loop", source)._handle_error(exc)


def _raised_by_the_call(source: Any, exc: BaseException) -> bool:
    """True when no frame of the callback itself ran: CPython gives such an exception no
    traceback; on PyPy its innermost frame is uvffi's own hook, not the callback."""
    tb = exc.__traceback__
    if tb is None:
        return True
    if not PYPY:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    return tb.tb_frame.f_code is not getattr(getattr(source, "_callback", None), "__code__", None)


def set_hook(name: str, fn: Callable[..., Any]) -> None:
    """Register the Python function the C trampoline calls for ``name``."""
    hooks[name] = fn
    if not PYPY:
        lib.uvffi_set_hook(_HOOKS[name], id(fn))  # C holds a reference


set_hook("error", on_error)
set_hook("closed", closed_by_libuv)
# Loop.run's blocking runs on the main thread set and restore the signal wakeup fd
# from C (_c/loop.c), so that no KeyboardInterrupt can fall between the two.
set_hook("wakeup", _signal.set_wakeup_fd)
