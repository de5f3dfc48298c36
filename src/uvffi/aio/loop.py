"""The asyncio event loop on libuv: :class:`Loop`.

How it is built
---------------
:class:`Loop` subclasses :class:`asyncio.BaseEventLoop`, which keeps asyncio's own
ready queue (``_ready``), timer heap (``_scheduled``), ``_run_once``, task factory,
exception handler, debug mode, executor and the high-level networking methods. Its
``_run_once`` computes how long it may wait (0 when callbacks are ready, the first
timer's delay, or None), then calls ``self._selector.select(timeout)``: here that is
:class:`_UVSelector`, which runs the libuv loop once instead of calling a selector:

- ``timeout == 0``: ``uv_run(UV_RUN_NOWAIT)``, I/O is polled without waiting; skipped
  when no referenced libuv handle or request but the loop's own wakeup is active (so an
  *unreferenced* raw uvffi handle on ``uv_loop`` runs only in iterations that poll);
- a positive timeout: a libuv timer armed for it, rounded *up* to libuv's 1 ms, then
  ``uv_run(UV_RUN_ONCE)``; the timer stays armed after the iteration, and is re-armed
  only when asyncio's first timer (the deadline the timeout came from) is another one;
  asyncio itself then decides which of its timers are due
  (``TimerHandle.when() < loop.time() + clock resolution``), so a libuv wakeup that
  comes a little early only costs one more iteration and no callback runs early;
- ``None``: ``uv_run(UV_RUN_ONCE)`` with no timer: libuv waits until an event comes.

The loop's own libuv callbacks (fd readiness, the wakeup) do not run asyncio code
themselves: they append asyncio Handles to ``loop._ready``, which asyncio then runs in
its own order (the transports do the same, see below). ``_process_events`` is a no-op. ``time()`` is asyncio's
``time.monotonic()``, the clock libuv's ``uv_hrtime`` reads too on Linux and macOS.

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
import importlib
import inspect
import math
import signal
import socket
import sys
import threading
import warnings
import weakref
from asyncio import base_events, events
from types import TracebackType
from typing import TYPE_CHECKING, Any, Callable, Deque, Dict, List, Optional, Tuple, Type, Union

from .._core import lib
from ..error import HandleClosedError, UVError
from ..handles.async_ import Async
from ..handles.timer import Timer
from ..loop import RUN_NOWAIT, RUN_ONCE
from ..loop import Loop as UVLoop
from .readers import FdWatchers, fileno_of
from .sock import _SockMethods

__all__ = ["Loop"]

_loop_active: Callable[[Any], int] = lib.uvffi_loop_active  # ref'd active handles + requests (+1 if closing)
_MAX_TIMER_MS = 24 * 3600 * 1000  # asyncio caps a wait at 24 h (MAXIMUM_SELECT_TIMEOUT) too
_EXPIRED = float("-inf")  # _UVSelector._armed once its timer fired: no asyncio deadline equals it


def _impl(name: str) -> Any:
    """A transport module of this package, imported at first use."""
    return importlib.import_module(f"{__package__}.{name}")


class _UVSelector:
    """What :meth:`asyncio.BaseEventLoop._run_once` calls as ``self._selector``:
    ``select(timeout)`` runs the libuv loop once and returns no events (libuv's
    callbacks have already put asyncio Handles into the ready queue)."""

    def __init__(self, loop: "Loop") -> None:
        self._aio = loop
        self._uv = loop.uv_loop
        self._run = loop.uv_loop.run
        self._fds = loop._fds
        self._timer = Timer(loop.uv_loop)
        self._timer._uvffi_internal = True  # type: ignore[attr-defined]  # not listed in uv_loop.handles
        self._timer.ref = False  # the wait it bounds is the waker's; alone, it keeps nothing alive
        # The asyncio deadline (``TimerHandle.when()``) the libuv timer is armed for, None
        # when it is stopped, _EXPIRED once it fired (it repeats until re-armed or stopped):
        # an iteration waiting for the same first timer as the one before leaves the timer
        # as it is (no stop, no start).
        self._armed: Optional[float] = None

    def _on_timer(self, timer: Timer) -> None:
        """The timeout timer's callback: it ended the wait. It repeats until the next
        ``select`` re-arms or stops it (``_EXPIRED`` matches no deadline)."""
        self._armed = _EXPIRED

    def select(self, timeout: Optional[float]) -> Tuple[()]:
        """Run one libuv iteration, waiting at most ``timeout`` seconds (None: until
        an event)."""
        fds = self._fds
        if fds._dirty:
            fds.sync()
        aio = self._aio
        if aio._waker_unref:
            aio._waker.ref = True
        try:
            if timeout is None:
                if self._armed is not None:
                    self._armed = None
                    if not self._timer.closed:
                        self._timer.stop()
                self._run(RUN_ONCE)
            elif timeout <= 0:
                # Callbacks are ready: libuv is polled without waiting, unless nothing of
                # libuv's but our wakeup is active (no referenced handle, no request, nothing
                # closing): then the run could only find the wakeup, whose callbacks are in
                # the ready queue already. (A run costs ~10 µs on PyPy: a call_soon chain
                # would pay it per callback.) The timer may stay armed: unreferenced, it
                # costs nothing here.
                uv = self._uv
                if uv._scheduler is None and uv._threadsafe is None and _loop_active(uv._lp) <= 1:
                    return ()
                self._run(RUN_NOWAIT)
            else:
                # asyncio computed ``timeout`` from its first timer: while that stays the
                # first, the libuv timer armed for it is still right.
                scheduled = aio._scheduled
                when = scheduled[0].when() if scheduled else None
                if when is None or when != self._armed:
                    # Rounded up: libuv's timers count whole milliseconds and must not end
                    # the wait before asyncio's timer is due. Repeating: libuv before 1.45
                    # runs due timers before the poll too, and a one-shot timer that came
                    # due there (the clock ticked a millisecond) would leave the poll with
                    # no timeout at all; a repeating one bounds it by another ``ms``.
                    ms = min(math.ceil(timeout * 1000.0), _MAX_TIMER_MS)
                    self._uv.update_time()  # the timer counts from now, not from the iteration's start
                    self._timer._start_ms(self._on_timer, ms, ms)
                    self._armed = when
                self._run(RUN_ONCE)
        finally:
            if aio._waker_unref and not aio._waker.closed:
                aio._waker.ref = False
        return ()

    def close(self) -> None:
        """Close the timeout timer."""
        if not self._timer.closed:
            self._timer.close()


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

    if TYPE_CHECKING:  # asyncio.BaseEventLoop's internals used here (typeshed leaves them out)
        _ready: Deque[events.Handle]
        _scheduled: List[events.TimerHandle]
        _closed: bool
        _debug: bool

        def _check_closed(self) -> None: ...

        def _add_callback_signalsafe(self, handle: events.Handle) -> None: ...

    def __init__(self, uv_loop: Optional[UVLoop] = None) -> None:
        if uv_loop is not None and not isinstance(uv_loop, UVLoop):
            raise TypeError(f"uv_loop must be a uvffi.Loop or None, not {type(uv_loop).__name__}")
        if uv_loop is not None and uv_loop.closed:
            raise RuntimeError("the uvffi loop is closed")
        owned = uv_loop is None
        uv = UVLoop() if uv_loop is None else uv_loop  # before asyncio's part: a failure leaves nothing open
        super().__init__()
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
            self._selector = _UVSelector(self)
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
        held = self.uv_loop._hold_wakeup() if not self._closed and not self.is_running() else False
        try:
            super().run_forever()
        finally:
            if held:
                self.uv_loop._release_wakeup()

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
        for sig in list(self._signal_handlers):
            try:
                self.remove_signal_handler(sig)
            except (RuntimeError, ValueError, OSError):
                pass  # another thread (no signal.signal there) or a signal that cannot be restored
        self._close_signal_wakeup()
        uv = self.uv_loop
        if uv.closed:
            return
        self._fds.close()
        self._selector.close()
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
