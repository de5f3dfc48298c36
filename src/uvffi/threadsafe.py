"""``loop.call_soon_threadsafe()``: run a function on the loop's thread, from any thread.

Built the way Node's tick is described in the source documents (seed 002):
other threads push ``(future, fn, args)`` on a locked queue and wake the loop
through one internal ``uv_async_t`` per loop; the loop thread swaps the whole
queue out under the lock and runs that batch in order, outside the lock. Calls
made after the swap land in a fresh queue and cause another wakeup.

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
from collections import deque
from concurrent.futures import Future
from typing import TYPE_CHECKING, Any, Callable, Deque, Tuple

from ._ffi import lib
from .error import LoopClosedError, raise_for

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["ThreadsafeQueue", "call_soon_threadsafe"]

_Call = Tuple["Future[Any]", Callable[..., Any], Tuple[Any, ...]]
_create_lock = threading.Lock()


class ThreadsafeQueue:
    """The per-loop queue behind :meth:`Loop.call_soon_threadsafe`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: Deque[_Call] = deque()
        self._closed = False

    def submit(self, loop: "Loop", fn: Callable[..., Any], args: Tuple[Any, ...]) -> "Future[Any]":
        """Queue ``fn(*args)`` for the loop thread and wake the loop; any thread."""
        fut: Future[Any] = Future()
        with self._lock:
            if self._closed or loop._closed:
                raise LoopClosedError("the loop is closed")
            calls = self._calls
            calls.append((fut, fn, args))
            if len(calls) == 1:
                err = lib.uvffi_loop_tsafe_send(loop._lp)
                if err:
                    calls.pop()
                    raise_for(err)
        return fut

    @property
    def pending(self) -> int:
        """How many calls wait for the loop thread."""
        return len(self._calls)

    def run_batch(self, loop: "Loop") -> None:
        """On the loop thread: swap the queue out and run that batch, in order."""
        with self._lock:
            calls = self._calls
            if not calls:
                return
            self._calls = deque()
        sched = loop._scheduler
        while calls:
            fut, fn, args = calls.popleft()
            if not fut.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:  # noqa: BLE001 - the future carries it
                fut.set_exception(exc)
                if not isinstance(exc, Exception):
                    # KeyboardInterrupt/SystemExit also stop the loop, as from any callback;
                    # the rest of the batch goes back to the front of the queue.
                    with self._lock:
                        calls.extend(self._calls)
                        self._calls = calls
                    loop._handle_error(exc)
                    return
            else:
                fut.set_result(result)
            if sched is not None and sched._ticks:
                sched.run_ticks()

    def close(self) -> None:
        """The loop is closing: refuse new calls, cancel the futures of queued ones."""
        with self._lock:
            self._closed = True
            calls, self._calls = self._calls, deque()
        for fut, _fn, _args in calls:
            fut.cancel()


def queue_of(loop: "Loop") -> ThreadsafeQueue:
    """The loop's queue, created on first use (from any thread)."""
    q = loop._threadsafe
    if q is None:
        with _create_lock:
            q = loop._threadsafe
            if q is None:
                q = loop._threadsafe = ThreadsafeQueue()
    return q


def call_soon_threadsafe(loop: "Loop", fn: Callable[..., Any], *args: Any) -> "Future[Any]":
    """Run ``fn(*args)`` on ``loop``'s thread; safe from any thread.

    Returns a :class:`concurrent.futures.Future` that gets ``fn``'s result or
    exception. Calls made from one thread run in the order made. An exception
    goes to the future only (not to ``loop.excepthook``); a ``BaseException``
    such as ``KeyboardInterrupt`` also stops the loop and is re-raised from
    ``loop.run()``, as from any callback.
    """
    if not callable(fn):
        raise TypeError("a callable is required")
    if loop._closed:
        raise LoopClosedError("the loop is closed")
    return queue_of(loop).submit(loop, fn, args)
