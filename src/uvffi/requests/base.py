"""The request base class: what every libuv request shares (work now; file
system, DNS and stream writes build on it).

For authors of a request kind (the C side is ``_c/req.c``):

- The C request (a small header plus ``uv_req_size()``) is made by
  ``lib.uvffi_req_new(lp, kind, ref(self))`` or a kind's own submit function, and
  holds the Python request alive from submission until its done callback has
  run; then C runs the kind's cleanup and frees it.
- C calls ``self._done(status)`` on the loop thread, once; if it raised (a signal's
  KeyboardInterrupt at any of its bytecodes, or the user's callback), C reports the
  exception and calls ``self._salvage(status)`` until it returns (a bounded number of
  times: PyPy's done hook, CPython's ``uvffi__req_done`` in ``_c/req.c``). Once the
  kind's cleanup ran, ``_req`` and ``_pinned`` are dropped for it (CPython: ``req.c``;
  PyPy: the release hook). A kind's ``_done`` starts with :meth:`Request._finish`, stores
  what it computes in one call of a built-in (``vars(self).update``) and ends by taking
  and calling the user's callback in one call of built-ins
  (:mod:`uvffi._core.once`: ``call_attr_once``, ``call_attr_once_with``); its
  :meth:`_salvage` completes what an interrupted ``_done`` left, so the user's callback
  runs exactly once (fs, dns, stream and UDP send requests do; work does its completion
  in C on CPython, ``_c/work.c``). A kind that uses libuv's thread pool calls
  ``uvffi__pool_ready()`` before its first submission (libuv aborts if it cannot
  create the pool's threads).
- Objects libuv reads while the request is in flight (write buffers) are kept
  in ``_pinned`` until the done callback: they cannot be freed or resized
  meanwhile, whatever the program does with its own references.
- :meth:`cancel` works where libuv allows it (thread-pool requests not yet
  started); the done callback then gets ``UV_ECANCELED``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, List, Optional

from .._core import lib
from .._core.once import call_attr_once_with
from ..error import raise_for

if TYPE_CHECKING:
    from ..loop import Loop

__all__ = ["Request"]


class Request:
    """Base class of libuv requests; not instantiated directly."""

    _req: Any = None
    _loop: Any = None
    _pinned: Optional[List[Any]] = None

    @property
    def loop(self) -> "Loop":
        """The loop whose thread runs the request's callback."""
        return self._loop

    @property
    def pending(self) -> bool:
        """True until the request's callback has been called."""
        return self._req is not None

    def cancel(self) -> bool:
        """Cancel the request if libuv has not started it: its callback then gets
        ``UV_ECANCELED``. Returns True if it was cancelled. Only from the loop's
        thread while it runs (RuntimeError otherwise)."""
        req = self._req
        if req is None:
            return False
        err = lib.uvffi_req_cancel(req)
        if err == lib.UVFFI_EWRONGTHREAD:
            raise_for(err)
        return err == 0

    def _finish(self) -> None:
        """The first step of every ``_done``: the request is no longer pending. The pinned
        buffers stay until libuv's cleanup of the request has run (C drops them then)."""
        self._req = None

    def _done(self, status: int) -> None:  # pragma: no cover - every kind overrides it
        """On the loop thread, once: the request finished with ``status``."""
        self._finish()

    def _salvage(self, status: int) -> None:
        """C's next call after :meth:`_done` raised (a signal handler raised somewhere before,
        in or after it, or the user's callback raised), on CPython and PyPy; maybe more than
        once: it must be idempotent. Do what ``_done`` has not done yet; the user's callback
        runs exactly once. The default completes a request whose ``_done`` had not begun;
        every kind whose callback must not be lost later in ``_done`` overrides this (work,
        fs, dns, the stream requests, UDP send: with :mod:`uvffi._core.once`)."""
        if self._req is not None:
            self._done(status)


class _HandleRequest(Request):
    """A request whose callback is ``callback(handle, error)`` (the stream requests, UDP
    send): ``error`` None or a libuv error code, and ``handle`` None once done."""

    _handle: Any = None  # None once done
    _callback: Any = None  # the instance's until taken
    _args: Any = None  # (handle, error) once done: the callback's arguments

    def _done(self, status: int) -> None:
        """On the loop thread, once: call ``callback(handle, error)``; :meth:`_salvage` does
        the same steps, and completes whatever a signal interrupted here."""
        self._finish()
        self._salvage(status)

    def _salvage(self, status: int) -> None:
        """The steps of :meth:`_done`, each idempotent (C calls this after a signal
        interrupted ``_done``, maybe more than once): ``handle`` becomes None and the
        callback's arguments are stored in one call of a built-in, then the callback is taken
        and called in another (:func:`~uvffi._core.once.call_attr_once_with`): exactly once."""
        self._finish()
        handle = self._handle
        if handle is not None:
            vars(self).update(_handle=None, _args=(handle, status if status < 0 else None))
        args = self._args
        if args is not None:
            call_attr_once_with(self, "_callback", args)
