"""Entry points of :mod:`uvffi.aio`: :func:`new_event_loop`, :func:`run`,
:class:`EventLoopPolicy` and :func:`install` (uvloop's names, so that
``import uvffi.aio as uvloop`` works for programs written for uvloop)."""

from __future__ import annotations

import asyncio
import sys
from asyncio import events
from typing import Any, Coroutine, Optional, TypeVar

from .loop import Loop

__all__ = ["new_event_loop", "run", "EventLoopPolicy", "install"]

T = TypeVar("T")

# asyncio's base policy (with the per-thread loop bookkeeping), public until 3.13;
# found by name, since 3.14 renamed it private on its way to removal.
_PRIVATE_BASE = "_BaseDefaultEventLoopPolicy"
_BasePolicy: Any = getattr(events, "BaseDefaultEventLoopPolicy", None) or getattr(events, _PRIVATE_BASE)


def new_event_loop() -> Loop:
    """A new :class:`uvffi.aio.Loop` on a new :class:`uvffi.Loop`."""
    return Loop()


class EventLoopPolicy(_BasePolicy):
    """An asyncio event loop policy whose loops are :class:`uvffi.aio.Loop`:
    ``asyncio.set_event_loop_policy(uvffi.aio.EventLoopPolicy())``, or :func:`install`."""

    def _loop_factory(self) -> Loop:
        return Loop()

    _child_watcher: Any = None

    def get_child_watcher(self) -> Any:
        """The watcher given to :meth:`set_child_watcher`, or None: libuv reaps the
        children of uvffi.aio's subprocess transports itself, so none is needed."""
        return self._child_watcher

    def set_child_watcher(self, watcher: Any) -> None:
        """Keep ``watcher`` for :meth:`get_child_watcher` (asyncio's API until 3.13, which
        programs and CPython's own tests call); uvffi.aio never uses it."""
        self._child_watcher = watcher


def install() -> None:
    """Make :class:`EventLoopPolicy` the asyncio policy, so that
    :func:`asyncio.new_event_loop` and :func:`asyncio.run` use uvffi loops. Python 3.12
    and later warn that policies are deprecated there: prefer :func:`run`, or
    ``asyncio.Runner(loop_factory=uvffi.aio.new_event_loop)``."""
    asyncio.set_event_loop_policy(EventLoopPolicy())


def run(main: Coroutine[Any, Any, T], *, debug: Optional[bool] = None) -> T:
    """Run the coroutine ``main`` on a new :class:`uvffi.aio.Loop` and return its
    result, as :func:`asyncio.run` does: the loop is closed at the end, after the
    remaining tasks are cancelled, asynchronous generators finalised and the default
    executor shut down. On Python 3.11 and later it is
    ``asyncio.Runner(debug=debug, loop_factory=uvffi.aio.new_event_loop)``, whose
    Ctrl-C handling cancels ``main`` and raises ``KeyboardInterrupt``."""
    runner_class = getattr(asyncio, "Runner", None)
    if runner_class is not None:
        with runner_class(debug=debug, loop_factory=new_event_loop) as runner:
            return runner.run(main)
    return _run_without_runner(main, debug)


def _run_without_runner(main: Coroutine[Any, Any, T], debug: Optional[bool]) -> T:
    """Python 3.9 and 3.10: asyncio.run's steps, with a uvffi loop."""
    if events._get_running_loop() is not None:
        raise RuntimeError("uvffi.aio.run() cannot be called from a running event loop")
    if not asyncio.iscoroutine(main):
        raise ValueError(f"a coroutine was expected, got {main!r}")
    loop = new_event_loop()
    try:
        asyncio.set_event_loop(loop)
        if debug is not None:
            loop.set_debug(debug)
        return loop.run_until_complete(main)
    finally:
        try:
            _cancel_remaining(loop)
            loop.run_until_complete(loop.shutdown_asyncgens())
            shutdown_executor = getattr(loop, "shutdown_default_executor", None)
            if shutdown_executor is not None:
                loop.run_until_complete(shutdown_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()


def _cancel_remaining(loop: Loop) -> None:
    """Cancel the tasks still pending, let them finish, and report the errors of
    those that ended with one (not a cancellation) to the exception handler."""
    pending = [t for t in asyncio.all_tasks(loop) if not t.done()]
    if not pending:
        return
    for task in pending:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
    for task in pending:
        if task.cancelled():
            continue
        exc = task.exception()
        if exc is not None:
            loop.call_exception_handler({
                "message": "unhandled exception during uvffi.aio.run() shutdown",
                "exception": exc,
                "task": task,
            })


if sys.platform == "win32":  # pragma: no cover
    raise ImportError("uvffi.aio runs on Unix only")
