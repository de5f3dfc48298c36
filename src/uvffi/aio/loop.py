"""The asyncio event loop on libuv: :class:`Loop`.

How it is built
---------------
:class:`Loop` subclasses :class:`asyncio.BaseEventLoop`, which keeps asyncio's own
ready queue (``_ready``), task factory, exception handler, debug mode, executor and the
high-level networking methods. Two pieces are this loop's own, with asyncio's semantics
(``call_soon`` is too, asyncio's steps in one frame):

- the timers: ``call_later`` and ``call_at`` put them in one of two places (asyncio's
  ``_scheduled`` stays empty): ``_timer_fifo``, a deque of the timers whose deadlines came
  in non-decreasing order (a timer goes there when its deadline is not before the last
  one's, or the deque is empty: the usual case, since ``call_later`` with one delay gives
  increasing deadlines), taken from its head with no comparison at all; and
  ``_timer_heap``, a heap of the others. The first timer is the earlier of the two heads.
  The deque is empty only when the heap is too (a deque emptied while the heap holds
  timers gets the heap's first), so an iteration with no timer tests the deque alone.
  Entries are, on CPython, ``(when, sequence number, TimerHandle)``, so the heap and the
  choice between the heads compare in C (TimerHandle's comparisons are Python methods)
  and timers with equal deadlines run in the order they were scheduled; on PyPy the
  TimerHandles, as asyncio does (its JIT compiles their comparisons; its generic tuple
  comparison took twice the time): there equal deadlines keep their order within the
  deque, and the deque's head goes before the heap's on a tie. Cancelled timers leave by
  asyncio's rule (from a head, or all at once when more than half of at least 100 are
  cancelled);
- the iteration, ``_run_once``, in asyncio's order: cancelled timers leave, libuv runs
  once, the timers due by then join the ready queue, and the callbacks ready at that
  point run (in debug mode each is timed and a slow one logged, as asyncio does).
  libuv runs in one of three ways, entered by one C call (``aio_run``, _c/aio_ops.c)
  on CPython while ``run_forever`` holds Python's signal wakeup fd, else by
  :meth:`uvffi.Loop.run`:

  - callbacks ready, the loop stopping, or the first timer already due:
    ``uv_run(UV_RUN_NOWAIT)``, I/O is polled without waiting; skipped when no
    referenced libuv handle or request but the loop's own wakeup is active (so an
    *unreferenced* raw uvffi handle on ``uv_loop`` runs only in iterations that poll);
  - a first timer in the future: a libuv timer armed for its delay, rounded *up* to
    libuv's 1 ms, then ``uv_run(UV_RUN_ONCE)``; the timer stays armed after the
    iteration, and is re-armed only when the first timer is another one; the loop then
    decides which of its timers are due (``when < loop.time() + clock resolution``), so
    a libuv wakeup that comes a little early only costs one more iteration and no
    callback runs early;
  - no timer: ``uv_run(UV_RUN_ONCE)`` with the libuv timer stopped: libuv waits until
    an event comes.

The loop's own libuv callbacks (fd readiness, the wakeup) do not run asyncio code
themselves: they append asyncio Handles to ``loop._ready``, which asyncio then runs in
its own order (the transports do the same, see below). ``_process_events`` is a no-op.
``time()`` is asyncio's ``time.monotonic()``, the clock libuv's ``uv_hrtime`` reads too
on Linux and macOS; ``_run_once`` calls ``time.monotonic`` itself unless a subclass or
the instance replaces ``time()``.

For the transports (uvffi/aio/stream.py, ...)
---------------------------------------------
- ``loop.uv_loop`` is the :class:`uvffi.Loop` to create uvffi handles on.
- From a uvffi callback, schedule asyncio work with ``loop._call_soon(cb, args, None)``
  (asyncio's internal, present on every supported version: no closed-loop or thread
  check, the cheapest way into the ready queue), or with ``loop.call_soon(cb, *args)``
  (public: checks the loop is open, and the thread in debug mode). Calling the
  protocol directly from the uvffi callback also works (the callback runs on the loop
  thread inside ``uv_run``), but it runs before the callbacks already queued.
- An ``Exception`` escaping a uvffi callback of a loop that :class:`Loop` created goes
  to ``loop.call_exception_handler`` (``uv_loop.excepthook`` is set to do that).
- ``loop._transports`` (fd -> transport, weak values) is what ``add_reader`` and the
  ``sock_*`` methods check, as asyncio's selector loop does: register a transport's
  fd there to get asyncio's "File descriptor ... is used by transport" RuntimeError.
- The delegations below (``_make_socket_transport``, ``_start_serving``, ...) import
  the transport modules lazily, so this module works before they exist.
"""

from __future__ import annotations

import asyncio
import contextvars
import importlib
import inspect
import itertools
import math
import signal
import socket
import sys
import threading
import time
import warnings
import weakref
from asyncio import base_events, events
from asyncio.log import logger as _logger
from collections import deque
from heapq import heapify, heappop, heappush
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Iterator, List, Optional, Tuple, Type, Union

from .._core import PYPY, C, c_methods, lib
from ..error import HandleClosedError, UVError
from ..handles.async_ import Async
from ..handles.timer import Timer
from ..loop import RUN_NOWAIT, RUN_ONCE
from ..loop import Loop as UVLoop
from .readers import FdWatchers, fileno_of
from .sock import _SockMethods

__all__ = ["Loop"]

_loop_active: Callable[[Any], int] = lib.uvffi_loop_active  # ref'd active handles + requests (+1 if closing)
_aio_run: Optional[Callable[[UVLoop, int], Any]] = C.get("aio_run")  # _c/aio_ops.c; None on PyPy
_KEYED = not PYPY  # timer entries: (when, seq, TimerHandle) on CPython, TimerHandles on PyPy
_MAX_WAIT: float = getattr(base_events, "MAXIMUM_SELECT_TIMEOUT", 24 * 3600)  # asyncio's cap on a wait
_MAX_TIMER_MS = int(_MAX_WAIT * 1000)
# asyncio's rule for dropping cancelled timers: more than this fraction of at least this many
_MIN_TIMERS: int = getattr(base_events, "_MIN_SCHEDULED_TIMER_HANDLES", 100)
_MIN_CANCELLED_FRACTION: float = getattr(base_events, "_MIN_CANCELLED_TIMER_HANDLES_FRACTION", 0.5)
_format_handle: Callable[[events.Handle], str] = getattr(base_events, "_format_handle", repr)
_NO_TIMER = math.inf  # _run_once's first deadline when there is no timer
_EXPIRED = float("-inf")  # _UVTimeout.armed once its timer fired: no asyncio deadline equals it


def _impl(name: str) -> Any:
    """A transport module of this package, imported at first use."""
    return importlib.import_module(f"{__package__}.{name}")


class _UVTimeout:
    """The libuv timer that bounds an iteration's wait, armed for asyncio's first timer."""

    def __init__(self, loop: "Loop") -> None:
        self._uv = loop.uv_loop
        self._timer = Timer(loop.uv_loop)
        self._timer._uvffi_internal = True  # type: ignore[attr-defined]  # not listed in uv_loop.handles
        self._timer.ref = False  # the wait it bounds is the waker's; alone, it keeps nothing alive
        # The asyncio deadline (``TimerHandle.when()``) the libuv timer is armed for, None
        # when it is stopped, _EXPIRED once it fired (it repeats until re-armed or stopped):
        # an iteration waiting for the same first timer as the one before leaves the timer
        # as it is (no stop, no start).
        self.armed: Optional[float] = None

    def _on_timer(self, timer: Timer) -> None:
        """The timer's callback: it ended the wait. It repeats until re-armed or
        stopped (``_EXPIRED`` matches no deadline)."""
        self.armed = _EXPIRED

    def arm(self, when: float, timeout: float) -> None:
        """Arm the timer to end a wait ``timeout`` seconds from now, for the asyncio
        deadline ``when``. Rounded up: libuv's timers count whole milliseconds and must
        not end the wait before asyncio's timer is due. Repeating: libuv before 1.45
        runs due timers before the poll too, and a one-shot timer that came due there
        (the clock ticked a millisecond) would leave the poll with no timeout at all; a
        repeating one bounds it by another ``ms``."""
        ms = min(math.ceil(timeout * 1000.0), _MAX_TIMER_MS)
        self._uv.update_time()  # the timer counts from now, not from the iteration's start
        self._timer._start_ms(self._on_timer, ms, ms)
        self.armed = when

    def disarm(self) -> None:
        """Stop the timer (a wait with no asyncio timer)."""
        self.armed = None
        if not self._timer.closed:
            self._timer.stop()

    def close(self) -> None:
        """Close the timer."""
        if not self._timer.closed:
            self._timer.close()


def _run_py(uv: UVLoop, mode: int) -> Any:
    """How an iteration enters libuv where the C entry (``aio_run``) is not used: PyPy,
    ``UVFFI_NO_CBASE=1``, or a run that does not hold the signal wakeup fd (its blocking
    runs then set it, in :meth:`uvffi.Loop.run`). As ``aio_run``, a non-blocking run with
    nothing of libuv's but the loop's own wakeup active is skipped: it could only find
    the wakeup, whose callbacks are in the ready queue already (on PyPy a run costs
    about 10 µs: a ``call_soon`` chain would pay it per callback). A blocking run reads
    libuv's clock first, as ``aio_run`` does: libuv computes the wait from it, last read
    at the end of the previous run, and a timer kept armed since would end it late by
    the time the callbacks took meanwhile."""
    if mode == RUN_NOWAIT and uv._scheduler is None and uv._threadsafe is None and _loop_active(uv._lp) <= 1:
        return False
    if mode == RUN_ONCE:
        uv.update_time()  # the wait counts from now (see _UVTimeout: the timer may be kept armed)
    return uv.run(mode)


@c_methods("AioLoopOps")  # CPython: _run_once's plain case in C (_c/aio_ops.c)
class Loop(_SockMethods, base_events.BaseEventLoop):
    """An :class:`asyncio.AbstractEventLoop` that runs on a libuv loop.

    ``Loop()`` creates a :class:`uvffi.Loop` of its own, closed by :meth:`close`.
    ``Loop(uv_loop)`` runs on an existing one (``uvffi.Loop.default_loop()``, or a
    loop shared with raw uvffi handles): :meth:`close` then closes only the handles it
    made, and the uvffi loop stays open for its owner.

    :attr:`uv_loop` is the :class:`uvffi.Loop`: uvffi handles made on it (a
    :class:`uvffi.Timer`, :class:`uvffi.Check`, a :class:`uvffi.TCP`, ...) run while
    the asyncio loop runs, between and around coroutines.

    Everything asyncio's :class:`~asyncio.BaseEventLoop` offers is here with its
    semantics (call_soon/call_later/call_at ordering, run_until_complete, stop,
    close, the exception handler, debug mode, executors, create_connection,
    create_server, ...); libuv does the waiting and the I/O: fd watching
    (:meth:`add_reader`, ...) on :class:`uvffi.Poll`, the cross-thread wakeup of
    ``call_soon_threadsafe`` on :class:`uvffi.Async`, name resolution on
    :mod:`uvffi.dns` (libuv's thread pool), signals through Python's
    :func:`signal.signal` with the loop woken by uvffi's signal wakeup.
    """

    uv_loop: UVLoop
    """The :class:`uvffi.Loop` this asyncio loop runs on."""

    # What the C _run_once (AioLoopOps) reads of this module's constants.
    _MIN_TIMERS = _MIN_TIMERS
    _MIN_CANCELLED_FRACTION = _MIN_CANCELLED_FRACTION
    _MAX_WAIT = _MAX_WAIT

    if TYPE_CHECKING:  # asyncio.BaseEventLoop's internals used here (typeshed leaves them out)
        _ready: Deque[events.Handle]
        _scheduled: List[events.TimerHandle]
        _closed: bool
        _debug: bool

        _stopping: bool
        _clock_resolution: float
        _timer_cancelled_count: int
        _current_handle: Optional[events.Handle]

        def _check_closed(self) -> None: ...

        def _check_thread(self) -> None: ...

        def _check_callback(self, callback: Any, method: str) -> None: ...

        def _add_callback_signalsafe(self, handle: events.Handle) -> None: ...

    def __init__(self, uv_loop: Optional[UVLoop] = None) -> None:
        if uv_loop is not None and not isinstance(uv_loop, UVLoop):
            raise TypeError(f"uv_loop must be a uvffi.Loop or None, not {type(uv_loop).__name__}")
        if uv_loop is not None and uv_loop.closed:
            raise RuntimeError("the uvffi loop is closed")
        owned = uv_loop is None
        uv = UVLoop() if uv_loop is None else uv_loop  # before asyncio's part: a failure leaves nothing open
        super().__init__()
        # asyncio's timers (see the module's docstring): those whose deadlines came in
        # non-decreasing order in a deque, taken from its head (no heap, no comparison: a
        # heappop of the call_later row's 20,000 timers cost PyPy ~15 Python-level
        # comparisons), the others in a heap. Entries on CPython (when, sequence number,
        # TimerHandle), compared in C (TimerHandle's own comparisons are Python methods),
        # equal deadlines in the order they were scheduled; on PyPy the TimerHandles
        # themselves, whose comparisons its JIT compiles (its generic tuple comparison took
        # twice the time). asyncio's ``_scheduled`` stays empty.
        self._timer_fifo: Deque[Any] = deque()  # Any: TimerHandle's private attributes
        self._timer_heap: List[Any] = []
        self._timer_seq: Iterator[int] = itertools.count()
        # How _run_once enters libuv (run_forever picks aio_run while it holds the signal
        # wakeup fd) and reads the clock: time.monotonic while time() is asyncio's, else
        # (None) time() itself.
        self._uv_entry: Callable[[UVLoop, int], Any] = _run_py
        self._clock: Optional[Callable[[], float]] = (
            time.monotonic if type(self).time is base_events.BaseEventLoop.time else None)
        self.uv_loop = uv
        self._uv_owned = owned
        self._transports: "weakref.WeakValueDictionary[int, Any]" = weakref.WeakValueDictionary()
        self._fds = FdWatchers(self)
        self._signal_handlers: Dict[int, events.Handle] = {}
        self._signal_wakeup: Optional[Tuple[socket.socket, socket.socket, Any]] = None
        try:
            # The wakeup of call_soon_threadsafe (any thread). Referenced while the loop
            # runs, so a wait with nothing else to wait for blocks until it comes; on a
            # loop that is not ours it is unreferenced between iterations, so the owner's
            # own uv_loop.run() still ends when its handles are done.
            self._waker = Async(uv)
            self._waker._uvffi_internal = True  # type: ignore[attr-defined]  # not listed in uv_loop.handles
            self._waker_unref = not owned
            if not owned:
                self._waker.ref = False
            self._timeout = _UVTimeout(self)
            # Where asyncio's selector loops keep their selector (test_asyncio's messages
            # name its class): here what bounds the wait.
            self._selector = self._timeout
            # The signal wakeup's socket pair (run_forever watches it), made now: made at the
            # first run, it could take the number of an fd closed behind add_reader's back,
            # whose Poll the next sync() would then start on our socket (UV_EEXIST).
            uv._wakeup_pair()
        except BaseException:
            # A handle could not be made: close what was, and say closed (no unclosed-loop warning)
            self._closed = True
            waker = getattr(self, "_waker", None)
            if waker is not None and not waker.closed:
                waker.close()
            if owned:
                uv.close()
            raise
        if owned:
            uv.excepthook = self._uv_excepthook  # type: ignore[method-assign]

    # -- libuv glue ---------------------------------------------------------

    def _uv_excepthook(self, typ: Type[BaseException], value: BaseException,
                       tb: Optional[TracebackType]) -> None:
        """An Exception escaping a uvffi callback goes to the asyncio exception handler."""
        self.call_exception_handler({"message": "Exception in a uvffi callback", "exception": value})

    def _write_to_self(self) -> None:
        """Wake the loop from any thread (asyncio's call_soon_threadsafe calls this)."""
        waker = self._waker
        try:
            waker.send()
        except (HandleClosedError, UVError):
            pass  # closed: nothing left to wake

    def _process_events(self, event_list: Any) -> None:
        """Nothing to do: libuv's callbacks have queued their Handles already."""

    def run_forever(self) -> None:
        """Run until ``stop()`` (asyncio's ``run_forever``). Python's signal wakeup
        fd is set to the uvffi loop's wakeup socket once for the whole run (on the
        main thread), not around each libuv run of each iteration; the one it
        replaced is set back when the run ends."""
        if self._closed or self.is_running():
            super().run_forever()  # asyncio's RuntimeError
            return
        uv = self.uv_loop
        held = uv._hold_wakeup()
        # Each iteration's run: in C (aio_run) when Python's signal wakeup fd is held, or
        # off the main thread (no signal reaches a blocked run there); else uvffi's run.
        if _aio_run is not None and (held or threading.current_thread() is not threading.main_thread()):
            self._uv_entry = _aio_run
        clock = self._clock
        if "time" in self.__dict__:  # replaced on the instance: the loop reads it too
            self._clock = None
        try:
            super().run_forever()
        finally:
            self._uv_entry = _run_py
            self._clock = clock
            if held:
                uv._release_wakeup()

    # -- one iteration --------------------------------------------------------

    def call_soon(self, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                  context: Optional[contextvars.Context] = None) -> events.Handle:
        """Call ``callback(*args)`` in the next iteration, after the callbacks already
        queued (asyncio's ``call_soon``, in one frame): returns the
        :class:`asyncio.Handle`."""
        if self._closed:
            self._check_closed()  # asyncio's RuntimeError
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_soon")
        handle: Any = events.Handle(callback, args, self, context)
        if handle._source_traceback:
            del handle._source_traceback[-1]
        self._ready.append(handle)
        return handle

    def call_later(self, delay: float, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                   context: Optional[contextvars.Context] = None) -> events.TimerHandle:
        """Call ``callback(*args)`` in ``delay`` seconds (asyncio's ``call_later``):
        returns the :class:`asyncio.TimerHandle`. On CPython timers with equal
        deadlines run in the order they were scheduled (on PyPy too when scheduled one
        after the other)."""
        if delay is None:
            raise TypeError("delay must not be None")
        clock = self._clock
        when = (clock() if clock is not None and "time" not in self.__dict__ else self.time()) + delay
        if self._closed:
            self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_later")
        timer: Any = events.TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        entry = (when, next(self._timer_seq), timer) if _KEYED else timer
        fifo = self._timer_fifo
        if not fifo or when >= (fifo[-1][0] if _KEYED else fifo[-1]._when):
            fifo.append(entry)  # in deadline order: the usual case (one delay, a clock that only grows)
        else:
            heappush(self._timer_heap, entry)
        timer._scheduled = True
        return timer

    def call_at(self, when: float, callback: Callable[..., Any], *args: Any,  # type: ignore[override]
                context: Optional[contextvars.Context] = None) -> events.TimerHandle:
        """Call ``callback(*args)`` at loop time ``when`` (asyncio's ``call_at``):
        returns the :class:`asyncio.TimerHandle`. On CPython timers with equal
        deadlines run in the order they were scheduled (on PyPy too when scheduled one
        after the other). :meth:`call_later` repeats its
        last steps rather than calling it: one Python frame per timer."""
        if when is None:
            raise TypeError("when cannot be None")
        if self._closed:
            self._check_closed()
        if self._debug:
            self._check_thread()
            self._check_callback(callback, "call_at")
        timer: Any = events.TimerHandle(when, callback, args, self, context)
        if timer._source_traceback:
            del timer._source_traceback[-1]
        entry = (when, next(self._timer_seq), timer) if _KEYED else timer
        fifo = self._timer_fifo
        if not fifo or when >= (fifo[-1][0] if _KEYED else fifo[-1]._when):
            fifo.append(entry)  # in deadline order: the usual case (one delay, a clock that only grows)
        else:
            heappush(self._timer_heap, entry)
        timer._scheduled = True
        return timer

    def _drop_cancelled_timers(self) -> None:
        """Rebuild the timer heap and deque, in place, without their cancelled timers
        (asyncio does this when more than half of at least 100 timers are cancelled)."""
        heap = self._timer_heap
        fifo = self._timer_fifo
        for entries in (heap, fifo):
            kept = []
            for entry in entries:
                timer = entry[2] if _KEYED else entry
                if timer._cancelled:
                    timer._scheduled = False
                else:
                    kept.append(entry)
            entries.clear()
            entries.extend(kept)  # the deque stays in deadline order; the heap is heapified below
        heapify(heap)
        self._timer_cancelled_count = 0
        if heap and not fifo:
            fifo.append(heappop(heap))

    def _first_timer_when(self) -> float:
        """The first timer's deadline (``_NO_TIMER`` when there is none), after cancelled timers
        left by asyncio's rule: all of them when more than half of at least 100 are
        cancelled, else those at the heads of the heap and the deque. As everywhere, the
        deque is left empty only if the heap is too."""
        heap = self._timer_heap
        fifo = self._timer_fifo
        count = len(heap) + len(fifo)
        if count > _MIN_TIMERS and self._timer_cancelled_count / count > _MIN_CANCELLED_FRACTION:
            self._drop_cancelled_timers()
        while True:
            while heap:
                first = heap[0][2] if _KEYED else heap[0]
                if not first._cancelled:
                    break
                self._timer_cancelled_count -= 1
                heappop(heap)
                first._scheduled = False
            while fifo:
                first = fifo[0][2] if _KEYED else fifo[0]
                if not first._cancelled:
                    break
                self._timer_cancelled_count -= 1
                fifo.popleft()
                first._scheduled = False
            if fifo or not heap:
                break
            fifo.append(heappop(heap))  # the heap's first (not cancelled) starts the deque again
        if not fifo:
            return _NO_TIMER
        when: float = fifo[0][0] if _KEYED else fifo[0]._when
        if heap:
            other: float = heap[0][0] if _KEYED else heap[0]._when
            if other < when:
                return other
        return when

    def _ready_due_timers(self, end: float) -> None:
        """Move the timers due before ``end`` to the ready queue, in deadline order, from
        the heap and the deque both (the earlier head first; on a tie, on CPython the one
        scheduled first, on PyPy the deque's). A deque left empty with timers in the heap
        gets the heap's first."""
        heap = self._timer_heap
        fifo = self._timer_fifo
        ready = self._ready
        while heap:
            entry = heap[0]
            if fifo:
                head = fifo[0]
                if not (entry < head if _KEYED else entry._when < head._when):
                    timer = head[2] if _KEYED else head
                    if timer._when >= end:
                        return
                    fifo.popleft()
                    timer._scheduled = False
                    ready.append(timer)
                    continue
            timer = entry[2] if _KEYED else entry
            if timer._when >= end:
                if not fifo:
                    fifo.append(heappop(heap))
                return
            heappop(heap)
            timer._scheduled = False
            ready.append(timer)
        while fifo:
            timer = fifo[0][2] if _KEYED else fifo[0]
            if timer._when >= end:
                return
            fifo.popleft()
            timer._scheduled = False
            ready.append(timer)

    def _run_once(self) -> None:
        """One iteration, in asyncio's order: cancelled timers leave the timers' heads;
        libuv runs once (without waiting if callbacks are ready or the loop is stopping,
        else until an event or the first timer's deadline, whose libuv timer is
        re-armed only when that timer changes); the timers now due join the ready
        queue; then the callbacks that were ready at that point run, in order (those
        they schedule wait for the next iteration). One Python frame: libuv is
        entered by one C call (``aio_run``) on CPython. On CPython (unless
        ``UVFFI_NO_CBASE=1``) ``AioLoopOps._run_once`` (_c/aio_ops.c), first in the MRO,
        does these steps in C when ``run_forever`` enters libuv by ``aio_run`` and every
        timer is in the deque (the heap empty), and hands any other case to this method."""
        fifo = self._timer_fifo
        ready = self._ready
        # The first deadline, after the cancelled timers at the heads left (asyncio's rule).
        # The deque is empty only when there is no timer at all (see _ready_due_timers): one
        # test in an iteration with no timer; inline in the usual case (a few timers, all in
        # the deque, the first not cancelled).
        if fifo:
            if self._timer_heap or len(fifo) > _MIN_TIMERS or (fifo[0][2] if _KEYED else fifo[0])._cancelled:
                first_when = self._first_timer_when()
            else:
                first_when = fifo[0][0] if _KEYED else fifo[0]._when
        else:
            first_when = _NO_TIMER
        fds = self._fds
        if fds._dirty:
            fds.sync()
        clock = self._clock or self.time
        uv = self.uv_loop
        unref = self._waker_unref
        if unref:
            self._waker.ref = True  # the wait is the waker's while the loop runs
        try:
            if ready or self._stopping:
                mode = RUN_NOWAIT  # the timer may stay armed: unreferenced, it costs nothing here
            elif first_when != _NO_TIMER:
                when = first_when
                timeout = when - clock()
                if timeout <= 0:
                    mode = RUN_NOWAIT
                else:
                    mode = RUN_ONCE
                    if when != self._timeout.armed:
                        self._timeout.arm(when, min(timeout, _MAX_WAIT))
            else:
                mode = RUN_ONCE
                if self._timeout.armed is not None:
                    self._timeout.disarm()
            self._uv_entry(uv, mode)
        finally:
            if unref and not self._waker.closed:
                self._waker.ref = False
        if fifo:
            self._ready_due_timers(clock() + self._clock_resolution)
        todo = len(ready)
        if self._debug:
            self._run_ready_debug(todo)
            return
        popleft = ready.popleft
        handle: Optional[events.Handle] = None
        while todo:
            todo -= 1
            handle = popleft()
            if not handle._cancelled:
                handle._run()
        handle = None  # no reference to the last callback kept

    def _run_ready_debug(self, todo: int) -> None:
        """Run ``todo`` ready callbacks in debug mode: each one is the loop's current
        handle while it runs, and one that runs ``slow_callback_duration`` or longer
        is logged, as asyncio's debug mode does."""
        ready = self._ready
        for _ in range(todo):
            handle = ready.popleft()
            if handle._cancelled:
                continue
            try:
                self._current_handle = handle
                t0 = self.time()
                handle._run()
                dt = self.time() - t0
                if dt >= self.slow_callback_duration:
                    _logger.warning("Executing %s took %.3f seconds", _format_handle(handle), dt)
            finally:
                self._current_handle = None

    # -- closing ------------------------------------------------------------

    def close(self) -> None:
        """Close the loop: asyncio's part (the queues are cleared, the default
        executor is shut down without waiting), then libuv's: the fd watchers, the
        wakeup and the timer are closed, and a uvffi loop that this loop created is
        closed with every handle on it. Idempotent; ``RuntimeError`` while running."""
        if self.is_running():
            raise RuntimeError("Cannot close a running event loop")
        if self._closed:
            return
        super().close()
        for entries in (self._timer_heap, self._timer_fifo):
            for entry in entries:
                (entry[2] if _KEYED else entry)._scheduled = False
            entries.clear()
        for sig in list(self._signal_handlers):
            try:
                self.remove_signal_handler(sig)
            except (RuntimeError, ValueError, OSError):
                pass  # another thread (no signal.signal there) or a signal that cannot be restored
        self._close_signal_wakeup()
        uv = self.uv_loop
        if not uv.closed:
            self._fds.close()
            self._timeout.close()
            if not self._waker.closed:
                self._waker.close()
            if self._uv_owned:
                uv.close()
            else:
                # Not ours to close: one non-blocking iteration runs our handles' close callbacks.
                try:
                    uv.run(RUN_NOWAIT)
                except RuntimeError:
                    pass  # the owner runs it right now (we were called from its callback)
        # No reference cycle left through the loop (asyncio's closed loop is in none
        # either): the fd table lets go of it, and so does the closed uvffi loop's
        # excepthook. Code that drops its last reference to a closed loop (anyio's
        # test_asyncio_run_does_not_leak_event_loop) sees it freed then, not at the next
        # collection.
        self._fds._loop = None
        if uv.closed and vars(uv).get("excepthook") == self._uv_excepthook:
            del uv.excepthook

    def __del__(self, _warn: Any = warnings.warn) -> None:
        if not getattr(self, "_closed", True):
            _warn(f"unclosed event loop {self!r}", ResourceWarning, source=self)
            if not self.is_running():
                try:
                    self.close()
                except Exception:
                    pass

    # -- fd watching (uvffi.Poll) -------------------------------------------

    def _ensure_fd_no_transport(self, fd: Any) -> None:
        """RuntimeError if a transport registered in ``_transports`` owns ``fd``;
        ValueError for an object with no usable ``fileno()``. A closed file object
        (``fileno()`` -1) is no transport's."""
        if not isinstance(fd, int):
            try:
                if int(fd.fileno()) < 0:
                    return
            except (AttributeError, TypeError, ValueError):
                raise ValueError(f"Invalid file object: {fd!r}") from None
        fileno = fileno_of(fd)
        transport = self._transports.get(fileno)
        if transport is not None and not transport.is_closing():
            raise RuntimeError(f"File descriptor {fd!r} is used by transport {transport!r}")

    def _add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> events.Handle:
        self._check_closed()
        return self._fds.add(fd, False, callback, args)

    def _add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> events.Handle:
        self._check_closed()
        return self._fds.add(fd, True, callback, args)

    def _remove_reader(self, fd: Any) -> bool:
        if self._closed:
            return False
        return self._fds.remove(fd, False)

    def _remove_writer(self, fd: Any) -> bool:
        if self._closed:
            return False
        return self._fds.remove(fd, True)

    def add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:  # type: ignore[override]
        """Call ``callback(*args)`` whenever ``fd`` (an int or an object with
        ``fileno()``) is readable; replaces the fd's previous reader."""
        self._ensure_fd_no_transport(fd)
        self._add_reader(fd, callback, *args)

    def remove_reader(self, fd: Any) -> bool:
        """Stop watching ``fd`` for reading; True if it had a reader."""
        self._ensure_fd_no_transport(fd)
        return self._remove_reader(fd)

    def add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> None:  # type: ignore[override]
        """Call ``callback(*args)`` whenever ``fd`` is writable; replaces the fd's
        previous writer."""
        self._ensure_fd_no_transport(fd)
        self._add_writer(fd, callback, *args)

    def remove_writer(self, fd: Any) -> bool:
        """Stop watching ``fd`` for writing; True if it had a writer."""
        self._ensure_fd_no_transport(fd)
        return self._remove_writer(fd)

    # -- signals ------------------------------------------------------------

    def _check_signal(self, sig: Any) -> None:
        if not isinstance(sig, int):
            raise TypeError(f"sig must be an int, not {sig!r}")
        if sig not in signal.valid_signals():
            raise ValueError(f"invalid signal number {sig}")

    def add_signal_handler(  # type: ignore[override]
            self, sig: int, callback: Callable[..., Any], *args: Any) -> None:
        """Run ``callback(*args)`` in the loop when signal ``sig`` arrives.

        As asyncio's Unix loop: ``TypeError`` for a coroutine function, ``ValueError``
        for an invalid signal number, ``RuntimeError`` off the main thread and for a
        signal that cannot be caught (SIGKILL, SIGSTOP). Built on :func:`signal.signal`
        (not ``uv_signal_t``, which resets a signal to SIG_DFL when its last watcher
        stops): the Python-level handler queues the callback; while the loop waits,
        uvffi's signal wakeup fd wakes it, and between waits the loop's own wakeup
        socket (Python's wakeup fd while handlers are installed) does."""
        # inspect's test: asyncio.iscoroutinefunction is deprecated from Python 3.14
        if asyncio.iscoroutine(callback) or inspect.iscoroutinefunction(callback):
            raise TypeError("coroutines cannot be used with add_signal_handler()")
        self._check_signal(sig)
        self._check_closed()
        if threading.current_thread() is not threading.main_thread():
            raise RuntimeError("add_signal_handler() works only in the main thread")
        self._open_signal_wakeup()
        handle = events.Handle(callback, args, self, None)
        self._signal_handlers[sig] = handle
        try:
            signal.signal(sig, self._on_signal)
            signal.siginterrupt(sig, False)
        except (OSError, ValueError) as exc:
            del self._signal_handlers[sig]
            if not self._signal_handlers:
                self._close_signal_wakeup()
            if isinstance(exc, ValueError) or exc.errno == 22:  # EINVAL: SIGKILL, SIGSTOP
                raise RuntimeError(f"sig {sig} cannot be caught") from None
            raise

    def _on_signal(self, signum: int, frame: Any) -> None:
        """The Python-level handler: queue the loop's callback and wake the loop."""
        handle = self._signal_handlers.get(signum)
        if handle is None:
            return
        if handle._cancelled:
            self.remove_signal_handler(signum)
        else:
            self._add_callback_signalsafe(handle)

    def remove_signal_handler(self, sig: int) -> bool:
        """Remove the handler of ``sig`` and restore the default disposition
        (:func:`signal.default_int_handler` for SIGINT); True if there was one."""
        self._check_signal(sig)
        try:
            del self._signal_handlers[sig]
        except KeyError:
            return False
        handler: Any = signal.default_int_handler if sig == signal.SIGINT else signal.SIG_DFL
        try:
            signal.signal(sig, handler)
        except OSError as exc:
            if exc.errno == 22:
                raise RuntimeError(f"sig {sig} cannot be caught") from None
            raise
        if not self._signal_handlers:
            self._close_signal_wakeup()
        return True

    def _open_signal_wakeup(self) -> None:
        """Python's signal wakeup fd, set to a socket a Poll of this loop watches, for
        signals that land between two iterations (uvffi's run sets its own wakeup fd
        only while it may block). Set once, while signal handlers are installed."""
        if self._signal_wakeup is not None:
            return
        rsock, wsock = socket.socketpair()
        rsock.setblocking(False)
        wsock.setblocking(False)
        try:
            previous = signal.set_wakeup_fd(wsock.fileno(), warn_on_full_buffer=False)
        except (ValueError, OSError) as exc:
            rsock.close()
            wsock.close()
            raise RuntimeError(str(exc)) from None
        self._fds.add(rsock, False, self._drain_signal_wakeup, (rsock,))
        self._signal_wakeup = (rsock, wsock, previous)

    @staticmethod
    def _drain_signal_wakeup(rsock: socket.socket) -> None:
        try:
            while rsock.recv(4096):
                pass
        except (BlockingIOError, InterruptedError, OSError):
            pass

    def _close_signal_wakeup(self) -> None:
        wake = self._signal_wakeup
        if wake is None:
            return
        rsock, wsock, previous = wake
        self._signal_wakeup = None
        try:
            current = signal.set_wakeup_fd(previous)
            if current != wsock.fileno():  # someone set another wakeup fd since: theirs stays
                signal.set_wakeup_fd(current)
        except (ValueError, OSError):
            pass
        self._fds.remove(rsock, False)
        rsock.close()
        wsock.close()

    # -- name resolution (uvffi.dns, libuv's thread pool) -------------------

    async def getaddrinfo(self, host: Union[bytes, str, None], port: Union[bytes, str, int, None], *,
                          family: int = 0, type: int = 0, proto: int = 0, flags: int = 0
                          ) -> List[Any]:
        """``socket.getaddrinfo`` run by libuv (``uv_getaddrinfo`` in its thread
        pool): a list of ``(family, type, proto, canonname, sockaddr)`` with
        :class:`socket.AddressFamily` and :class:`socket.SocketKind` members, as
        asyncio returns; :class:`socket.gaierror` on failure."""
        from .dns import getaddrinfo

        return await getaddrinfo(self, host, port, family, type, proto, flags)

    async def getnameinfo(self, sockaddr: Union[Tuple[str, int], Tuple[str, int, int, int]],
                          flags: int = 0) -> Tuple[str, str]:
        """``socket.getnameinfo`` run by libuv (``uv_getnameinfo`` in its thread pool):
        ``(host, service)``."""
        from .dns import getnameinfo

        return await getnameinfo(self, sockaddr, flags)

    # -- transports (uvffi/aio/stream.py, datagram.py, pipes.py, subprocess.py,
    #    server.py, unix.py: the aio-transports branch) ----------------------

    def _make_socket_transport(self, sock: socket.socket, protocol: Any, waiter: Any = None, extra: Any = None,
                               server: Any = None) -> Any:
        return _impl("stream").make_socket_transport(self, sock, protocol, waiter, extra, server)

    def _make_ssl_transport(self, rawsock: socket.socket, protocol: Any, sslcontext: Any, waiter: Any = None, *,
                            server_side: bool = False, server_hostname: Optional[str] = None, extra: Any = None,
                            server: Any = None, ssl_handshake_timeout: Optional[float] = None,
                            ssl_shutdown_timeout: Optional[float] = None, call_connection_made: bool = True) -> Any:
        return _impl("stream").make_ssl_transport(
            self, rawsock, protocol, sslcontext, waiter, server_side=server_side,
            server_hostname=server_hostname, extra=extra, server=server,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
            call_connection_made=call_connection_made)

    def _make_datagram_transport(self, sock: socket.socket, protocol: Any, address: Any = None, waiter: Any = None,
                                 extra: Any = None) -> Any:
        return _impl("datagram").make_datagram_transport(self, sock, protocol, address, waiter, extra)

    def _make_read_pipe_transport(self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None) -> Any:
        return _impl("pipes").make_read_pipe_transport(self, pipe, protocol, waiter, extra)

    def _make_write_pipe_transport(self, pipe: Any, protocol: Any, waiter: Any = None, extra: Any = None) -> Any:
        return _impl("pipes").make_write_pipe_transport(self, pipe, protocol, waiter, extra)

    async def _make_subprocess_transport(self, protocol: Any, args: Any, shell: bool, stdin: Any, stdout: Any,
                                         stderr: Any, bufsize: int, extra: Any = None, **kwargs: Any) -> Any:
        return await _impl("subprocess").make_subprocess_transport(
            self, protocol, args, shell, stdin, stdout, stderr, bufsize, extra, **kwargs)

    def _start_serving(self, protocol_factory: Any, sock: socket.socket, sslcontext: Any = None, server: Any = None,
                       backlog: int = 100, ssl_handshake_timeout: Optional[float] = None,
                       ssl_shutdown_timeout: Optional[float] = None) -> Any:
        return _impl("server").start_serving(self, protocol_factory, sock, sslcontext, server, backlog,
                                             ssl_handshake_timeout, ssl_shutdown_timeout)

    def _stop_serving(self, sock: socket.socket) -> Any:
        return _impl("server").stop_serving(self, sock)

    async def _sendfile_native(self, transp: Any, file: Any, offset: int, count: Optional[int]) -> int:
        """``loop.sendfile()``'s zero-copy path: ``os.sendfile`` to a stream transport's fd."""
        return int(await _impl("stream").sendfile_native(self, transp, file, offset, count))

    async def create_unix_connection(
            self, protocol_factory: Any, path: Any = None, *, ssl: Any = None,
            sock: Optional[socket.socket] = None, server_hostname: Optional[str] = None,
            ssl_handshake_timeout: Optional[float] = None, ssl_shutdown_timeout: Optional[float] = None,
            **kwargs: Any) -> Any:
        """A Unix domain socket connection: ``(transport, protocol)``. Keywords newer
        Pythons may add are passed on as given."""
        return await _impl("unix").create_unix_connection(
            self, protocol_factory, path, ssl=ssl, sock=sock, server_hostname=server_hostname,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout, **kwargs)

    async def create_unix_server(
            self, protocol_factory: Any, path: Any = None, *, sock: Optional[socket.socket] = None,
            backlog: int = 100, ssl: Any = None, ssl_handshake_timeout: Optional[float] = None,
            ssl_shutdown_timeout: Optional[float] = None, start_serving: bool = True, **kwargs: Any) -> Any:
        """A Unix domain socket server: an :class:`asyncio.Server`. Keywords newer
        Pythons add (3.13's ``cleanup_socket``) are passed on as given."""
        return await _impl("unix").create_unix_server(
            self, protocol_factory, path, sock=sock, backlog=backlog, ssl=ssl,
            ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
            start_serving=start_serving, **kwargs)


if sys.platform == "win32":  # pragma: no cover - uvffi.aio is for Unix
    raise ImportError("uvffi.aio runs on Unix only")
