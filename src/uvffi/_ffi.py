"""The compiled extension and how Python objects cross into C.

C keeps references to Python objects as ``uintptr_t``: on CPython the object's
address (``id()``), used by the C trampolines through the C API; on PyPy a cffi
handle, resolved by the ``extern "Python"`` hooks in :mod:`uvffi._pypy`.
"""

from __future__ import annotations

import platform
from typing import Any, Callable

from ._uv import ffi, lib

PYPY = platform.python_implementation() == "PyPy"

__all__ = ["ffi", "lib", "PYPY", "ref", "cb_ref"]

ref: Callable[[Any], int]
cb_ref: Callable[[Any], int]

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite

    def ref(obj: Any) -> int:
        """A cffi handle for ``obj``, kept alive by ``obj`` itself (uvffi's own objects)."""
        handle = obj.__dict__.get("_uvffi_handle")
        if handle is None:
            handle = obj.__dict__["_uvffi_handle"] = ffi.new_handle(obj)
        return int(ffi.cast("uintptr_t", handle))

    def cb_ref(callback: Any) -> int:
        """On PyPy the hooks read the callback from the handle object itself."""
        return 1

else:
    ref = id
    cb_ref = id
