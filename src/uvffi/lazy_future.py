"""A :class:`concurrent.futures.Future` that makes its ``threading.Condition`` only when needed.

:meth:`Loop.call_soon_threadsafe` returns a Future per call, and the loop thread
marks it running and sets its result. A plain Future creates a Condition in
``__init__`` and takes it in both calls: about 4.5 µs per call here, spent on the
hand-off's critical path (the benchmark's ``threadsafe_pingpong``). Most such
futures are never looked at. Everything that can observe a Future from another
thread (``result()``, ``exception()``, ``add_done_callback()``, ``cancel()``,
``done()``, ``wait()``/``as_completed()``) goes through its ``_condition``, so:

- :class:`LazyFuture` has no ``_condition`` until the first such use creates it
  (a class-level descriptor that stores it in the instance, under one module
  lock; once stored, the instance attribute is found first);
- ``set_running_or_notify_cancel``, ``set_result`` and ``set_exception`` take
  that same lock; if no Condition exists yet, nobody waits, no callback is
  registered and nobody cancelled, so they only set the state; otherwise they
  are Future's own methods.

Creating the Condition and the fast state change exclude each other, so a
thread that starts waiting either sees the new state or gets notified. It
relies on Future's private fields, which have been the same since Python 3.2;
:data:`AVAILABLE` is False (and :func:`new_future` returns a plain Future) if a
plain Future does not look as expected.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from concurrent.futures import _base as _futures
from typing import Any, Callable, Dict, Optional, Tuple

__all__ = ["LazyFuture", "new_future", "run_call", "AVAILABLE"]

_PENDING, _RUNNING, _FINISHED = _futures.PENDING, _futures.RUNNING, _futures.FINISHED
_lock = threading.Lock()

_proto: Dict[str, Any] = dict(Future().__dict__)
AVAILABLE: bool = set(_proto) == {"_condition", "_state", "_result", "_exception", "_waiters", "_done_callbacks"} \
    and _proto["_state"] == _PENDING
"""True when a fresh Future has exactly the known fields (every CPython and PyPy since 3.2)."""


class _LazyCondition:
    """``LazyFuture._condition``: creates the Condition on first access and stores it in
    the instance, whose attribute then shadows this (non-data) descriptor."""

    def __get__(self, obj: Any, objtype: Any = None) -> Any:
        if obj is None:
            return self
        with _lock:
            d = obj.__dict__
            cond = d.get("_condition")
            if cond is None:
                # Everything that uses the lists takes the Condition first (Future's own
                # methods, wait() and as_completed() through _AcquireFutures).
                d["_waiters"] = []
                d["_done_callbacks"] = []
                cond = d["_condition"] = threading.Condition()
                obj._observed = True
        return cond


class LazyFuture(Future):
    """A Future whose Condition is created on first use by an observer (see the module)."""

    _condition = _LazyCondition()
    _observed = False  # True once the Condition exists (set under the module lock)
    # Future.__init__'s fields as class defaults: creating one runs no Python code. The
    # lists are made with the Condition; until then no code path can append to them
    # (an empty tuple would fail loudly, not share state, if one ever did).
    _state = _PENDING
    _result: Any = None
    _exception: Any = None
    _waiters: Any = ()
    _done_callbacks: Any = ()
    __init__ = object.__init__  # not Future.__init__, which makes a Condition

    def set_running_or_notify_cancel(self) -> bool:
        """As Future's; without a Condition while nothing observes the future."""
        with _lock:
            if not self._observed and self._state == _PENDING:
                self._state = _RUNNING
                return True
        return super().set_running_or_notify_cancel()

    def set_result(self, result: Any) -> None:
        """As Future's; without a Condition while nothing observes the future."""
        with _lock:
            if not self._observed and self._state == _RUNNING:
                self._result = result
                self._state = _FINISHED
                return
        super().set_result(result)

    def set_exception(self, exception: Any) -> None:
        """As Future's; without a Condition while nothing observes the future."""
        with _lock:
            if not self._observed and self._state == _RUNNING:
                self._exception = exception
                self._state = _FINISHED
                return
        super().set_exception(exception)


def run_call(fut: "Future[Any]", fn: Callable[..., Any], args: Tuple[Any, ...]) -> Optional[BaseException]:
    """Run ``fn(*args)`` for ``fut`` as an executor would: skip it if ``fut`` was cancelled,
    else mark it running, call, and set its result or exception. Returns the exception
    ``fn`` raised, or None. One frame for what takes three Future methods (the state
    changes inline for a :class:`LazyFuture` nobody observes; any other Future, or an
    observed one, goes through Future's own methods)."""
    lock = _lock
    lock.acquire()
    if fut.__class__ is LazyFuture and not fut._observed and fut._state is _PENDING:  # type: ignore[attr-defined]
        fut._state = _RUNNING
        lock.release()
    else:
        lock.release()
        if not fut.set_running_or_notify_cancel():
            return None
    try:
        result = fn(*args)
    except BaseException as exc:  # noqa: BLE001 - the future carries it
        fut.set_exception(exc)
        return exc
    lock.acquire()
    if fut.__class__ is LazyFuture and not fut._observed:  # type: ignore[attr-defined]
        fut._result = result
        fut._state = _FINISHED
        lock.release()
    else:
        lock.release()
        fut.set_result(result)
    return None


new_future: Callable[[], "Future[Any]"] = LazyFuture if AVAILABLE else Future
"""Make a future: a :class:`LazyFuture`, or a plain Future where its fields are not the known
ones. The class itself (no wrapper frame): call_soon_threadsafe makes one per call."""
