"""Node's timers on a libuv loop: ``set_timeout``, ``set_interval``, ``set_immediate``,
``next_tick`` and the ``clear_*`` functions, with Node's ordering (seed 003).

- **Timeouts and intervals** run in the *timers* phase: each :class:`Timeout`
  owns one libuv timer. Delays are in **milliseconds**, as in Node; a delay
  below 1 (or NaN) becomes 1 ms, as in Node.
- **Immediates** run in the *check* phase, right after poll: one Check handle
  per loop runs the immediate queue (the batch present when the phase starts;
  immediates queued meanwhile wait for the next iteration). While referenced
  immediates are pending an Idle handle is active, so poll does not block and
  the loop stays alive; the Check handle itself is unref'd.
- **Next-tick callbacks** run right after the callback that queued them returns,
  before any other callback (every uvffi callback: timers, check/prepare/idle,
  async, signals, ``queue_work`` completions, close callbacks, immediates,
  ``call_soon_threadsafe`` calls). The C trampoline tests a per-loop flag after
  each callback and drains the queue only when it is set. Ticks queued outside
  any callback run when ``loop.run()`` starts, before the loop's first phase.
- So, from a callback that runs in the poll phase (an I/O or ``queue_work``
  completion), ``set_immediate`` always runs before ``set_timeout(cb, 0)``.

Everything here must be called on the loop's thread (or while the loop is not
running); ``loop=None`` means :meth:`Loop.default_loop`.
"""

from __future__ import annotations

import math
from collections import deque
from typing import Any, Callable, Deque, Optional, Tuple

from ._core import lib, set_hook
from .error import LoopClosedError, raise_for
from .handles.loop_watchers import Check, Idle
from .handles.timer import Timer
from .loop import Loop

__all__ = [
    "Timeout", "Immediate", "set_timeout", "set_interval", "set_immediate", "next_tick",
    "clear_timeout", "clear_interval", "clear_immediate", "TIMEOUT_MAX",
]

TIMEOUT_MAX: int = 2**31 - 1
"""The largest delay Node accepts, in milliseconds; larger ones become 1 ms."""


def _delay(delay_ms: float) -> int:
    if isinstance(delay_ms, bool) or not isinstance(delay_ms, (int, float)):
        raise TypeError(f"delay_ms must be a number of milliseconds, not {type(delay_ms).__name__}")
    if math.isnan(delay_ms) or not 1 <= delay_ms <= TIMEOUT_MAX:
        return 1
    return int(delay_ms)


def _loop(loop: Optional[Loop]) -> Loop:
    if loop is None:
        return Loop.default_loop()
    if not isinstance(loop, Loop):
        raise TypeError(f"loop must be a uvffi Loop, not {type(loop).__name__}")
    if loop._closed:
        raise LoopClosedError("the loop is closed")
    return loop


def _check_callable(callback: Any) -> None:
    if not callable(callback):
        raise TypeError("a callable is required")


class _Scheduler:
    """Per-loop state: the next-tick queue and the immediate queue."""

    def __init__(self, loop: Loop) -> None:
        self._loop = loop
        self._ticks: Deque[Tuple[Callable[..., Any], Tuple[Any, ...]]] = deque()
        self._immediates: Deque[Immediate] = deque()
        self._refed = 0  # pending immediates that keep the loop alive
        self._check: Optional[Check] = None
        self._idle: Optional[Idle] = None

    # -- next tick ----------------------------------------------------------

    def add_tick(self, callback: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        ticks = self._ticks
        ticks.append((callback, args))
        if len(ticks) == 1:
            lib.uvffi_loop_set_ticks(self._loop._lp, 1)

    def run_ticks(self) -> None:
        """Run every queued next-tick callback, including those they queue."""
        ticks = self._ticks
        loop = self._loop
        while ticks:
            callback, args = ticks.popleft()
            try:
                callback(*args)
            except BaseException as exc:  # noqa: BLE001 - routed like any callback's
                loop._handle_error(exc)
                if not isinstance(exc, Exception):
                    break
        if ticks and not loop._closed:  # stopped by a BaseException: run them later
            lib.uvffi_loop_set_ticks(loop._lp, 1)

    # -- immediates ---------------------------------------------------------

    def add_immediate(self, imm: "Immediate") -> None:
        if not self._immediates:
            check = self._check
            if check is None:
                check = self._check = Check(self._loop)
                check._uvffi_internal = True  # type: ignore[attr-defined]
                check.ref = False
            if not check.active:
                check.start(self._on_check)
        self._immediates.append(imm)
        if imm._ref:
            self.refed(1)

    def refed(self, delta: int) -> None:
        self._refed += delta
        if self._refed == 1 and delta > 0:
            idle = self._idle
            if idle is None:
                idle = self._idle = Idle(self._loop)
                idle._uvffi_internal = True  # type: ignore[attr-defined]
            if not idle.active:
                idle.start(_noop)
        elif self._refed == 0 and self._idle is not None and self._idle.active:
            self._idle.stop()

    def _on_check(self, check: Check) -> None:
        batch = self._immediates
        self._immediates = deque()
        loop = self._loop
        while batch:
            imm = batch.popleft()
            if not imm._pending:
                continue
            imm._finish()
            try:
                imm._callback(*imm._args)
            except BaseException as exc:  # noqa: BLE001 - routed like any callback's
                loop._handle_error(exc)
                if not isinstance(exc, Exception):
                    batch.extend(self._immediates)
                    self._immediates = batch
                    return
            if self._ticks:
                self.run_ticks()
        if not self._immediates and check.active:
            check.stop()


def _noop(handle: Any) -> None:
    """The Idle callback: its only job is to keep poll from blocking."""


def _on_ticks(loop: Loop) -> None:
    """C: a callback queued next-tick callbacks; run them now."""
    s = loop._scheduler
    if s is not None:
        s.run_ticks()


set_hook("ticks", _on_ticks)


def _scheduler(loop: Loop) -> _Scheduler:
    s = loop._scheduler
    if s is None:
        s = loop._scheduler = _Scheduler(loop)
    return s


def _on_loop_thread(loop: Loop) -> None:
    err = lib.uvffi_loop_check_thread(loop._lp)
    if err:
        raise_for(err)


# ---------------------------------------------------------------------------
# Timeouts
# ---------------------------------------------------------------------------


class Timeout:
    """A pending ``set_timeout`` / ``set_interval`` (Node's ``Timeout``).

    Runs ``callback(*args)`` in the timers phase after ``delay`` milliseconds
    (and then every ``delay`` ms for an interval). Referenced by default: it
    keeps the loop alive until it fires or is cleared.
    """

    def __init__(self, loop: Loop, callback: Callable[..., Any], delay_ms: float,
                 args: Tuple[Any, ...], repeat: bool) -> None:
        _check_callable(callback)
        self._delay = _delay(delay_ms)
        self._repeat = repeat
        self._callback: Optional[Callable[..., Any]] = callback
        self._args = args
        self._loop = loop
        self._timer = Timer(loop)
        self._timer._uvffi_internal = True  # type: ignore[attr-defined]
        self._start()

    def _start(self) -> None:
        timer = self._timer
        if not self._loop._running:
            lib.uv_update_time(self._loop._raw)  # count the delay from now, as Node does
        timer._start_ms(self._fire, self._delay, self._delay if self._repeat else 0)

    def _fire(self, timer: Timer) -> None:
        callback = self._callback
        if callback is not None:
            callback(*self._args)

    @property
    def delay(self) -> int:
        """The delay in milliseconds (after Node's coercion: at least 1)."""
        return self._delay

    @property
    def repeat(self) -> bool:
        """True for an interval."""
        return self._repeat

    @property
    def active(self) -> bool:
        """True while the timeout is scheduled (not fired, not cleared)."""
        return not self._timer.closed and self._timer.active

    @property
    def closed(self) -> bool:
        """True once cleared or closed."""
        return self._timer.closed

    def ref(self) -> "Timeout":
        """Keep the loop alive while this timeout is pending (the default). Returns self."""
        if not self._timer.closed:
            self._timer.ref = True
        return self

    def unref(self) -> "Timeout":
        """Let the loop end though this timeout is pending. Returns self."""
        if not self._timer.closed:
            self._timer.ref = False
        return self

    def has_ref(self) -> bool:
        """True if this timeout keeps the loop alive."""
        return self._timer.ref

    def refresh(self) -> "Timeout":
        """Restart the countdown from now with the same delay and callback; a timeout
        that already fired is scheduled again (Node). Does nothing once cleared."""
        if not self._timer.closed:
            self._start()
        return self

    def close(self) -> "Timeout":
        """Cancel the timeout (``clear_timeout``). Returns self."""
        timer = self._timer
        if not timer.closed:
            timer.close()
        self._callback = None
        self._args = ()
        return self

    def __repr__(self) -> str:
        kind = "interval" if self._repeat else "timeout"
        state = "closed" if self.closed else ("active" if self.active else "done")
        return f"<Timeout {kind} {self._delay}ms {state}>"


class Immediate:
    """A pending ``set_immediate`` (Node's ``Immediate``): runs in the check phase."""

    def __init__(self, scheduler: _Scheduler, callback: Callable[..., Any], args: Tuple[Any, ...]) -> None:
        self._scheduler = scheduler
        self._callback = callback
        self._args = args
        self._pending = True
        self._ref = True

    def _finish(self) -> None:
        self._pending = False
        if self._ref:
            self._scheduler.refed(-1)

    @property
    def pending(self) -> bool:
        """True until the immediate has run or was cleared."""
        return self._pending

    def ref(self) -> "Immediate":
        """Keep the loop alive until this immediate has run (the default). Returns self."""
        if not self._ref:
            self._ref = True
            if self._pending:
                self._scheduler.refed(1)
        return self

    def unref(self) -> "Immediate":
        """Let the loop end without running this immediate. Returns self."""
        if self._ref:
            self._ref = False
            if self._pending:
                self._scheduler.refed(-1)
        return self

    def has_ref(self) -> bool:
        """True if this immediate keeps the loop alive."""
        return self._ref

    def _clear(self) -> None:
        if self._pending:
            self._finish()
        self._args = ()

    def __repr__(self) -> str:
        return f"<Immediate {'pending' if self._pending else 'done'}>"


# ---------------------------------------------------------------------------
# The functions
# ---------------------------------------------------------------------------


def set_timeout(callback: Callable[..., Any], delay_ms: float = 1, *args: Any,
                loop: Optional[Loop] = None) -> Timeout:
    """Call ``callback(*args)`` once, ``delay_ms`` milliseconds from now, in the timers phase."""
    return Timeout(_loop(loop), callback, delay_ms, args, False)


def set_interval(callback: Callable[..., Any], delay_ms: float = 1, *args: Any,
                 loop: Optional[Loop] = None) -> Timeout:
    """Call ``callback(*args)`` every ``delay_ms`` milliseconds until cleared."""
    return Timeout(_loop(loop), callback, delay_ms, args, True)


def set_immediate(callback: Callable[..., Any], *args: Any, loop: Optional[Loop] = None) -> Immediate:
    """Call ``callback(*args)`` in the loop's next check phase (right after poll)."""
    _check_callable(callback)
    lp = _loop(loop)
    _on_loop_thread(lp)
    s = _scheduler(lp)
    imm = Immediate(s, callback, args)
    s.add_immediate(imm)
    return imm


def next_tick(callback: Callable[..., Any], *args: Any, loop: Optional[Loop] = None) -> None:
    """Call ``callback(*args)`` as soon as the current callback returns, before any
    other callback; outside any callback, when ``loop.run()`` starts. Cannot be cancelled."""
    _check_callable(callback)
    lp = _loop(loop)
    _on_loop_thread(lp)
    _scheduler(lp).add_tick(callback, args)


def clear_timeout(timeout: Optional[Timeout]) -> None:
    """Cancel a timeout or interval; ``None`` or an already cleared one is ignored."""
    if timeout is None:
        return
    if not isinstance(timeout, Timeout):
        raise TypeError(f"expected a Timeout, not {type(timeout).__name__}")
    timeout.close()


clear_interval = clear_timeout


def clear_immediate(immediate: Optional[Immediate]) -> None:
    """Cancel an immediate that has not run yet; ``None`` or a finished one is ignored."""
    if immediate is None:
        return
    if not isinstance(immediate, Immediate):
        raise TypeError(f"expected an Immediate, not {type(immediate).__name__}")
    immediate._clear()
