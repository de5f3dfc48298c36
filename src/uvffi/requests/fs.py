"""Asynchronous file-system requests: :class:`FSRequest`, made by the functions of
:mod:`uvffi.fs` when they are given a callback."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, Optional, Tuple

from .._core import ffi, lib, ref, request_kind
from .._core.once import call_attr_once
from ..errno import UV_EINTR as _UV_EINTR
from ..error import FSError, LoopClosedError, raise_for
from .base import Request

if TYPE_CHECKING:
    from ..loop import Loop

__all__ = ["FSRequest"]

_KIND = request_kind("fs")
_CB = ffi.addressof(lib, "uvffi_fs_cb")


class FSRequest(Request):
    """A file-system operation running in libuv's thread pool, returned by every
    :mod:`uvffi.fs` function called with a callback.

    When it is done, ``callback(request)`` runs on the loop thread with
    ``result`` (what the synchronous call returns) and :attr:`error` (None, or
    the negative libuv error code: ``uvffi.errno.UV_E*``); an error is never raised
    out of :meth:`uvffi.Loop.run`. ``path`` is the path given (None for the
    functions taking a file descriptor). ``cancel()`` works until a pool thread
    takes the request; closing the loop cancels the requests still queued (their
    callbacks get ``UV_ECANCELED``). Buffers given to the call (``write``'s data)
    are held until the callback.

    The callback runs exactly once, also when a signal's ``KeyboardInterrupt`` lands
    in uvffi's completion of the request (``run()`` raises it; the callback still runs
    then, or on the next run): with the result if it had been read, else with
    ``error`` ``UV_EINTR``."""

    _callback: Optional[Callable[["FSRequest"], Any]] = None  # the instance's until taken
    _finish_fn: Optional[Callable[[Any], Any]] = None  # the instance's until the outcome is set

    def __init__(self, loop: "Loop", callback: Callable[["FSRequest"], Any],
                 start: Callable[[Any, Any, Any], int], finish: Callable[[Any], Any],
                 keep: Tuple[Any, ...] = (), path: Any = None) -> None:
        if loop._closed:
            raise LoopClosedError("the loop is closed")
        self._loop = loop
        self._callback = callback
        self._finish_fn = finish
        self.path: Any = path
        self.result: Any = None
        self.error: Optional[int] = None
        r = lib.uvffi_req_new(loop._lp, _KIND, ref(self))
        if not r:
            raise_for(lib.uvffi_last_error(), FSError)
        uvreq = ffi.cast("uv_fs_t *", lib.uvffi_req_uv(r))
        try:
            err = start(loop._raw, uvreq, _CB)
        except BaseException:  # an argument cffi refused (OverflowError, TypeError): nothing submitted
            lib.uv_fs_req_cleanup(uvreq)
            lib.uvffi_req_discard(r)
            raise
        if err < 0:
            lib.uv_fs_req_cleanup(uvreq)
            lib.uvffi_req_discard(r)
            raise_for(err, FSError)
        self._req = r
        self._pinned = list(keep)
        loop._requests.add(self)

    def _done(self, status: int) -> None:
        """On the loop thread: the result (or the error), then the callback, exactly once.

        The outcome (``result`` or ``error``) is stored with the finish function's removal
        in one call of a built-in, and the callback is taken and called in another
        (:func:`~uvffi._core.once.call_attr_once`), its last step: a KeyboardInterrupt
        landing anywhere in here leaves either the callback called or :meth:`_salvage`
        (which C calls next) able to call it."""
        req = self._req
        finish = self._finish_fn
        # What the request pinned lives until it is cleaned up below: readdir's cleanup
        # reads the uv_dir_t and its dirents array (to free the names libuv allocated),
        # both owned by Python objects that a collected Dir or closure would free first
        # (ASan: use-after-free when C's cleanup ran after this method had dropped them).
        # C cleans up again after _done: uv_fs_req_cleanup is idempotent.
        pinned = self._pinned
        self._finish()
        self._loop._requests.discard(self)
        if finish is not None and req is not None:
            uvreq = ffi.cast("uv_fs_t *", lib.uvffi_req_uv(req))
            if status < 0:
                vars(self).update(error=status, _finish_fn=None)
            else:
                vars(self).update(result=finish(uvreq), _finish_fn=None)
            lib.uv_fs_req_cleanup(uvreq)
        del pinned, finish
        call_attr_once(self, "_callback", self)

    def _salvage(self, status: int) -> None:
        """A signal (or an exception) interrupted :meth:`_done`; C calls this next, maybe
        more than once. If the callback was not yet taken: the outcome is set if ``_done``
        had not set it (``error`` is ``status`` if the request failed, else ``UV_EINTR``:
        the result is no longer read, libuv's cleanup may have freed it), then the callback
        is called. The callback runs exactly once in all."""
        self._finish()
        self._loop._requests.discard(self)
        if self._finish_fn is not None:
            vars(self).update(error=status if status < 0 else _UV_EINTR, _finish_fn=None)
        call_attr_once(self, "_callback", self)
