"""Thread-pool work: :class:`WorkRequest`, made by :meth:`Loop.queue_work`."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional

from .._core import lib, ref
from .._core.once import box, call_once, pass_attr_once
from ..error import LoopClosedError, ThreadError, raise_for
from .base import Request

if TYPE_CHECKING:
    from ..loop import Loop

__all__ = ["WorkRequest"]



class WorkRequest(Request):
    """A request made by :meth:`uvffi.Loop.queue_work`.

    ``work_cb()`` runs in libuv's thread pool (``UV_THREADPOOL_SIZE`` threads,
    default 4), holding the GIL while it runs Python code; then ``done_cb(error)``
    runs on the loop thread with ``error`` None, or ``errno.UV_ECANCELED`` if the
    request was cancelled before a pool thread took it. An exception in ``work_cb``
    goes to the loop's excepthook (on the loop thread) and ``done_cb`` still runs.
    :meth:`uvffi.Loop.close` waits for queued work to finish.

    Every request gets ``done_cb`` exactly once: on CPython the completion (this
    class's ``_done``) is done by the C core, so a ``KeyboardInterrupt`` from a signal
    can land only in the program's own callbacks; on PyPy C calls the completion again
    until it is done (``_salvage``), and done_cb is taken and called in one call of
    built-ins. After :func:`os.fork` the child
    completes the work its pool dropped with ``UV_ECANCELED``. If a pool thread had
    no memory to run ``work_cb``, ``done_cb`` gets ``UV_ENOMEM``; if the pool's threads
    cannot be created, :meth:`~uvffi.Loop.queue_work` raises
    :class:`~uvffi.error.ThreadError` (libuv would abort the process).

    At interpreter exit, work still queued or running is abandoned: if any is, the
    process ends with its exit status right after Python's finalisation, without
    waiting for it (libuv's library destructor would join the pool threads, and a
    ``work_cb`` that never returns would hang the exit); C-level exit handlers
    registered before the first ``queue_work`` do not run then."""

    _exc: Optional[BaseException] = None
    """work_cb's exception, for the loop thread to report; an instance attribute while set."""

    def __init__(self, loop: "Loop", work_cb: Callable[[], Any],
                 done_cb: Optional[Callable[[Optional[int]], Any]] = None) -> None:
        if not callable(work_cb):
            raise TypeError("a callable is required")
        if done_cb is not None and not callable(done_cb):
            raise TypeError("done_cb must be a callable or None")
        if loop._closed:
            raise LoopClosedError("the loop is closed")
        self._loop = loop
        self._work_cb = work_cb
        self._done_box = box(done_cb)  # taken by C (CPython) or call_once (PyPy)
        req = lib.uvffi_work_queue(loop._lp, ref(self))
        if not req:
            raise_for(lib.uvffi_last_error(), ThreadError)
        self._req = req

    def _run(self) -> None:
        """In a pool thread: run work_cb, keeping any exception for the loop thread."""
        try:
            self._work_cb()
        except BaseException as exc:  # noqa: BLE001 - handed to the loop thread
            self._exc = exc

    def _done(self, status: int) -> None:
        """On the loop thread: report work_cb's exception, then call done_cb (PyPy;
        CPython's C core does the same steps, ``_c/work.c``). The exception and done_cb
        are each taken and handed on in one call of built-ins (:mod:`uvffi._core.once`),
        so that :meth:`_salvage` after a signal repeats neither."""
        self._finish()
        self._work_cb = None  # type: ignore[assignment]
        pass_attr_once(self, "_exc", self._loop._handle_error)
        call_once(self._done_box, status if status < 0 else None)

    def _salvage(self, status: int) -> None:
        """A signal interrupted :meth:`_done` (PyPy; C calls this next): done_cb runs if it
        has not been entered, then work_cb's exception is reported if it was not yet."""
        self._finish()
        call_once(self._done_box, status if status < 0 else None)
        pass_attr_once(self, "_exc", self._loop._handle_error)
