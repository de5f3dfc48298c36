"""``loop.call_soon_threadsafe()``: run a function on the loop's thread, from any thread.

Built the way Node's tick is described in the source documents (seed 002):
other threads push ``(future, fn, args)`` on a locked queue and wake the loop
through one internal ``uv_async_t`` per loop; the loop thread swaps the whole
queue out under the lock and runs that batch in order, outside the lock. Calls
made after the swap land in a fresh queue and cause another wakeup. (On CPython
the queue is in C, ``_c/threadsafe.c``, where the GIL is the lock; the batch is run
here in both cases. The futures are ``uvffi.lazy_future.LazyFuture``.)

- The wakeup is sent only when the queue goes from empty to non-empty: libuv
  coalesces sends anyway (seed 001), and the batch drains everything queued.
- The internal async is created with the loop, in C (``uvffi_loop_t.tsafe``),
  rather than on first use: ``uv_async_init`` may only be called on the loop's
  thread, and the first caller is usually another thread while the loop runs.
  It is cheap: all of a loop's async handles share one eventfd, which uvffi's
  internal reaper async already opened. It is **unref'd** (it never keeps the loop
  alive on its own) and is not listed in ``loop.handles``; ``loop.close()``
  closes it with the loop's other internal handles.
- Because it is unref'd, a call queued while the loop is not running (or after
  its last handle went away) runs at the start of the next ``loop.run()``,
  before the loop's first phase.
- ``loop.close()`` cancels the futures of calls that never ran; calling
  ``call_soon_threadsafe`` on a closed loop raises :class:`~uvffi.error.LoopClosedError`.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

from ._core import C, lib, set_hook
from .error import LoopClosedError, raise_for
from .lazy_future import new_future, run_call

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["ThreadsafeQueue", "call_soon_threadsafe", "run_batch", "close_queue", "queue_of"]

_Call = Tuple["Future[Any]", Callable[..., Any], Tuple[Any, ...]]
_create_lock = threading.Lock()


class ThreadsafeQueue:
    """The per-loop queue behind :meth:`Loop.call_soon_threadsafe`, in Python (PyPy).

    On CPython the queue is ``uvffi._uv.ThreadsafeQueue`` (``_threadsafe.c``), with
    the same five operations and no lock (the GIL covers each one). Either way
    :func:`run_batch` runs what :meth:`take` returns."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: List[_Call] = []  # swapped out whole by take(): a list is enough
        self._closed = False
        self._senders = 0  # submits between their queueing and the end of their wakeup send

    def submit(self, loop: "Loop", fn: Callable[..., Any], args: Tuple[Any, ...]) -> "Future[Any]":
        """Queue ``fn(*args)`` for the loop thread and wake the loop; any thread.

        The wakeup is sent after the lock is released: cffi releases PyPy's GIL around
        the send, and the woken loop thread, which takes the lock first thing, would
        otherwise block on it until this thread got the GIL back (about 0.3 ms per
        hop in the ping-pong). :meth:`close` waits for the senders counted in
        ``_senders`` before the loop can be freed. The count is raised and ``send``
        set with no call or backward jump between (PyPy runs signal handlers only
        there), inside the ``try`` whose ``finally`` lowers it."""
        if not callable(fn):
            raise TypeError("a callable is required")
        fut: Future[Any] = new_future()
        lock = self._lock
        send = False
        try:
            with lock:
                if self._closed or loop._closed:
                    raise LoopClosedError("the loop is closed")
                calls = self._calls
                calls.append((fut, fn, args))
                if len(calls) == 1:
                    self._senders += 1
                    send = True
            if send:
                err = lib.uvffi_loop_tsafe_send(loop._lp)
                if err:
                    with lock:
                        self._calls = [c for c in self._calls if c[0] is not fut]
                    raise_for(err)
        finally:
            if send:
                with lock:
                    self._senders -= 1
        return fut

    @property
    def pending(self) -> int:
        """How many calls wait for the loop thread."""
        return len(self._calls)

    def take(self) -> Optional[List[_Call]]:
        """On the loop thread: the queued calls, leaving the queue empty; None if none."""
        with self._lock:
            calls = self._calls
            if not calls:
                return None
            self._calls = []
        return calls

    def requeue(self, calls: List[_Call]) -> None:
        """On the loop thread: put ``calls`` back in front of the queue."""
        with self._lock:
            self._calls = calls + self._calls

    def close(self) -> List[_Call]:
        """Refuse new calls from now on; returns the calls that were queued. Returns
        once no other thread is sending a wakeup (the loop may be freed after)."""
        with self._lock:
            self._closed = True
            calls, self._calls = self._calls, []
        while self._senders:
            time.sleep(0.0001)
        return calls


_Queue: Callable[[], Any] = C.get("ThreadsafeQueue") or ThreadsafeQueue
if _Queue is not ThreadsafeQueue:
    _Queue.setup(new_future, LoopClosedError, raise_for)  # type: ignore[attr-defined]


def queue_of(loop: "Loop") -> Any:
    """The loop's queue, created on first use (from any thread)."""
    q = loop._threadsafe
    if q is None:
        with _create_lock:
            q = loop._threadsafe
            if q is None:
                q = loop._threadsafe = _Queue()
    return q


def call_soon_threadsafe(loop: "Loop", fn: Callable[..., Any], *args: Any) -> "Future[Any]":
    """Run ``fn(*args)`` on ``loop``'s thread; safe from any thread.

    Returns a :class:`concurrent.futures.Future` that gets ``fn``'s result or
    exception. Calls made from one thread run in the order made. An exception
    goes to the future only (not to ``loop.excepthook``); a ``BaseException``
    such as ``KeyboardInterrupt`` also stops the loop and is re-raised from
    ``loop.run()``, as from any callback.
    """
    q = loop._threadsafe
    return (q if q is not None else queue_of(loop)).submit(loop, fn, args)


def run_batch(loop: "Loop") -> None:
    """On the loop thread (C calls this when the loop's internal async fired, and
    ``Loop.run`` before the first phase): run the queued calls, in order."""
    q = loop._threadsafe
    if q is None:
        return
    calls = q.take()
    if calls is None:
        return
    sched = loop._scheduler
    for i, (fut, fn, args) in enumerate(calls):
        exc = run_call(fut, fn, args)
        if exc is not None and not isinstance(exc, Exception):
            # KeyboardInterrupt/SystemExit also stop the loop, as from any callback;
            # the rest of the batch goes back to the front of the queue.
            q.requeue(calls[i + 1:])
            loop._handle_error(exc)
            return
        if sched is not None and sched._ticks:
            sched.run_ticks()


set_hook("threadsafe", run_batch)  # the loop's internal async fired


def close_queue(loop: "Loop") -> None:
    """The loop is closing: refuse new calls, cancel the futures of queued ones."""
    for fut, _fn, _args in queue_of(loop).close():
        fut.cancel()
