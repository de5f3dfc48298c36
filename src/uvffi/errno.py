"""libuv's error codes, as pyuv's ``errno`` module gives them.

``errorcode`` maps each negative code to its name (``-22: 'UV_EINVAL'``), every
``UV_E*`` name is a module constant, and :func:`strerror` gives libuv's message.
"""

from __future__ import annotations

from typing import Dict

from ._core.native import ffi, lib

__all__ = ["errorcode", "strerror"]

def strerror(code: int) -> str:
    """libuv's message for an error code."""
    return ffi.string(lib.uv_strerror(code)).decode()


errorcode: Dict[int, str] = {}
for _i in range(lib.uvffi_errno_count()):
    _name = ffi.string(lib.uvffi_errno_name(_i)).decode()
    _code = lib.uvffi_errno_code(_i)
    errorcode[_code] = _name
    globals()[_name] = _code
    __all__.append(_name)
del _i, _name, _code


def __getattr__(name: str) -> int:  # for type checkers: UV_E* constants are ints
    raise AttributeError(f"module 'uvffi.errno' has no attribute {name!r}")
