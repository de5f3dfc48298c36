"""PyPy's side of the C trampolines: the ``extern "Python"`` hooks of build_libuv.py.

On CPython the C glue calls Python objects through the C API; PyPy has no
cheap C API, so there C passes cffi handles (``ffi.new_handle``, see
:func:`uvffi._ffi.ref`) to these hooks, which resolve them and call the Python
ends in :mod:`uvffi._trampoline`.

Keep-alive: where CPython's glue holds a strong reference (``Py_INCREF``) to a
handle that is active or closing, or to a queued work request, PyPy's calls
``_uvffi_py_keep`` and ``_uvffi_py_release``, and the objects C holds live in
:data:`_kept`.

Exceptions are routed as on CPython: an ``Exception`` from a callback goes to
the loop's excepthook, a ``BaseException`` stops the loop and is re-raised from
``run()``. cffi's default for an exception that escapes a hook (print it, return)
is never relied on: every hook catches, and ``onerror`` catches what is raised
before a hook's ``try`` (a signal handler's ``KeyboardInterrupt`` can be).
"""

from __future__ import annotations

import sys
import threading
import traceback
from types import TracebackType
from typing import Any

from ._ffi import ffi, lib
from ._trampoline import on_closed, on_done, on_error, on_work

__all__: list[str] = []

_SIGNAL: int = lib.UVFFI_SIGNAL
_cast = ffi.cast
_from_handle = ffi.from_handle

# handle value (an int) -> object: the objects C holds a reference to. C keeps an object
# at most once at a time (h->kept; a work request once from queue to done).
_kept: dict[int, Any] = {}
_kept_lock = threading.Lock()  # loops in several threads keep and release
_deleted = 0
_REBUILD = 256


def _keep(value: int, obj: Any) -> None:
    """C holds a reference to ``obj`` (its handle value): keep it alive."""
    with _kept_lock:
        _kept[value] = obj


def _unkeep(value: int) -> None:
    """C dropped its reference: forget the object. PyPy 7.3.11's dict was seen to keep deleted
    values reachable (an empty ``_kept`` whose referents were finished work requests, so their
    closed loop outlived every collection; about 1 trial in 300 of a random queue/cancel/run/
    close sequence), so the dict is rebuilt with only its live entries when it empties and every
    ``_REBUILD`` deletions."""
    global _kept, _deleted
    with _kept_lock:
        if _kept.pop(value, None) is None:
            return
        _deleted += 1
        if not _kept:
            _kept = {}
            _deleted = 0
        elif _deleted >= _REBUILD:
            _kept = dict(_kept)
            _deleted = 0


def _resolve(value: int) -> Any:
    """The Python object behind a handle value that C passed."""
    return _from_handle(_cast("void *", value))


def _route(source: Any, exc: BaseException) -> None:
    """Hand ``exc`` to the loop of ``source`` (a handle, request or loop)."""
    try:
        on_error(source, exc)
    except BaseException:  # noqa: BLE001 - the router failed: never let it escape into C
        traceback.print_exc()


def _onerror(exc_type: type[BaseException] | None, exc: BaseException | None,
             tb: TracebackType | None) -> None:
    """An exception escaped a hook: PyPy runs a pending signal handler (Ctrl-C) at a hook's
    first bytecode, before its ``try``. Finish the hook's bookkeeping, then route the exception
    as the hook would have. The hook's frame is the traceback's first; its arguments say whose
    it is."""
    if exc is None:
        return
    frame = tb.tb_frame if tb is not None else None
    args = frame.f_locals if frame is not None else {}
    code = frame.f_code if frame is not None else None
    value = args.get("pyloop", args.get("self"))
    source = None
    if isinstance(value, int) and value:
        try:
            source = _resolve(value)
        except BaseException:  # noqa: BLE001 - a stale handle: report without a loop
            source = None
    try:
        _finish(code, value, source, args)
    except BaseException as late:  # noqa: BLE001 - e.g. a close callback's own exception
        if source is not None and code is not _uvffi_py_work.__code__:
            _route(source, late)
    if source is not None and code is _uvffi_py_work.__code__:
        source._exc = exc  # a pool thread: done_cb's thread reports it
        return
    if source is not None and (hasattr(source, "_handle_error") or hasattr(source, "_loop")):
        _route(source, exc)
        return
    print("uvffi: exception in a libuv callback with no loop to report it to:", file=sys.stderr)
    traceback.print_exception(exc_type, exc, tb)


def _finish(code: Any, value: Any, source: Any, args: dict[str, Any]) -> None:
    """Do what an interrupted hook must have done for C's bookkeeping (each step idempotent):
    C frees a closed handle's memory and a finished request right after these hooks return."""
    if source is None:
        return
    if code is _uvffi_py_keep.__code__:
        _keep(value, source)
    elif code is _uvffi_py_release.__code__:
        _unkeep(value)
    elif code is _uvffi_py_closed.__code__ and getattr(source, "_ptr", None) is not None:
        on_closed(source)
    elif code is _uvffi_py_done.__code__ and getattr(source, "_req", None) is not None:
        on_done(source, args["status"])


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_call(self: int, callback: int, kind: int, arg: int) -> None:
    """A handle's callback: ``callback(handle)``, or ``callback(handle, signum)`` for Signal."""
    handle = _resolve(self)
    try:
        cb = handle._callback
        if cb is None:
            return
        if kind == _SIGNAL:
            cb(handle, arg)
        else:
            cb(handle)
    except BaseException as exc:  # noqa: BLE001 - routed like CPython's glue does
        _route(handle, exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_closed(self: int) -> None:
    """libuv closed the handle: its close callback."""
    handle = _resolve(self)
    try:
        on_closed(handle)
    except BaseException as exc:  # noqa: BLE001
        _route(handle, exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_keep(self: int) -> None:
    """C now holds a reference to the object: keep it alive (C keeps each object once)."""
    _keep(self, _resolve(self))


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_release(self: int) -> None:
    """C dropped its reference to the object."""
    _unkeep(self)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_work(self: int) -> None:
    """In a pool thread: run the request's work (its exception is kept for done_cb's thread)."""
    request = _resolve(self)
    try:
        on_work(request)
    except BaseException as exc:  # noqa: BLE001
        request._exc = exc


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_done(self: int, status: int) -> None:
    """On the loop thread: the request finished or was cancelled."""
    request = _resolve(self)
    try:
        on_done(request, status)
    except BaseException as exc:  # noqa: BLE001
        _route(request, exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_signals(pyloop: int) -> None:
    """A signal woke the loop: run Python's signal handlers now (Ctrl-C raises here).

    PyPy runs a pending handler at the first bytecode it executes, often before
    this ``try``: :func:`_onerror` then routes the exception to the same loop."""
    try:
        _run_signal_handlers()
    except BaseException as exc:  # noqa: BLE001
        _route(_resolve(pyloop), exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_walk(list_: int, self: int) -> None:
    """uv_walk met a uvffi handle: append it to the list."""
    _resolve(list_).append(_resolve(self))


def _run_signal_handlers() -> None:
    """Give PyPy a point to run pending signal handlers (it does so between bytecodes)."""
    for _ in range(2):
        pass
