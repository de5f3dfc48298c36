"""What the transports of :mod:`uvffi.aio` share: libuv error codes as ``OSError``,
the fatal-error report, the write-buffer flow control, the asyncio ``Server``
bookkeeping (whose signature changed in 3.13) and the scheduling helpers.

Written for asyncio's semantics (``selector_events``, ``unix_events``) on Python 3.9 to
3.13, CPython and PyPy: version differences are found by feature detection here, once.
"""

from __future__ import annotations

import asyncio
import inspect
import os
import socket
import warnings
from asyncio import base_events, transports
from asyncio.log import logger
from typing import Any, Callable, Dict, Optional, Tuple

from ..errno import errorcode, strerror

__all__ = [
    "uv_exception", "uv_error_exception", "FlowControl", "TransportBase", "SocketTransportBase", "server_attach",
    "server_detach",
    "set_result_unless_cancelled", "socket_extra", "check_data", "start_after_waiter", "release_fd_watchers",
    "LOG_THRESHOLD_FOR_CONNLOST_WRITES", "register_transport", "unregister_transport", "write_to_handle",
    "queued_rest",
]

LOG_THRESHOLD_FOR_CONNLOST_WRITES = 5
"""After this many writes to a lost connection, each further one logs a warning (asyncio's constant)."""

_UV_EOF = -4095  # libuv's end of file: not an errno


def uv_exception(code: int) -> OSError:
    """libuv's negative error code as the ``OSError`` asyncio would raise for it. On POSIX a
    libuv code is ``-errno``, so ``OSError(errno, ...)`` picks the subclass (``UV_ECONNRESET``
    -> ``ConnectionResetError``, ``UV_EPIPE`` -> ``BrokenPipeError``, ...)."""
    if code == _UV_EOF:
        return ConnectionResetError("unexpected end of stream")  # never made for a clean EOF
    if -4000 < code < 0:
        return OSError(-code, os.strerror(-code))
    return OSError(code, f"{strerror(code)} ({errorcode.get(code, 'UV_UNKNOWN')})")


def uv_error_exception(exc: BaseException) -> BaseException:
    """A uvffi exception (``StreamError(code, message)``, ...) as :func:`uv_exception` makes it;
    any other exception unchanged."""
    from ..error import UVError
    if isinstance(exc, UVError) and exc.args and isinstance(exc.args[0], int):
        return uv_exception(exc.args[0])
    return exc


# asyncio's _FATAL_ERROR_IGNORE: a connection error is routine, not worth the exception handler.
_ROUTINE_ERRORS = (BrokenPipeError, ConnectionResetError, ConnectionAbortedError)


def set_result_unless_cancelled(fut: "asyncio.Future[Any]", result: Any) -> None:
    """Set ``fut``'s result unless it was cancelled (asyncio's ``futures._set_result_unless_cancelled``)."""
    if not fut.cancelled():
        fut.set_result(result)


def _takes_transport(method: Callable[..., Any]) -> bool:
    """Whether ``Server._attach`` / ``_detach`` take the transport (3.13's client tracking)."""
    try:
        return len(inspect.signature(method).parameters) >= 2  # self, transport
    except (TypeError, ValueError):  # pragma: no cover - a built-in without a signature
        return False


_ATTACH_TAKES_TRANSPORT = _takes_transport(base_events.Server._attach)  # type: ignore[attr-defined]
_DETACH_TAKES_TRANSPORT = _takes_transport(base_events.Server._detach)  # type: ignore[attr-defined]


def server_attach(server: Any, transport: Any) -> None:
    """Count ``transport`` as one of ``server``'s connections (``Server._attach``)."""
    if _ATTACH_TAKES_TRANSPORT:
        server._attach(transport)
    else:
        server._attach()


def server_detach(server: Any, transport: Any) -> None:
    """Uncount ``transport`` (``Server._detach``): ``wait_closed()`` ends with the last one."""
    if _DETACH_TAKES_TRANSPORT:
        server._detach(transport)
    else:
        server._detach()


def socket_extra(sock: socket.socket, extra: Dict[str, Any]) -> None:
    """Fill ``extra`` as asyncio does for a socket: ``socket`` (a ``TransportSocket`` where
    asyncio has one), ``sockname`` and ``peername`` (None when unavailable)."""
    try:
        from asyncio import trsock
        extra["socket"] = trsock.TransportSocket(sock)
    except ImportError:  # pragma: no cover - every supported Python has asyncio.trsock
        extra["socket"] = sock
    if "sockname" not in extra:
        try:
            extra["sockname"] = sock.getsockname()
        except OSError:
            extra["sockname"] = None
    if "peername" not in extra:
        try:
            extra["peername"] = sock.getpeername()
        except OSError:
            extra["peername"] = None


class TransportBase:
    """What every transport here has: the loop, the protocol, ``extra``, ``is_closing``,
    and the fatal-error report. Subclasses set ``_closing`` and implement ``_force_close``."""

    _closing: bool = False
    _protocol: Any = None
    _what: str = "transport"  # for messages: "socket transport", "pipe transport", ...

    def __init__(self, loop: Any, extra: Optional[Dict[str, Any]]) -> None:
        self._loop = loop
        self._extra: Dict[str, Any] = dict(extra) if extra else {}

    def get_extra_info(self, name: str, default: Any = None) -> Any:
        """Optional information about the transport (``socket``, ``sockname``, ``peername``, ``pipe``, ...)."""
        return self._extra.get(name, default)

    def is_closing(self) -> bool:
        """True once the transport is closing or closed."""
        return self._closing

    def get_protocol(self) -> Any:
        """The protocol."""
        return self._protocol

    def _force_close(self, exc: Optional[BaseException]) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _drop_write(self, message: str) -> None:
        """A write to a lost connection is dropped and counted (``_conn_lost``); from the
        fifth on, each logs ``message`` as a warning, as asyncio's transports do."""
        conn_lost: int = getattr(self, "_conn_lost", 0)
        if conn_lost >= LOG_THRESHOLD_FOR_CONNLOST_WRITES:
            logger.warning(message)
        self._conn_lost = conn_lost + 1

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on transport") -> None:
        """Report ``exc`` (a routine connection error only in debug mode, as asyncio) and close
        the transport at once: the protocol then gets ``connection_lost(exc)``."""
        if isinstance(exc, _ROUTINE_ERRORS):
            if self._loop is not None and self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        elif self._loop is not None:
            self._loop.call_exception_handler({
                "message": message,
                "exception": exc,
                "transport": self,
                "protocol": self._protocol,
            })
        self._force_close(exc)

    def _holds_resources(self) -> bool:
        """Whether the fd (or pipe object) is still the transport's to close."""
        return getattr(self, "_handle", None) is not None

    def _release(self) -> None:
        """Close what the transport still holds, at once (from the finaliser)."""
        self._close_handle()

    def _close_handle(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def __del__(self, _warn: Any = warnings.warn) -> None:
        # asyncio's rule: a transport dropped while it still holds its fd is a resource leak
        # worth a warning (also when it was closed but the loop stopped before it finished).
        if self._holds_resources():
            _warn(f"unclosed transport {self!r}", ResourceWarning, source=self)
            try:
                self._release()
            except Exception:  # noqa: BLE001 - a finaliser must not raise; the loop may be closed
                pass


def register_transport(loop: Any, fd: int, transport: Any) -> None:
    """Put ``transport`` in the loop's ``_transports`` under ``fd``: ``add_reader`` and the
    ``sock_*`` methods then refuse the fd with asyncio's RuntimeError while it is open."""
    transports = getattr(loop, "_transports", None)
    if transports is not None:
        transports[fd] = transport


def unregister_transport(loop: Any, fd: int, transport: Any) -> None:
    """Take ``transport`` out of the loop's ``_transports`` (if ``fd`` is still its)."""
    transports = getattr(loop, "_transports", None)
    if transports is not None and transports.get(fd) is transport:
        del transports[fd]


class SocketTransportBase(TransportBase):
    """Closing a transport over a uvffi handle that owns a socket's fd (the stream and the
    datagram transports): :meth:`close` waits for the queued writes, :meth:`abort` drops
    them; ``connection_lost`` comes once, from the ready queue, and the handle is closed
    and the socket detached (libuv closes the fd) after it.

    The constructor sets ``_handle``, ``_sock``, ``_fd``, ``_conn_lost`` (0), ``_pending_writes``
    (the subclass counts its writes queued in libuv with its callback) and ``_reading``, and
    registers the transport in the loop's ``_transports``; the subclass gives
    :meth:`_stop_reading`, and calls :meth:`_lost_when_written` when a queued write is done."""

    _handle: Any
    _sock: Optional[socket.socket]
    _fd: int
    _conn_lost: int
    _pending_writes: int
    _reading: bool

    def __init__(self, loop: Any, handle: Any, sock: socket.socket, extra: Optional[Dict[str, Any]]) -> None:
        TransportBase.__init__(self, loop, extra)
        socket_extra(sock, self._extra)
        self._handle = handle
        self._sock = sock
        self._fd = sock.fileno()
        self._closing = False
        self._conn_lost = 0        # >0 once connection_lost is on its way; counts writes after it
        self._pending_writes = 0   # writes in libuv's queue with the subclass's callback
        self._reading = False      # the handle reads now
        register_transport(loop, self._fd, self)  # the loop's "fd is used by a transport" check

    def _stop_reading(self) -> None:  # pragma: no cover - overridden
        raise NotImplementedError

    def _connect(self, start_reading: Callable[[], None], waiter: Optional["asyncio.Future[Any]"]) -> None:
        """The end of the subclass's constructor: ``connection_made``, then reading, then the
        waiter's result, in asyncio's order (see :func:`start_after_waiter`)."""
        loop = self._loop
        loop.call_soon(self._protocol.connection_made, self)
        start_after_waiter(loop, start_reading)  # after connection_made and the waiter, unless paused
        if waiter is not None:
            loop.call_soon(set_result_unless_cancelled, waiter, None)

    def close(self) -> None:
        """Close once the queued writes are written: ``connection_lost(None)`` then."""
        if self._closing:
            return
        self._closing = True
        self._stop_reading()
        if not self._pending_writes:
            self._conn_lost += 1
            self._loop.call_soon(self._call_connection_lost, None)

    def abort(self) -> None:
        """Close at once, dropping what is queued: ``connection_lost(None)`` soon."""
        self._force_close(None)

    def _force_close(self, exc: Optional[BaseException]) -> None:
        if self._conn_lost:
            return
        self._closing = True
        self._stop_reading()
        self._conn_lost += 1
        self._close_handle()  # queued writes are cancelled (their callbacks see _conn_lost)
        self._loop.call_soon(self._call_connection_lost, exc)

    def _lost_when_written(self) -> None:
        """After a queued write is done: a :meth:`close` that waited for it ends now."""
        if not self._pending_writes and self._closing:
            self._conn_lost += 1
            self._loop.call_soon(self._call_connection_lost, None)

    def _close_handle(self) -> None:
        handle, sock = self._handle, self._sock
        self._handle = None
        self._sock = None
        self._reading = False
        if handle is None:
            return
        unregister_transport(self._loop, self._fd, self)
        if sock is not None:
            sock.detach()  # the fd is libuv's: the socket object must not close it too
        if not handle.closed:
            handle.close()

    def _call_connection_lost(self, exc: Optional[BaseException]) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._close_handle()
            self._protocol = None
            self._loop = None


def release_fd_watchers(loop: Any) -> None:
    """Before a libuv handle takes over an fd: let the loop's ``add_reader``/``add_writer`` table
    (``uvffi.aio.readers.FdWatchers``) close the Polls it keeps without callbacks until its next
    sync, now. A Poll still open on the fd (``sock_connect``'s, in the same iteration) would make
    libuv refuse the handle (``UV_EEXIST``), and closing it later would ``epoll_ctl(DEL)`` the fd
    from under the handle."""
    sync = getattr(getattr(loop, "_fds", None), "sync", None)
    if sync is not None:
        sync()


def start_after_waiter(loop: Any, start: Callable[[], None]) -> None:
    """Start reading one loop iteration later than asyncio's transports register their reader.

    libuv delivers data inside the loop's poll, before the ready queue runs, and the transports
    hand it to the protocol at once; asyncio's reader callback, in contrast, is queued *behind*
    the task that awaits the connection waiter. Starting libuv's reading from a callback queued
    by a callback (so after that task's step) keeps asyncio's order: the awaiting coroutine
    (``create_connection``, ``connect_read_pipe``, ...) resumes before the first data arrives."""
    loop.call_soon(loop.call_soon, start)


class FlowControl(transports._FlowControlMixin):
    """The write side's high/low water marks (asyncio's defaults: 64 KiB high, a quarter of it
    low) and the ``pause_writing()`` / ``resume_writing()`` calls at them. The subclass gives
    ``get_write_buffer_size``, calls :meth:`_init_flow_control` in its constructor,
    :meth:`_maybe_pause_protocol` after queueing and :meth:`_maybe_resume_protocol` after the
    buffer shrank.

    Its base is asyncio's own flow-control mix-in (whose slots hold ``_loop``, ``_high_water``,
    ``_low_water`` and ``_protocol_paused``) only because ``loop.sendfile()``'s fallback accepts
    nothing else; the methods are these."""

    _protocol: Any = None
    _loop: Any  # a slot of asyncio's mix-in

    def _init_flow_control(self) -> None:
        self._protocol_paused = False
        self._set_write_buffer_limits()

    def get_write_buffer_size(self) -> int:  # pragma: no cover - overridden
        """Bytes queued for writing."""
        raise NotImplementedError

    def get_write_buffer_limits(self) -> Tuple[int, int]:
        """``(low, high)``: the write buffer's water marks."""
        return (self._low_water, self._high_water)

    def _set_write_buffer_limits(self, high: Optional[int] = None, low: Optional[int] = None) -> None:
        if high is None:
            high = 64 * 1024 if low is None else 4 * low
        if low is None:
            low = high // 4
        if not high >= low >= 0:
            raise ValueError(f"high ({high!r}) must be >= low ({low!r}) must be >= 0")
        self._high_water = high
        self._low_water = low

    def set_write_buffer_limits(self, high: Optional[int] = None, low: Optional[int] = None) -> None:
        """Set the water marks: ``pause_writing()`` once the buffer is above ``high``,
        ``resume_writing()`` once it is back at ``low`` or below."""
        self._set_write_buffer_limits(high=high, low=low)
        self._maybe_pause_protocol()
        self._maybe_resume_protocol()

    def _report_protocol_error(self, exc: BaseException, what: str) -> None:
        self._loop.call_exception_handler({
            "message": f"protocol.{what}() failed",
            "exception": exc,
            "transport": self,
            "protocol": self._protocol,
        })

    def _maybe_pause_protocol(self) -> None:
        if self._protocol_paused or self.get_write_buffer_size() <= self._high_water:
            return
        self._protocol_paused = True
        try:
            self._protocol.pause_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - asyncio reports it and goes on
            self._report_protocol_error(exc, "pause_writing")

    def _maybe_resume_protocol(self) -> None:
        if not self._protocol_paused or self.get_write_buffer_size() > self._low_water:
            return
        self._protocol_paused = False
        try:
            self._protocol.resume_writing()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:  # noqa: BLE001 - asyncio reports it and goes on
            self._report_protocol_error(exc, "resume_writing")


def write_to_handle(transport: Any, handle: Any, data: bytes) -> None:
    """The writing of the stream and write-pipe transports: with nothing of theirs queued,
    uvffi's fast path hands the kernel what it takes now (``uv_try_write``) and only the
    rest is queued; behind queued writes, ``data`` is queued. A queued write counts in
    ``transport._pending_writes`` and calls ``transport._on_written`` when done; then
    ``pause_writing`` if the queue went above the high-water mark. UVError as libuv says."""
    if not transport._pending_writes:
        req = handle.write(data)
        if req._req is not None:  # still pending: not all of it went at once
            queued_rest(transport, req)
        return
    handle.write(data, transport._on_written)
    transport._pending_writes += 1
    transport._maybe_pause_protocol()


def queued_rest(transport: Any, req: Any) -> None:
    """After a callback-less write that the kernel did not take whole: the rest was
    queued (``req`` is still pending). A WriteRequest reads its callback when it
    completes, so it gets the transport's, to hear when the queue drains; the write
    counts in ``_pending_writes``, and ``pause_writing`` comes if the queue went above
    the high-water mark."""
    req._callback = transport._on_written
    transport._pending_writes += 1
    transport._maybe_pause_protocol()


def check_data(data: Any) -> None:
    """TypeError unless ``data`` is bytes, bytearray or memoryview (asyncio's rule for write)."""
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"data argument must be a bytes-like object, not {type(data).__name__!r}")
