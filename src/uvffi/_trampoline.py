"""The Python ends of the C trampolines: where a callback's exception goes, what
happens when libuv closed a handle, and how thread-pool work runs.

On CPython the C glue calls these functions through the C API (registered by
:func:`install`); on PyPy the ``extern "Python"`` hooks in :mod:`uvffi._pypy` do.
"""

from __future__ import annotations

from typing import Any

from ._ffi import PYPY, lib
from .loop import Loop


def on_error(source: Any, exc: BaseException) -> None:
    """A callback of ``source`` (a handle, a work request or the loop) raised ``exc``."""
    loop = source if isinstance(source, Loop) else source._loop
    loop._handle_error(exc)


def on_closed(handle: Any) -> None:
    """libuv closed ``handle``: run its close callback."""
    handle._on_closed()


def on_work(request: Any) -> None:
    """In a pool thread: run the request's work."""
    request._run()


def on_done(request: Any, status: int) -> None:
    """On the loop thread: the request finished (status 0) or was cancelled."""
    request._done(status)


def install() -> None:
    """Register the hooks with the C glue (CPython) or the extern "Python" ones (PyPy)."""
    if PYPY:  # pragma: no cover
        from . import _pypy  # type: ignore[attr-defined,unused-ignore]  # noqa: F401
    else:
        lib.uvffi_set_hooks(id(on_error), id(on_closed), id(on_work), id(on_done))
