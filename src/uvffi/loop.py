"""The event loop: :class:`Loop`, a libuv ``uv_loop_t`` driven from Python."""

from __future__ import annotations

import os as _os
import signal
import socket
import sys
import threading
import traceback
import weakref
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, ClassVar, List, Optional, Type, TypeVar

from ._core import PYPY, LoopStorage, c_methods, ffi, lib, ref
from .error import LoopClosedError, UVError, raise_for

if TYPE_CHECKING:
    from concurrent.futures import Future

    from .handles.base import Handle
    from .metrics import LoopMetrics
    from .requests.work import WorkRequest

__all__ = ["Loop", "RUN_DEFAULT", "RUN_ONCE", "RUN_NOWAIT", "UV_RUN_DEFAULT", "UV_RUN_ONCE", "UV_RUN_NOWAIT"]

UV_RUN_DEFAULT: int = lib.UV_RUN_DEFAULT
UV_RUN_ONCE: int = lib.UV_RUN_ONCE
UV_RUN_NOWAIT: int = lib.UV_RUN_NOWAIT
RUN_DEFAULT, RUN_ONCE, RUN_NOWAIT = UV_RUN_DEFAULT, UV_RUN_ONCE, UV_RUN_NOWAIT
_MODES = (UV_RUN_NOWAIT, UV_RUN_DEFAULT, UV_RUN_ONCE)  # NOWAIT first: the per-iteration call

_main_thread = threading.main_thread()
_main_ident = _main_thread.ident
_get_ident = threading.get_ident
_live_loops: "weakref.WeakSet[Loop]" = weakref.WeakSet()
_uv_run: Callable[[Any, int], int] = lib.uvffi_run
_uv_run_signals: Callable[..., int] = lib.uvffi_run_signals  # PyPy's main thread (loop.c)

_add_memory_pressure: Optional[Callable[[int], None]] = None
if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    import __pypy__

    from ._core.pypy import defer_signals as _defer_signals
    from ._core.pypy import object_of as _object_of
    from ._core.pypy import undefer_signals as _undefer_signals

    _add_memory_pressure = __pypy__.add_memory_pressure

_LOOP_NATIVE_BYTES = 64 * 1024
"""About what a loop holds outside the Python heap (measured on Linux: 60 KB a loop with a
timer and an Async; libuv's io_uring rings are most of it). PyPy's collector is told at
creation: it counts only its own heap, and dropped loops (collected, not refcounted there)
piled up to 400 MB in 12,000 before a collection came."""


def _uv_run_callbacks(lp: Any, mode: int) -> int:
    """PyPy, main thread, signal handlers deferred: run, letting them run in callbacks."""
    return _uv_run_signals(lp, mode, -1, -1, 0)

L = TypeVar("L", bound="Loop")


@c_methods("loop")
class Loop(LoopStorage):
    """A libuv event loop (``uv_loop_t``), owned by uvffi; see also :meth:`default_loop`
    and :meth:`from_pointer`. ``with Loop() as loop:`` closes it on exit.

    **Running.** :meth:`run` takes ``RUN_DEFAULT``, ``RUN_ONCE`` or ``RUN_NOWAIT``
    (also spelt ``UV_RUN_*``): ``ValueError`` for another int, ``TypeError`` for a
    non-int, ``RuntimeError`` if this loop is already running (a *different* loop may
    be run from inside a callback). On CPython ``run`` is a C method put before this
    class in the MRO (``LoopOps``, see docs/architecture.md): an open loop with
    nothing queued by :meth:`call_soon_threadsafe` or the scheduler, run with
    ``RUN_NOWAIT`` or off the main thread, runs without a Python frame; every other
    case goes to the Python implementation.

    **Errors from callbacks.** A callback's ``Exception`` goes to :meth:`excepthook`
    and the loop goes on; if the excepthook itself raises, that failure is printed to
    stderr and the loop goes on. A ``BaseException`` (``KeyboardInterrupt``,
    ``SystemExit``) stops the loop at the end of the current iteration and is
    re-raised from :meth:`run`; the loop stays usable.

    **Threads and the GIL.** Callbacks run on the thread that calls :meth:`run`,
    holding the GIL; the loop releases the GIL only while it may block in poll, so
    other Python threads run while it waits. Only :meth:`uvffi.Async.send` and
    :meth:`call_soon_threadsafe` may be called from other threads; other operations
    made while the loop runs in another thread raise ``RuntimeError``.

    **Ctrl-C.** During a :meth:`run` that may block, on the main thread, Python's
    signal wakeup fd is set to a socket the loop watches: SIGINT wakes the loop,
    Python's handler runs and ``KeyboardInterrupt`` comes out of :meth:`run` at
    once. The previous wakeup fd is restored when :meth:`run` returns (both steps
    are done by the C core, with no Python code in between that a signal could
    interrupt; on PyPy the handlers also wait during run's own bookkeeping).
    After :func:`os.fork` the child gets a socket of its own, so a Ctrl-C sent
    to the child interrupts the child.

    >>> with uvffi.Loop() as loop:
    ...     timer = uvffi.Timer(loop)
    ...     timer.start(lambda t: print("fired after", t.repeat, "s repeat"), 0.001, 0)
    ...     loop.run()
    fired after 0.0 s repeat
    False
    """

    _default: ClassVar[Optional["Loop"]] = None
    _default_lock: ClassVar[threading.Lock] = threading.Lock()

    def __init__(self) -> None:
        self._setup(ffi.NULL, own=True)

    def _setup(self, existing: Any, own: bool) -> None:
        if getattr(self, "_lp", None) is not None:
            # A second __init__ would orphan the open libuv loop and its handles.
            raise RuntimeError("this loop is already initialised")
        self._running = False
        self._closed = False
        self._pending_exc: Optional[BaseException] = None
        self._wakeup: Optional[tuple] = None
        self._wakeup_held: Optional[int] = None  # _hold_wakeup(): the wakeup fd it replaced
        self._is_default = False
        self._scheduler: Any = None
        self._threadsafe: Any = None
        self._owned = own
        self._kept: dict = {}  # PyPy: the objects C keeps alive (uvffi._core.pypy)
        self._requests: set = set()  # cancellable requests in flight (fs, dns): close() cancels them
        lp = lib.uvffi_loop_new(existing, ref(self), 1 if own else 0)
        if not lp:
            code = lib.uvffi_last_error()
            raise_for(code, UVError)
        self._lp = lp
        self._raw = lib.uvffi_loop_raw(lp)
        _live_loops.add(self)
        if own and _add_memory_pressure is not None:
            _add_memory_pressure(_LOOP_NATIVE_BYTES)

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
        closes or frees it: :meth:`close` closes only the handles made through this
        wrapper (and uvffi's internal ones), runs one non-blocking iteration so their
        close callbacks run, and releases uvffi's bookkeeping; the ``uv_loop_t`` stays
        open for its owner, who must outlive the wrapper's use of it. Wrapping another
        uvffi loop's :attr:`address` works the same way (the owner keeps working).

        Every uvffi loop of one ``uv_loop_t`` shares its running state: running it
        through one while another runs it (re-entry from a callback, or another thread)
        raises ``RuntimeError``, and so do other threads' calls while it runs. Closing
        the owning uvffi loop while wrappers are open raises ``RuntimeError`` and changes
        nothing: close the wrappers first.
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
        out: List["Handle"]
        if PYPY:
            out = self._walk_pypy()
        else:
            out = []
            n = ffi.new("size_t *", 0)
            err = lib.uvffi_loop_walk(self._live_lp(), id(out), ffi.NULL, n)
            if err:
                raise_for(err)
        # uvffi.scheduler's own timers and check/idle handles are not the user's.
        return [h for h in out if not getattr(h, "_uvffi_internal", False)]

    def _walk_pypy(self) -> List["Handle"]:
        """PyPy's walk: C reports the live handles' addresses with no call into Python
        (a Ctrl-C cannot drop one from the answer), then their objects are found here."""
        cap = 64
        while True:
            addrs = ffi.new("uintptr_t[]", cap)
            n = ffi.new("size_t *", cap)
            err = lib.uvffi_loop_walk(self._live_lp(), 0, addrs, n)
            if err:
                raise_for(err)
            if n[0] <= cap:  # else handles were made between the two walks: again
                found = [_object_of(h) for h in addrs[0 : n[0]]]
                return [h for h in found if h is not None]
            cap = n[0]

    @property
    def pointer(self) -> Any:
        """The loop's ``uv_loop_t*`` as a cffi pointer (``uvffi.ffi``), for C code sharing it.

        Other C or cffi code may put its own handles on this loop (``uv_timer_init(ptr, ...)``)
        and they run when :meth:`run` runs. uvffi's :meth:`close` closes only uvffi's own
        handles: close yours first (or the owning C code's ``uv_loop_close`` fails with EBUSY).
        Valid until the loop is closed; raises :class:`~uvffi.error.LoopClosedError` after.
        """
        self._live_lp()
        return self._raw

    @property
    def address(self) -> int:
        """The loop's ``uv_loop_t*`` as an integer address (for ctypes, or another cffi
        module: ``their_ffi.cast("uv_loop_t *", loop.address)``). See :attr:`pointer`."""
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
        if self._lp is None:
            raise RuntimeError(f"{type(self).__name__}.__init__ was not called")
        if self._running:
            raise RuntimeError("this loop is already running")
        if PYPY and _get_ident() == _main_ident:
            r = self._run_deferred(mode)
        else:
            self._running = True
            try:
                if self._threadsafe is not None or self._scheduler is not None:
                    self._before_run()
                if mode == RUN_NOWAIT or self._wakeup_held is not None or _get_ident() != _main_ident:
                    r = _uv_run(self._lp, mode)
                else:
                    r = self._run_with_wakeup(self._lp, mode)
            finally:
                self._running = False
        if self._pending_exc is not None:
            exc = self._pending_exc
            self._pending_exc = None
            raise exc
        if r < 0:
            raise_for(r)
        return r != 0

    def _run_deferred(self, mode: int) -> int:
        """:meth:`run` on PyPy's main thread, where a signal handler can run at any bytecode:
        a KeyboardInterrupt could fall between two of run's steps (set the running flag, set
        the signal wakeup fd, restore both) and leave one undone. The handlers are deferred
        for these steps and run only inside the C call that runs the loop
        (``uvffi_run_signals``), which also serves what :meth:`_before_run` serves. A signal
        that came meanwhile has its handler run when this returns or raises."""
        deferred = _defer_signals()
        try:
            self._running = True
            try:
                before = self._threadsafe is not None or self._scheduler is not None
                if mode == RUN_NOWAIT or self._wakeup_held is not None:
                    r = _uv_run_signals(self._lp, mode, -1, -1, before)
                else:
                    r = self._run_with_wakeup(self._lp, mode, before)
            finally:
                self._running = False
            exc = self._pending_exc
            if exc is not None:
                self._pending_exc = None
                raise exc
            return r
        finally:
            if deferred:
                _undefer_signals()

    def _before_run(self) -> None:
        """Before the first phase: calls queued by other threads while the loop was
        not running, then next-tick callbacks queued outside any callback."""
        q = self._threadsafe
        if q is not None and q.pending:
            _run_batch(self)
        s = self._scheduler
        if s is not None and s._ticks:
            s.run_ticks()

    def _run_with_wakeup(self, lp: Any, mode: int, before: bool = False) -> int:
        """Run while Python's signal wakeup fd is watched, so Ctrl-C interrupts a blocked poll.

        The C core sets the wakeup fd, runs and restores it, with no Python code in
        between (a KeyboardInterrupt could otherwise fall between the steps and leave the
        fd installed). On PyPy the caller has deferred the signal handlers
        (:meth:`_run_deferred`, :meth:`_close`) and C lets them run only during the run,
        which also serves :meth:`_before_run`'s calls if ``before``."""
        wake = self._wakeup_pair()
        if wake is None:  # no fd left (EMFILE): run all the same, only Ctrl-C may come late
            return _uv_run_signals(lp, mode, -1, -1, before) if PYPY else _uv_run(lp, mode)
        if PYPY:
            return _uv_run_signals(lp, mode, wake[0].fileno(), wake[1].fileno(), before)
        return lib.uvffi_run_wakeup(lp, mode, wake[0].fileno(), wake[1].fileno())

    def _wakeup_pair(self) -> Optional[tuple]:
        """The socket pair of the signal wakeup (made at first use); None if no fd is left."""
        wake = self._wakeup
        if wake is None:
            try:
                rsock, wsock = socket.socketpair()
            except OSError:
                return None
            rsock.setblocking(False)
            wsock.setblocking(False)
            wake = self._wakeup = (rsock, wsock)
        return wake

    def _hold_wakeup(self) -> bool:
        """Keep Python's signal wakeup fd set to this loop's wakeup socket until
        :meth:`_release_wakeup`, for a caller that runs the loop many times in a row
        (uvffi.aio runs it once per asyncio iteration): the runs in between then leave
        the wakeup fd as it is, instead of setting it before and restoring it after
        each run (``signal.set_wakeup_fd`` checks the fd with two syscalls). Ctrl-C
        wakes a blocked run all the same: the wakeup poll watches the socket. On the
        main thread only, with the loop open and not running; False if not held."""
        if (self._wakeup_held is not None or self._closed or self._running or self._lp is None
                or _get_ident() != _main_ident):
            return False
        wake = self._wakeup_pair()
        if wake is None or lib.uvffi_wakeup_watch(self._lp, wake[0].fileno()) != 0:
            return False
        try:
            self._wakeup_held = signal.set_wakeup_fd(wake[1].fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError):
            return False
        return True

    def _release_wakeup(self) -> None:
        """End :meth:`_hold_wakeup`: the wakeup fd it replaced is set back, unless
        someone set another one since (theirs stays). Repeatable: the hold ends only
        after the fd is set back, so a KeyboardInterrupt landing in here leaves it
        for :meth:`close` (which calls this) to end, never our socket installed."""
        prev = self._wakeup_held
        if prev is None:
            return
        wake = self._wakeup
        try:
            current = signal.set_wakeup_fd(prev, warn_on_full_buffer=False) if prev >= 0 else signal.set_wakeup_fd(-1)
            if wake is None or current != wake[1].fileno():
                signal.set_wakeup_fd(current, warn_on_full_buffer=False)
        except (ValueError, OSError):
            pass
        self._wakeup_held = None

    def stop(self) -> None:
        """Stop the loop as soon as possible: :meth:`run` returns after this iteration.

        Only from the loop's thread (RuntimeError otherwise): from another thread,
        send an Async whose callback stops the loop."""
        err = lib.uvffi_loop_stop(self._live_lp())
        if err:
            raise_for(err)

    def now(self) -> int:
        """The loop's cached time, in milliseconds."""
        return lib.uv_now(self._live_raw())

    def update_time(self) -> None:
        """Refresh the loop's cached time (from the loop's thread, RuntimeError otherwise)."""
        err = lib.uvffi_loop_update_time(self._live_lp())
        if err:
            raise_for(err)

    def fileno(self) -> int:
        """The backend file descriptor (epoll or kqueue)."""
        return lib.uv_backend_fd(self._live_raw())

    def get_timeout(self) -> float:
        """The poll timeout in seconds, or -1.0 when poll would wait without limit
        (libuv's ``uv_backend_timeout``): how long a program that embeds this loop may
        wait on :meth:`fileno` before calling ``run(RUN_NOWAIT)``.

        It is 0.0 while an I/O watcher waits to be registered with the backend fd, and
        every loop has one until its first :meth:`run`: libuv's own ``uv_loop_init``
        starts the thread pool's async handle, whose eventfd is added to epoll/kqueue only
        by the next poll. Until then :meth:`fileno` does not become readable when that
        eventfd fires (a :meth:`queue_work` completion, :meth:`call_soon_threadsafe`,
        :meth:`uvffi.Async.send`), so a timer's 10 s would be a wrong answer for an
        embedder: it would sleep through those wakeups. libuv returns 0 for this reason
        ("call uv_run to update the backend fd state"); after one ``run(RUN_NOWAIT)`` the
        answer is the next timer's (9.999 for a 10 s timer). pyuv 1.4 reported 10.0 here:
        its bundled libuv 1.13 predates that check.

        Only from the loop's thread (RuntimeError otherwise)."""
        err = lib.uvffi_loop_check_thread(self._live_lp())
        if err:
            raise_for(err)
        ms = lib.uv_backend_timeout(self._raw)
        return -1.0 if ms < 0 else ms / 1000.0

    # -- configuration and metrics (uvffi.metrics) ------------------------

    def configure(self, option: int, value: Optional[int] = None) -> None:
        """``uv_loop_configure``: ``configure(uvffi.metrics.LOOP_BLOCK_SIGNAL, signum)`` or
        ``configure(uvffi.metrics.METRICS_IDLE_TIME)``. Loop thread only.
        A libuv too old for the option raises :class:`~uvffi.metrics.FeatureUnavailableError`."""
        from .metrics import configure

        configure(self, option, value)

    def block_signal(self, signum: int) -> None:
        """Block ``signum`` while the loop polls (``UV_LOOP_BLOCK_SIGNAL``; libuv
        accepts only ``SIGPROF``, other signals raise :class:`~uvffi.error.UVError` EINVAL)."""
        from .metrics import LOOP_BLOCK_SIGNAL, configure

        configure(self, LOOP_BLOCK_SIGNAL, signum)

    def enable_idle_time_metrics(self) -> None:
        """Start accumulating the time spent waiting in poll (``UV_METRICS_IDLE_TIME``),
        read by :meth:`metrics_idle_time`."""
        from .metrics import METRICS_IDLE_TIME, configure

        configure(self, METRICS_IDLE_TIME)

    def metrics_idle_time(self) -> int:
        """Nanoseconds the loop spent waiting in poll since :meth:`enable_idle_time_metrics`
        (``uv_metrics_idle_time``); 0 if never enabled."""
        from .metrics import idle_time

        return idle_time(self)

    def metrics_info(self) -> "LoopMetrics":
        """``uv_metrics_info``: a :class:`~uvffi.metrics.LoopMetrics` named tuple
        ``(loop_count, events, events_waiting)``; libuv >= 1.45."""
        from .metrics import info

        return info(self)

    # -- errors -----------------------------------------------------------

    def excepthook(self, typ: Type[BaseException], value: BaseException, tb: Optional[TracebackType]) -> None:
        """Called with ``(type, value, traceback)`` for an ``Exception`` raised by a callback.

        The default prints ``Unhandled exception in callback`` and the traceback to
        stderr, as pyuv's does. Assign another function of the same signature to
        ``loop.excepthook`` (or override it in a subclass) to change it; ``None``
        restores the default printing. A hook that raises an ``Exception`` gets its
        own traceback printed under ``Unhandled exception in excepthook``, followed
        by the callback's; one that raises a ``BaseException`` stops the loop and
        :meth:`run` re-raises it."""
        print("Unhandled exception in callback", file=sys.stderr)
        traceback.print_exception(typ, value, tb)

    def _handle_error(self, exc: BaseException) -> None:
        """Route an exception from a callback: excepthook, or stop and re-raise from run().

        For an ``Exception`` this follows pyuv's ``handle_uncaught_exception``: the hook
        is looked up with getattr (an AttributeError, or a hook that is ``None``, means
        the default printing); a lookup or a hook that fails with an ``Exception`` has
        that error printed, then the original is printed as unhandled."""
        if isinstance(exc, Exception):
            failure: Optional[tuple] = None  # (title, the lookup's or the hook's Exception)
            hook: Any = None
            try:
                hook = self.excepthook
            except AttributeError:
                pass
            except Exception as lookup_exc:
                failure = ("Exception while getting excepthook", lookup_exc)
            except BaseException as lookup_exc:
                exc = lookup_exc
            if hook is not None and isinstance(exc, Exception):
                try:
                    hook(type(exc), exc, exc.__traceback__)
                    return
                except Exception as hook_exc:
                    failure = ("Unhandled exception in excepthook", hook_exc)
                except BaseException as hook_exc:
                    exc = hook_exc
            if isinstance(exc, Exception):
                if failure is not None:
                    title, err = failure
                    print(title, file=sys.stderr)
                    # Inside the callback's except block the original is err's context:
                    # it is printed next, on its own, as pyuv does.
                    chain = not (err.__context__ is exc and err.__cause__ is None)
                    traceback.print_exception(type(err), err, err.__traceback__, chain=chain)
                    print(file=sys.stderr)
                Loop.excepthook(self, type(exc), exc, exc.__traceback__)
                return
        if self._pending_exc is None:
            self._pending_exc = exc
        if not self._closed:
            lib.uv_stop(self._raw)

    # -- threads ----------------------------------------------------------

    def call_soon_threadsafe(self, fn: Callable[..., Any], *args: Any) -> "Future[Any]":
        """Run ``fn(*args)`` on the loop's thread; safe from any thread.

        Returns a :class:`concurrent.futures.Future` with ``fn``'s result or exception.
        Calls from one thread run in the order made. One internal, unref'd async handle
        per loop wakes it (not listed in :attr:`handles`): it does not keep the loop
        alive, so calls queued while the loop is not running run when :meth:`run`
        starts. :meth:`close` cancels the futures of calls that never ran; on a closed
        loop this raises :class:`~uvffi.error.LoopClosedError`. See :mod:`uvffi.threadsafe`.
        """
        q = self._threadsafe  # the body of threadsafe.call_soon_threadsafe, one frame less
        return (q if q is not None else _queue_of(self)).submit(self, fn, args)

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
        and release the loop. A closed loop and its handles raise on use
        (:class:`~uvffi.error.LoopClosedError`, :class:`~uvffi.error.HandleClosedError`);
        closing again does nothing. ``RuntimeError`` while the loop runs (through this
        object or another wrapper of its ``uv_loop_t``), and for a loop whose
        :meth:`from_pointer` wrappers are still open: a refused close changes nothing.

        Once close() has begun the loop is *closing*: creating a handle on it raises
        :class:`~uvffi.error.LoopClosedError`, so a close or done callback cannot keep
        close() going for ever (queuing work still works). Every close callback runs,
        even after one raised a ``BaseException``; then close() waits for work queued in
        the thread pool. A ``BaseException`` pending then (a callback's, or Ctrl-C:
        on the main thread the wait watches the signal wakeup fd, as :meth:`run` does)
        ends the wait at once: close() raises it, and the loop stays open and closing
        with its work in flight; calling close() again finishes (the remaining
        done callbacks run then, each exactly once)."""
        self._close(True)

    def _close(self, interruptible: bool) -> None:
        if self._closed:
            return
        if self._running:
            raise RuntimeError("cannot close a running loop")
        self._release_wakeup()
        lp = self._lp
        if lp is None:
            raise RuntimeError(f"{type(self).__name__}.__init__ was not called")
        if not (PYPY and _get_ident() == _main_ident):
            self._close_steps(lp, interruptible, _uv_run)
            return
        # PyPy's main thread: as in _run_deferred, signal handlers wait during close's own
        # steps (a KeyboardInterrupt between them left the loop "running" for ever) and run
        # while the loop runs callbacks.
        deferred = _defer_signals()
        try:
            self._close_steps(lp, interruptible, _uv_run_callbacks)
        finally:
            if deferred:
                _undefer_signals()

    def _close_steps(self, lp: Any, interruptible: bool, run: Callable[[Any, int], int]) -> None:
        """close() once checked; ``run`` runs the loop where callbacks run."""
        err = lib.uvffi_loop_close_check(lp)
        if err:
            raise_for(err)
        _close_queue(self)  # refuse call_soon_threadsafe from now on, cancel what is queued
        self._running = True
        try:
            # First uvffi's user handles, until queued work has finished too: the
            # internal prepare handle must stay open meanwhile, because it is what
            # releases the GIL before a blocking poll, and a pool thread running a
            # work_cb needs the GIL (closing it first deadlocked close() with work
            # in flight). A done callback may queue work again, hence the loop (it
            # cannot create handles: the loop is closing). A wrapped loop
            # (from_pointer) is not ours to drain: non-blocking iterations run the
            # close callbacks of our handles without waiting for its owner's.
            raw = self._raw
            mode = RUN_DEFAULT if self._owned else RUN_NOWAIT
            watch = interruptible and mode != RUN_NOWAIT and _get_ident() == _main_ident
            while True:
                for request in list(self._requests):
                    request.cancel()
                lib.uvffi_loop_close_handles(lp, 0)
                r = self._run_with_wakeup(lp, mode) if watch else run(lp, mode)
                if r < 0:
                    raise_for(r)
                if not self.handles and not (self._owned and lib.uv_loop_alive(raw)):
                    break
                exc = self._pending_exc
                if exc is not None and not self.handles:  # only pool work is left
                    self._pending_exc = None
                    raise exc
            if self._owned and lib.uvffi_loop_foreign_handles(lp):
                raise UVError(lib.UV_EBUSY, "handles that C code made on this loop are still open: "
                                            "close them, then close() again")
            lib.uvffi_loop_close_handles(lp, 1)
            _uv_run(lp, mode)
        finally:
            self._running = False
        err = lib.uvffi_loop_free(lp)
        if err:
            raise_for(err)
        self._closed = True
        self._lp = self._raw = None
        self._kept = {}
        if self._wakeup is not None:
            for s in self._wakeup:
                s.close()
            self._wakeup = None
        exc = self._pending_exc
        if exc is not None:
            self._pending_exc = None
            raise exc

    def fork(self) -> None:
        """Reinitialise the loop's kernel state in a child process (``uv_loop_fork``).

        Not needed after :func:`os.fork`: uvffi registers ``os.register_at_fork`` and
        calls it for every open loop in the child. Call it yourself only when the
        process was forked behind Python's back (C code calling ``fork()``). libuv
        documents this as experimental; the thread-pool work libuv drops in the child
        completes there with ``UV_ECANCELED`` (at the child's next run).
        """
        err = lib.uv_loop_fork(self._live_raw())
        if err:
            raise_for(err)

    def __enter__(self: L) -> L:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def __del__(self) -> None:
        # Also how a loop that nothing but its own handles reaches is closed: C's
        # references to its active handles count as the loop's own for the garbage
        # collector (_c/loop_ops.c), so such a loop is garbage, and this closes it.
        try:
            if not self._closed and not self._running and not self._is_default:
                self._close(False)
        except Exception:
            pass

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("running" if self._running else "idle")
        return f"<{type(self).__name__} {state}{' default' if self._is_default else ''}>"


def _after_fork_in_child() -> None:
    """In a child process: every open loop gets its kernel state anew (``uv_loop_fork``)
    and its own signal wakeup socketpair (the parent's would take the child's Ctrl-C),
    and the work libuv's pool dropped completes as cancelled in the child's next run."""
    lib.uvffi_work_after_fork()
    seen = set()
    for loop in list(_live_loops):
        if loop._closed or loop._lp is None:
            continue
        wake = loop._wakeup
        if wake is not None:
            # the same fd numbers (the loop's poll watches one, Python's wakeup fd
            # may be the other), each now a socket of the child's own
            pair = socket.socketpair()
            for new, old in zip(pair, wake):
                new.setblocking(False)
                _os.dup2(new.fileno(), old.fileno(), inheritable=False)
                new.close()
        addr = int(ffi.cast("uintptr_t", loop._raw))
        if addr not in seen:  # a loop wrapped by from_pointer() is forked once
            seen.add(addr)
            lib.uv_loop_fork(loop._raw)
        lib.uvffi_loop_after_fork(loop._lp)


if hasattr(_os, "register_at_fork"):
    _os.register_at_fork(after_in_child=_after_fork_in_child)


# At the end: work.py and threadsafe.py need nothing from this module at import time; a
# local import in queue_work() or call_soon_threadsafe() costs an import statement per call.
from .requests.work import WorkRequest as _WorkRequest  # noqa: E402
from .threadsafe import close_queue as _close_queue  # noqa: E402
from .threadsafe import queue_of as _queue_of  # noqa: E402
from .threadsafe import run_batch as _run_batch  # noqa: E402

