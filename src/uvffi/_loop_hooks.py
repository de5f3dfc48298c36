"""The Python ends of the per-loop C hooks behind ``next_tick`` and
``call_soon_threadsafe``: C calls them with the Loop object, holding the GIL."""

from __future__ import annotations

from typing import Any

from ._ffi import PYPY, ffi, lib
from .threadsafe import run_batch


def on_ticks(loop: Any) -> None:
    """A callback queued next-tick callbacks: run them now."""
    s = loop._scheduler
    if s is not None:
        s.run_ticks()


# The loop's internal async fired: run the call_soon_threadsafe batch.
on_threadsafe = run_batch


def install() -> None:
    """Register the hooks with the C glue (CPython) or as extern "Python" (PyPy)."""
    if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
        from ._pypy import _onerror  # a Ctrl-C at a hook's first bytecode is routed to the loop

        @ffi.def_extern(onerror=_onerror)
        def _uvffi_py_ticks(pyloop: int) -> None:
            try:
                on_ticks(ffi.from_handle(ffi.cast("void *", pyloop)))
            except BaseException as exc:  # noqa: BLE001
                ffi.from_handle(ffi.cast("void *", pyloop))._handle_error(exc)

        @ffi.def_extern(onerror=_onerror)
        def _uvffi_py_threadsafe(pyloop: int) -> None:
            try:
                on_threadsafe(ffi.from_handle(ffi.cast("void *", pyloop)))
            except BaseException as exc:  # noqa: BLE001
                ffi.from_handle(ffi.cast("void *", pyloop))._handle_error(exc)

    else:
        lib.uvffi_set_loop_hooks(id(on_ticks), id(on_threadsafe))
