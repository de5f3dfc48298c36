"""File descriptor watching for :class:`uvffi.aio.Loop`: ``add_reader`` / ``add_writer``
on :class:`uvffi.Poll` handles, one per fd, the reader and the writer sharing it.

How it maps asyncio's selector semantics onto libuv:

- A Poll's callback never runs asyncio code: it appends the reader's and/or the
  writer's :class:`asyncio.Handle` to the loop's ready queue, as a selector loop's
  ``_process_events`` does; asyncio runs them in its own order.
- Starting a Poll is deferred to :meth:`FdWatchers.sync`, called right before each
  ``uv_run``. libuv queues the ``epoll_ctl(ADD)`` of a started watcher until its next
  poll phase and *aborts the process* if that ADD fails because the fd was closed in
  between; ``sync`` checks every changed fd with ``fstat`` first, and a closed fd's
  Poll is stopped instead (its callbacks never run, as with a closed fd that epoll
  dropped). One check per changed fd per iteration, none for steady ones.
- libuv stops a Poll and reports ``UV_EBADF`` when epoll says ``EPOLLERR`` (a failed
  connect, a socket error); asyncio's selectors report an error as readable and
  writable, again each iteration while it lasts. The callback does the same: both
  callbacks become ready, and the Poll is restarted by the next ``sync`` if still wanted.
- ``uv_poll_init`` makes the fd non-blocking; asyncio never changes an fd's mode, so a
  blocking fd is put back to blocking (epoll does not care).
- When neither a reader nor a writer is left the Poll is closed at once, which frees
  the fd for another libuv handle of the loop (a transport's) and takes it out of epoll
  while it is still the same file; a later ``add_reader`` on the fd number (maybe
  another file by then) starts afresh. (Keeping idle Polls for reuse was tried: a
  transport opened on the fd then met UV_EEXIST.)
"""

from __future__ import annotations

import errno
import os
from asyncio import events
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, Optional, Set

from ..error import PollError, UVError
from ..handles.poll import UV_READABLE, UV_WRITABLE, Poll

if TYPE_CHECKING:
    from .loop import Loop

__all__ = ["FdWatchers", "fileno_of"]

_BOTH = UV_READABLE | UV_WRITABLE


def fileno_of(fd: Any) -> int:
    """The fd number of an int or of an object with ``fileno()``; ``ValueError`` as
    :mod:`selectors` raises it for anything else or a negative number."""
    if isinstance(fd, int):
        fileno = fd
    else:
        try:
            fileno = int(fd.fileno())
        except (AttributeError, TypeError, ValueError):
            raise ValueError(f"Invalid file object: {fd!r}") from None
    if fileno < 0:
        raise ValueError(f"Invalid file descriptor: {fileno}")
    return fileno


class _Watch:
    """One fd: its Poll, the reader and writer Handles (or None), the fileobj kept."""

    __slots__ = ("fd", "poll", "reader", "writer", "ready", "dirty", "started", "fileobj")

    def __init__(self, fd: int, poll: Poll, ready: Deque[Any], dirty: Set["_Watch"]) -> None:
        self.fd = fd
        self.poll = poll
        self.reader: Optional[events.Handle] = None
        self.writer: Optional[events.Handle] = None
        self.ready = ready
        self.dirty = dirty
        self.started = 0  # the events the Poll was last started with (0: stopped)
        self.fileobj: Any = fd  # what add() was given: found by identity once it is closed

    def mask(self) -> int:
        return (UV_READABLE if self.reader is not None else 0) | (UV_WRITABLE if self.writer is not None else 0)

    def fire(self, poll: Poll, ev: int, error: Optional[int]) -> None:
        """The Poll's callback: queue the Handles whose events came (both on error)."""
        if error is not None:
            ev = _BOTH
            self.started = 0  # libuv stopped the Poll: the next sync() restarts it if still wanted
            self.dirty.add(self)
        reader = self.reader
        if ev & UV_READABLE and reader is not None and not reader._cancelled:
            self.ready.append(reader)
        writer = self.writer
        if ev & UV_WRITABLE and writer is not None and not writer._cancelled:
            self.ready.append(writer)


class FdWatchers:
    """The fd table of one :class:`~uvffi.aio.Loop`."""

    def __init__(self, loop: "Loop") -> None:
        # None once closed: a closed loop and its table are in no reference cycle, so the
        # loop is freed when its last reference goes, without waiting for a collection
        # (as asyncio's own closed loop is)
        self._loop: Optional["Loop"] = loop
        self._watches: Dict[int, _Watch] = {}
        self._dirty: Set[_Watch] = set()  # changed since the last sync()

    def __len__(self) -> int:
        return len(self._watches)

    def _live_loop(self) -> "Loop":
        """The loop; asyncio's ``RuntimeError`` once the table is closed."""
        loop = self._loop
        if loop is None:
            raise RuntimeError("Event loop is closed")
        return loop

    def _watch(self, fd: int) -> _Watch:
        w = self._watches.get(fd)
        if w is None:
            loop = self._live_loop()
            try:
                blocking = os.get_blocking(fd)
            except OSError:
                blocking = False  # a bad fd: Poll() raises the error below
            try:
                poll = Poll(loop.uv_loop, fd)
            except PollError as exc:
                raise _os_error(exc) from None
            poll._uvffi_internal = True  # type: ignore[attr-defined]  # not listed in uv_loop.handles
            if blocking:
                try:
                    os.set_blocking(fd, True)
                except OSError:
                    pass
            w = self._watches[fd] = _Watch(fd, poll, loop._ready, self._dirty)
        return w

    def add(self, fd: Any, writing: bool, callback: Callable[..., Any], args: Any) -> events.Handle:
        """Set the reader (or writer) of ``fd`` to ``callback(*args)``; a previous
        one is cancelled. Returns the new Handle."""
        fileno = fileno_of(fd)
        w = self._watch(fileno)
        w.fileobj = fd
        handle = events.Handle(callback, args, self._live_loop(), None)
        if writing:
            old, w.writer = w.writer, handle
        else:
            old, w.reader = w.reader, handle
        if old is not None:
            old.cancel()
        self._dirty.add(w)
        return handle

    def remove(self, fd: Any, writing: bool) -> bool:
        """Remove the reader (or writer) of ``fd``: True if there was one."""
        w = self._find(fd)
        if w is None:
            return False
        if writing:
            old, w.writer = w.writer, None
        else:
            old, w.reader = w.reader, None
        if w.reader is None and w.writer is None:
            # Closed now, not later: the fd must be free for another handle of the loop at
            # once (create_connection opens its transport's uvffi TCP on the fd right after
            # sock_connect removed its writer; libuv refuses a second watcher: UV_EEXIST),
            # and closing later could take the fd out of epoll under that new handle.
            self._drop(w)
        else:
            self._dirty.add(w)
        if old is None:
            return False
        old.cancel()
        return True

    def _find(self, fd: Any) -> Optional[_Watch]:
        """The watch of ``fd``; a file object closed since it was added (``fileno()`` is
        -1 then: anyio removes its callbacks after closing) is found by identity, as
        :mod:`selectors` finds it. ``ValueError`` for anything else that is no fd."""
        try:
            return self._watches.get(fileno_of(fd))
        except ValueError:
            if not isinstance(fd, int):
                for w in self._watches.values():
                    if w.fileobj is fd:
                        return w
            raise

    def _drop(self, w: _Watch) -> None:
        if self._watches.get(w.fd) is w:
            del self._watches[w.fd]
        self._dirty.discard(w)
        if not w.poll.closed:
            w.poll.close()

    def sync(self) -> None:
        """Before ``uv_run``: bring every changed Poll in line with its callbacks."""
        dirty = self._dirty
        while dirty:
            w = dirty.pop()
            mask = w.mask()
            if mask == w.started:
                continue
            try:
                os.fstat(w.fd)
            except OSError:
                # Closed behind our back: libuv would abort on the epoll ADD. The Poll
                # stays stopped; the callbacks stay registered but never run.
                if w.started:
                    w.poll.stop()
                    w.started = 0
                continue
            w.poll.start(mask, w.fire)
            w.started = mask

    def close(self) -> None:
        """Close every Poll, cancel every callback and let go of the loop (adding a
        reader or writer then raises ``RuntimeError``)."""
        for w in list(self._watches.values()):
            for h in (w.reader, w.writer):
                if h is not None:
                    h.cancel()
            w.reader = w.writer = None
            self._drop(w)
        self._loop = None


def _os_error(exc: UVError) -> Exception:
    """The exception asyncio's selector loop would raise: an OSError with the errno of
    the libuv error (libuv's codes are -errno on Unix), or RuntimeError for UV_EEXIST
    (another uvffi handle of this loop, a transport's, already watches the fd)."""
    code = exc.args[0] if exc.args else 0
    msg = exc.args[1] if len(exc.args) > 1 else str(exc)
    if isinstance(code, int) and code < 0:
        if code == -errno.EEXIST:
            return RuntimeError(f"File descriptor is used by another handle of this loop ({msg})")
        return OSError(-code, msg)
    return OSError(msg)
