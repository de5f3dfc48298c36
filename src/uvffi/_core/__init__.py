"""uvffi's plumbing: the compiled extension, how Python objects cross into C,
and the backend chosen once, at import.

- ``ffi``, ``lib``: the cffi module built by build_libuv.py from ``src/uvffi/_c/``.
- ``ref(obj)``: what C keeps for a Python object: on CPython its address
  (``id()``), used by the C trampolines through the C API; on PyPy a cffi handle,
  resolved by the ``extern "Python"`` hooks in :mod:`uvffi._core.pypy`.
- ``HandleStorage``, ``LoopStorage``: the bases of :class:`uvffi.Handle` and
  :class:`uvffi.Loop`, which hold their state: C struct slots on CPython
  (``_c/bases.c``), plain attributes on PyPy (:mod:`uvffi._core.storage`).
- ``c_methods(kind)``: the class decorator that puts a kind's C methods before
  its Python implementation in the MRO (``@c_methods("timer") class Timer``): on
  CPython unless ``UVFFI_NO_CBASE=1``; none on PyPy, which runs the Python methods.
- ``kind(name)``, ``request_kind(name)``: a kind's index in the C tables.

Importing this package installs the trampolines' hooks, so no import order of
uvffi's modules matters.
"""

from __future__ import annotations

import inspect
from typing import Callable, TypeVar

from .native import CBASE, PYPY, C, ffi, lib, ref
from .storage import HandleStorage, LoopStorage

__all__ = ["ffi", "lib", "PYPY", "CBASE", "C", "ref", "c_methods", "kind", "request_kind", "HandleStorage",
           "LoopStorage", "set_hook"]


def kind(name: str) -> int:
    """The index of the handle kind ``name`` in the C kind table (``_c/module.c``)."""
    index = lib.uvffi_kind_index(name.encode(), 0)
    if not index:
        raise LookupError(f"no handle kind {name!r} in uvffi's C core")
    return index


def request_kind(name: str) -> int:
    """The index of the request kind ``name`` in the C request table."""
    index = lib.uvffi_kind_index(name.encode(), 1)
    if not index:
        raise LookupError(f"no request kind {name!r} in uvffi's C core")
    return index


T = TypeVar("T", bound=type)


def c_methods(name: str) -> Callable[[T], T]:
    """Class decorator: put the C methods of handle kind ``name`` (or ``"loop"``, or the
    name of another C methods type such as ``"StreamTransportOps"``) in
    front of the decorated class, its Python implementation. On CPython (unless
    ``UVFFI_NO_CBASE=1``) the result is a subclass of the same name whose MRO starts
    with the C type (``TimerOps``): C takes the plain case of each of its methods
    and hands anything else to the Python method next in the MRO. Elsewhere the
    class is returned as it is. Decided once, at import."""

    def wrap(cls: T) -> T:
        setattr(cls, "__signature__", public_signature(cls))  # noqa: B010 (T is any class)
        front = (C.get("LoopOps") if name == "loop" else C.get(name)) if CBASE else None
        if front is None:
            return cls
        ns = {"__doc__": cls.__doc__, "__module__": cls.__module__, "__qualname__": cls.__qualname__,
              "__slots__": (), "__signature__": getattr(cls, "__signature__")}  # noqa: B009
        return type(cls)(cls.__name__, (front, cls), ns)

    return wrap


def public_signature(cls: type) -> inspect.Signature:
    """The constructor's signature as users call it: the Python ``__init__``'s, without ``self``
    and without the private keyword arguments (``_arg``) subclasses pass to ``Handle``."""
    try:  # the annotations evaluated (they are strings here), as documentation tools show them
        init = inspect.signature(cls.__init__, eval_str=True)  # type: ignore[misc]
    except (TypeError, NameError):  # Python 3.9 (no eval_str), or a name only type checkers see
        init = inspect.signature(cls.__init__)  # type: ignore[misc]
    params = [p for p in list(init.parameters.values())[1:] if not p.name.startswith("_")]
    return init.replace(parameters=params, return_annotation=inspect.Signature.empty)


from .trampoline import set_hook  # noqa: E402  (importing it installs the error and closed hooks)

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    from . import pypy  # noqa: E402,F401  (the extern "Python" hooks)
