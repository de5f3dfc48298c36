"""The compiled extension and how Python objects cross into C.

C keeps references to Python objects as ``uintptr_t``: on CPython the object's
address (``id()``), used by the C trampolines through the C API; on PyPy a cffi
handle, resolved by the ``extern "Python"`` hooks in :mod:`uvffi._pypy`.
"""

from __future__ import annotations

import platform
import threading
from typing import Any, Callable

from ._uv import ffi, lib

PYPY = platform.python_implementation() == "PyPy"

__all__ = ["ffi", "lib", "PYPY", "ref", "cb_ref", "fast"]

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


fast: dict = {}
"""CPython: C-API builtins for the hot calls (``handle_new``, ``timer_start``,
``watcher_start``, ``handle_stop``, ``handle_close``, ``run``, ``work_queue``),
which keep the GIL and skip cffi's argument conversion. Each returns None
(success), a negative error code, or NotImplemented (argument not handled: take
the ordinary ``lib`` path). Also ``HandleBase`` and ``LoopBase``, the C base
classes of :class:`~uvffi.handle.Handle` and :class:`~uvffi.loop.Loop`
(``_bases.c``), ``ThreadsafeQueue``, call_soon_threadsafe's queue
(``_threadsafe.c``, set up by :mod:`uvffi.threadsafe` through ``tsafe_setup``),
and ``base_on_closed``. Empty on PyPy, or if the C glue did not recognise cffi's
pointer objects."""

if not PYPY:
    _addr = 0x5A5A50
    _hs = ffi.cast("uvffi_handle_t *", _addr)
    _ls = ffi.cast("uvffi_loop_t *", _addr)
    _ws = ffi.cast("uvffi_work_t *", _addr)
    _main = threading.main_thread().ident or 0
    if not lib.uvffi_fast_install(id(fast), id(_hs), id(_ls), id(_ws), _addr, _main):  # pragma: no cover
        fast.clear()
    del _addr, _hs, _ls, _ws, _main
