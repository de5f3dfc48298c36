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

        def hook(on_loop: Any) -> Any:
            # C passes the loop's cffi handle as `pyloop` (_onerror reads that argument).
            def extern(pyloop: int) -> None:
                try:
                    on_loop(ffi.from_handle(ffi.cast("void *", pyloop)))
                except BaseException as exc:  # noqa: BLE001
                    ffi.from_handle(ffi.cast("void *", pyloop))._handle_error(exc)

            return extern

        ffi.def_extern(name="_uvffi_py_ticks", onerror=_onerror)(hook(on_ticks))
        ffi.def_extern(name="_uvffi_py_threadsafe", onerror=_onerror)(hook(on_threadsafe))

    else:
        lib.uvffi_set_loop_hooks(id(on_ticks), id(on_threadsafe))
