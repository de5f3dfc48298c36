"""The event loop: :class:`Loop`, a libuv ``uv_loop_t`` driven from Python."""

from __future__ import annotations

import signal as _signal
import socket
import sys
import threading
import traceback
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, List, Optional, Type, TypeVar

from ._ffi import PYPY, fast, ffi, lib, ref
from .error import LoopClosedError, UVError, raise_for

if TYPE_CHECKING:
    from .handle import Handle
    from .work import WorkRequest

__all__ = ["Loop", "RUN_DEFAULT", "RUN_ONCE", "RUN_NOWAIT", "UV_RUN_DEFAULT", "UV_RUN_ONCE", "UV_RUN_NOWAIT"]

UV_RUN_DEFAULT: int = lib.UV_RUN_DEFAULT
UV_RUN_ONCE: int = lib.UV_RUN_ONCE
UV_RUN_NOWAIT: int = lib.UV_RUN_NOWAIT
RUN_DEFAULT, RUN_ONCE, RUN_NOWAIT = UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT
_MODES = (UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT)

_main_thread = threading.main_thread()
_main_ident = _main_thread.ident
_get_ident = threading.get_ident
_live_loops: "weakref.WeakSet[Loop]" = weakref.WeakSet()
# uv_run entered holding the GIL (CPython C-API builtin; see _ffi.fast), else through cffi.
_uv_run: Callable[[Any, int], int] = fast.get("run") or lib.uvffi_run

L = TypeVar("L", bound="Loop")


class Loop:
    """A libuv event loop.

    Callbacks run on the thread that calls :meth:`run`, holding the GIL; while
    the loop waits for events the GIL is released so other threads run. A
    callback's ``Exception`` goes to :meth:`excepthook` and the loop goes on; a
    ``BaseException`` (``KeyboardInterrupt``, ``SystemExit``) stops the loop and
    is re-raised from :meth:`run`.
    """

    _default: ClassVar[Optional["Loop"]] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._setup(ffi.NULL, own=True)

    def _setup(self, existing: Any, own: bool) -> None:
        self._running = False
        self._closed = False
        self._pending_exc: Optional[BaseException] = None
        self._wakeup: Optional[tuple] = None
        self._is_default = False
        self._scheduler: Any = None
        self._threadsafe: Any = None
        lp = lib.uvffi_loop_new(existing, ref(self), 1 if own else 0)
        if not lp:
            code = lib.uvffi_last_error()
            raise_for(code, UVError)
        self._lp = lp
        self._raw = lib.uvffi_loop_raw(lp)
        _live_loops.add(self)

    # -- construction -----------------------------------------------------

    @classmethod
    def default_loop(cls: Type[L]) -> L:
        """The process-wide default loop (libuv's ``uv_default_loop()``), created on first use."""
        with Loop._default_lock:
            loop = Loop._default
            if loop is None or loop._closed:
                loop = cls.__new__(cls)
                loop._setup(lib.uv_default_loop(), own=True)
                loop._is_default = True
                Loop._default = loop
        return loop  # type: ignore[return-value]

    @classmethod
    def from_pointer(cls: Type[L], pointer: Any) -> L:
        """Wrap a ``uv_loop_t*`` that C code created and owns.

        ``pointer`` is a cffi ``uv_loop_t*`` (any cffi pointer is cast) or an integer
        address. uvffi puts its own handles on that loop and runs it, but never
        closes or frees it: :meth:`close` only closes uvffi's handles.
        """
        if isinstance(pointer, int):
            if pointer == 0:
                raise ValueError("a NULL uv_loop_t* cannot be wrapped")
            ptr = ffi.cast("uv_loop_t *", pointer)
        elif isinstance(pointer, ffi.CData):
            ptr = ffi.cast("uv_loop_t *", pointer)
            if not ptr:
                raise ValueError("a NULL uv_loop_t* cannot be wrapped")
        else:
            raise TypeError(f"expected a cffi pointer or an int address, got {type(pointer).__name__}")
        loop = cls.__new__(cls)
        loop._setup(ptr, own=False)
        return loop

    # -- properties -------------------------------------------------------

    @property
    def default(self) -> bool:
        """True for the default loop."""
        return self._is_default

    @property
    def closed(self) -> bool:
        """True once :meth:`close` has run."""
        return self._closed

    @property
    def alive(self) -> bool:
        """True while the loop has active, referenced handles or requests."""
        return bool(lib.uv_loop_alive(self._live_raw()))

    @property
    def handles(self) -> List["Handle"]:
        """Every open handle uvffi created on this loop."""
        out: List["Handle"] = []
        keep = ffi.new_handle(out) if PYPY else None
        lib.uvffi_loop_walk(self._live_lp(), int(ffi.cast("uintptr_t", keep)) if PYPY else id(out))
        return out

    @property
    def pointer(self) -> Any:
        """The loop's ``uv_loop_t*`` as a cffi pointer (``uvffi.ffi``), for C code sharing it."""
        self._live_lp()
        return self._raw

    @property
    def address(self) -> int:
        """The loop's ``uv_loop_t*`` as an integer address."""
        self._live_lp()
        return int(ffi.cast("uintptr_t", self._raw))

    def _live_lp(self) -> Any:
        if self._closed:
            raise LoopClosedError("the loop is closed")
        return self._lp

    def _live_raw(self) -> Any:
        if self._closed:
            raise LoopClosedError("the loop is closed")
        return self._raw

    # -- running ----------------------------------------------------------

    def run(self, mode: int = RUN_DEFAULT) -> bool:
        """Run the loop: ``RUN_DEFAULT`` until nothing is left to do, ``RUN_ONCE``
        one iteration waiting for events, ``RUN_NOWAIT`` one iteration without
        waiting. Returns True if there is still work (``uv_run``'s result)."""
        if mode.__class__ is not int or mode not in _MODES:
            if isinstance(mode, int) and not isinstance(mode, bool):
                raise ValueError(f"invalid mode specified: {mode!r}")
            raise TypeError(f"mode must be RUN_DEFAULT, RUN_ONCE or RUN_NOWAIT, not {type(mode).__name__}")
        if self._closed:
            raise LoopClosedError("the loop is closed")
        if self._running:
            raise RuntimeError("this loop is already running")
        self._running = True
        try:
            if mode == RUN_NOWAIT or _get_ident() != _main_ident:
                r = _uv_run(self._lp, mode)
            else:
                r = self._run_with_wakeup(self._lp, mode)
        finally:
            self._running = False
        if self._pending_exc is not None:
            exc = self._pending_exc
            self._pending_exc = None
            raise exc
        return r != 0

    def _run_with_wakeup(self, lp: Any, mode: int) -> int:
        """Run while Python's signal wakeup fd is watched, so Ctrl-C interrupts a blocked poll."""
        wake = self._wakeup
        if wake is None:
            rsock, wsock = socket.socketpair()
            rsock.setblocking(False)
            wsock.setblocking(False)
            wake = self._wakeup = (rsock, wsock)
        try:
            previous = _signal.set_wakeup_fd(wake[1].fileno(), warn_on_full_buffer=False)
        except ValueError:  # not the main thread of the main interpreter
            return _uv_run(lp, mode)
        try:
            err = lib.uvffi_loop_wakeup_start(lp, wake[0].fileno())
            if err:
                raise_for(err)
            try:
                return _uv_run(lp, mode)
            finally:
                lib.uvffi_loop_wakeup_stop(lp)
        finally:
            _signal.set_wakeup_fd(previous)

    def stop(self) -> None:
        """Stop the loop as soon as possible: :meth:`run` returns after this iteration."""
        lib.uv_stop(self._live_raw())

    def now(self) -> int:
        """The loop's cached time, in milliseconds."""
        return lib.uv_now(self._live_raw())

    def update_time(self) -> None:
        """Refresh the loop's cached time."""
        lib.uv_update_time(self._live_raw())

    def fileno(self) -> int:
        """The backend file descriptor (epoll or kqueue)."""
        return lib.uv_backend_fd(self._live_raw())

    def get_timeout(self) -> float:
        """The poll timeout in seconds, or -1.0 when poll would wait without limit."""
        ms = lib.uv_backend_timeout(self._live_raw())
        return -1.0 if ms < 0 else ms / 1000.0

    # -- errors -----------------------------------------------------------

    def excepthook(self, typ: Type[BaseException], value: BaseException, tb: Optional[TracebackType]) -> None:
        """Called with ``(type, value, traceback)`` for an ``Exception`` raised by a callback.

        The default prints the traceback to stderr. Assign another function of the
        same signature to ``loop.excepthook`` to change it (pyuv's API)."""
        traceback.print_exception(typ, value, tb)

    def _handle_error(self, exc: BaseException) -> None:
        """Route an exception from a callback: excepthook, or stop and re-raise from run()."""
        if isinstance(exc, Exception):
            try:
                self.excepthook(type(exc), exc, exc.__traceback__)
                return
            except Exception:
                print("uvffi: the loop's excepthook raised:", file=sys.stderr)
                traceback.print_exc()
                return
            except BaseException as hook_exc:
                exc = hook_exc
        if self._pending_exc is None:
            self._pending_exc = exc
        if not self._closed:
            lib.uv_stop(self._raw)

    # -- thread pool ------------------------------------------------------

    def queue_work(self, work_cb: Callable[[], Any], done_cb: Optional[Callable[[Optional[int]], Any]] = None
                   ) -> "WorkRequest":
        """Run ``work_cb()`` in libuv's thread pool, then ``done_cb(error)`` on the loop
        thread, with ``error`` None or ``errno.UV_ECANCELED`` if cancelled."""
        return _WorkRequest(self, work_cb, done_cb)

    # -- handles ----------------------------------------------------------

    def walk(self, callback: Callable[["Handle"], Any]) -> None:
        """Call ``callback(handle)`` for every open handle of this loop."""
        if not callable(callback):
            raise TypeError("a callable is required")
        for handle in self.handles:
            callback(handle)

    # -- closing ----------------------------------------------------------

    def close(self) -> None:
        """Close every handle (their close callbacks run), wait for queued work,
        and release the loop. A closed loop and its handles raise on use;
        closing again does nothing."""
        if self._closed:
            return
        if self._running:
            raise RuntimeError("cannot close a running loop")
        lp = self._lp
        self._running = True
        try:
            lib.uvffi_loop_close_handles(lp, 1)
            _uv_run(lp, RUN_DEFAULT)
        finally:
            self._running = False
        err = lib.uvffi_loop_free(lp)
        if err:
            raise_for(err)
        self._closed = True
        self._lp = self._raw = None
        if self._wakeup is not None:
            for s in self._wakeup:
                s.close()
            self._wakeup = None
        exc = self._pending_exc
        if exc is not None:
            self._pending_exc = None
            raise exc

    def __enter__(self: L) -> L:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        try:
            if not self._closed and not self._running and not self._is_default:
                self.close()
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._running else "idle")
        return f"<{type(self).__name__} {state}{' default' if self._is_default else ''}>"


def _after_fork_in_child() -> None:
    for loop in list(_live_loops):
        if not loop._closed:
            lib.uv_loop_fork(loop._raw)


if hasattr(__import__("os"), "register_at_fork"):
    __import__("os").register_at_fork(after_in_child=_after_fork_in_child)


# At the end: work.py needs nothing from this module at import time; a local import in
# queue_work() would cost an import statement per work item.
from .work import WorkRequest as _WorkRequest  # noqa: E402
