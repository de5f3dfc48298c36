"""The compiled extension and the backend chosen once, at import (see
:mod:`uvffi._core`). Imports nothing else of uvffi."""

from __future__ import annotations

import os
import platform
import threading
from typing import Any, Callable, Dict

from .._uv import ffi, lib

PYPY: bool = platform.python_implementation() == "PyPy"

__all__ = ["ffi", "lib", "PYPY", "CBASE", "C", "ref"]

ref: Callable[[Any], int]

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite

    def ref(obj: Any) -> int:
        """A cffi handle for ``obj``, kept alive by ``obj`` itself (uvffi's own objects)."""
        handle = obj.__dict__.get("_uvffi_handle")
        if handle is None:
            handle = obj.__dict__["_uvffi_handle"] = ffi.new_handle(obj)
        return int(ffi.cast("uintptr_t", handle))

else:
    ref = id

C: Dict[str, Any] = {}
"""CPython: the C types of ``_c/`` by name: ``HandleStorage``, ``LoopStorage``,
``HandleOps``, ``LoopOps``, ``ThreadsafeQueue``, and each handle kind's C methods
under the kind's name (``timer``: ``TimerOps``). Empty on PyPy, or if the C core
did not recognise cffi's pointer objects."""

CBASE: bool = False
"""True when the C methods are in use: CPython, unless ``UVFFI_NO_CBASE=1``."""

if not PYPY:
    _addr = 0x5A5A50
    _with_ops = os.environ.get("UVFFI_NO_CBASE", "") in ("", "0")
    _hs, _ls = ffi.cast("uvffi_handle_t *", _addr), ffi.cast("uvffi_loop_t *", _addr)  # samples of cffi's layout
    _ok = lib.uvffi_cbase_install(id(C), id(_hs), id(_ls), _addr, threading.main_thread().ident or 0,
                                  1 if _with_ops else 0)
    if not _ok:  # pragma: no cover - an unknown cffi object layout
        C.clear()
    CBASE = bool(_ok and _with_ops)
    del _addr, _with_ops, _ok, _hs, _ls


