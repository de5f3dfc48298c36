"""Pipe transports of :mod:`uvffi.aio` (``loop.connect_read_pipe`` / ``connect_write_pipe``): a
uvffi :class:`~uvffi.Pipe` on a *duplicate* of the pipe object's fd.

A file object cannot give its fd away (``FileIO`` has no ``detach``), so libuv gets its own
``os.dup`` of it: libuv closes the duplicate with the handle and the transport closes the pipe
object as asyncio does, each fd once. Both share the open file description, so
non-blocking mode, EOF and errors are the same for both.

As asyncio's unix pipe transports: pipes, sockets and character devices only; a read pipe
closes itself after ``eof_received``; a write pipe's ``write_eof`` (and ``close``) closes it once
the queued data is written, and it notices that the reading end went away (a pipe's reader
closing, or anything readable on a socket) without waiting for a write to fail.
"""

from __future__ import annotations

import asyncio
import errno
import os
import select
import stat
from asyncio.log import logger
from typing import Any, Dict, Optional, Union

from ..errno import UV_ECANCELED, UV_EOF
from ..error import UVError
from ..handles.pipe import Pipe
from ..handles.poll import UV_DISCONNECT, UV_READABLE, Poll
from ._transport_base import (
    FlowControl,
    TransportBase,
    check_data,
    register_transport,
    set_result_unless_cancelled,
    start_after_waiter,
    unregister_transport,
    uv_error_exception,
    uv_exception,
    write_to_handle,
)

__all__ = ["UVReadPipeTransport", "UVWritePipeTransport", "make_read_pipe_transport", "make_write_pipe_transport"]


def _check_epollable(fd: int) -> None:
    """Raise asyncio's error for an fd the kernel cannot watch (``/dev/null`` and other character
    devices without poll support: ``PermissionError``) before libuv is given it: libuv's poll would
    abort the process on it."""
    if not hasattr(select, "epoll"):
        return
    ep = select.epoll()
    try:
        ep.register(fd, select.EPOLLIN)
    finally:
        ep.close()


class _PipeTransport(TransportBase):
    """What both pipe directions share: the mode check, the duplicate fd's handle, closing."""

    _what = "pipe transport"

    def __init__(self, loop: Any, pipe: Any, protocol: asyncio.BaseProtocol,
                 extra: Optional[Dict[str, Any]]) -> None:
        TransportBase.__init__(self, loop, extra)
        self._extra["pipe"] = pipe
        self._pipe: Any = pipe
        self._fileno: int = pipe.fileno()
        self._protocol = protocol
        self._closing = False
        mode = os.fstat(self._fileno).st_mode
        self._is_socket = stat.S_ISSOCK(mode)
        self._is_fifo = stat.S_ISFIFO(mode)
        self._closing = True  # until set up: a failed constructor leaves nothing to warn about
        if not (self._is_fifo or self._is_socket or stat.S_ISCHR(mode)):
            self._pipe = None
            self._fileno = -1
            raise ValueError("Pipe transport is for pipes/sockets only.")
        if stat.S_ISCHR(mode):
            _check_epollable(self._fileno)
        os.set_blocking(self._fileno, False)
        self._handle: Optional[Pipe] = Pipe(loop.uv_loop)
        dup = os.dup(self._fileno)
        try:
            self._handle.open(dup)
        except UVError as exc:
            os.close(dup)
            self._handle.close()
            self._handle = None
            raise uv_error_exception(exc) from None
        self._closing = False
        register_transport(loop, self._fileno, self)

    def __repr__(self) -> str:
        state = "closed" if self._pipe is None else ("closing" if self._closing else "open")
        return f"<{type(self).__name__} {state} fd={self._fileno}>"

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Set a new protocol."""
        self._protocol = protocol

    def _close_handle(self) -> None:
        handle, self._handle = self._handle, None
        if handle is not None and not handle.closed:
            handle.close()  # closes libuv's duplicate fd; queued writes are cancelled

    def _holds_resources(self) -> bool:
        return getattr(self, "_pipe", None) is not None  # asyncio's pipes warn while they hold it

    def _release(self) -> None:
        pipe, self._pipe = self._pipe, None
        try:
            self._close_handle()
        finally:
            pipe.close()

    @staticmethod
    def _is_routine(exc: BaseException) -> bool:  # pragma: no cover - overridden
        raise NotImplementedError

    def _fatal_error(self, exc: BaseException, message: str = "Fatal error on pipe transport") -> None:
        """Report ``exc`` (a routine error of the direction only in debug mode, as asyncio's
        pipes) and close the transport at once."""
        if self._is_routine(exc):
            if self._loop.get_debug():
                logger.debug("%r: %s", self, message, exc_info=True)
        else:
            self._loop.call_exception_handler({
                "message": message, "exception": exc, "transport": self, "protocol": self._protocol,
            })
        self._force_close(exc)

    def _call_connection_lost(self, exc: Optional[BaseException]) -> None:
        try:
            self._protocol.connection_lost(exc)
        finally:
            self._close_handle()
            unregister_transport(self._loop, self._fileno, self)
            pipe, self._pipe = self._pipe, None
            if pipe is not None:
                pipe.close()
            self._protocol = None
            self._loop = None


class UVReadPipeTransport(_PipeTransport, asyncio.ReadTransport):
    """The reading end of a pipe (or a socket, a character device) as an asyncio read transport."""

    def __init__(self, loop: Any, pipe: Any, protocol: asyncio.BaseProtocol,
                 waiter: Optional["asyncio.Future[Any]"] = None, extra: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(loop, pipe, protocol, extra)
        self._paused = False
        self._reading = False
        self._lost_scheduled = False
        loop.call_soon(self._protocol.connection_made, self)
        start_after_waiter(loop, self._start_reading)  # after connection_made and the waiter, unless paused
        if waiter is not None:
            loop.call_soon(set_result_unless_cancelled, waiter, None)

    def _start_reading(self) -> None:
        handle = self._handle
        if self._reading or self._closing or self._paused or handle is None:
            return
        try:
            handle.start_read(self._on_read)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), "Fatal read error on pipe transport")
            return
        self._reading = True

    def _stop_reading(self) -> None:
        if self._reading and self._handle is not None and not self._handle.closed:
            self._handle.stop_read()
        self._reading = False

    def _on_read(self, handle: Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        if data is not None:
            if self._closing:
                return
            try:
                self._protocol.data_received(data)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")
            return
        self._reading = False
        if error == UV_EOF:
            if self._loop.get_debug():
                logger.info("%r was closed by peer", self)
            self._closing = True
            self._lost_scheduled = True
            self._loop.call_soon(self._protocol.eof_received)
            self._loop.call_soon(self._call_connection_lost, None)
        elif error is not None:
            self._fatal_error(uv_exception(error), "Fatal read error on pipe transport")

    def pause_reading(self) -> None:
        """Stop reading until :meth:`resume_reading`."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._stop_reading()

    def resume_reading(self) -> None:
        """Resume reading."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_reading()

    def is_reading(self) -> bool:
        """True unless paused or closing."""
        return not self._paused and not self._closing

    def close(self) -> None:
        """Close: ``connection_lost(None)`` soon."""
        if not self._closing:
            self._force_close(None)

    @staticmethod
    def _is_routine(exc: BaseException) -> bool:
        # asyncio's read pipe: EIO (a pty whose other side closed) is routine, the rest is reported.
        return isinstance(exc, OSError) and exc.errno == errno.EIO

    def _force_close(self, exc: Optional[BaseException]) -> None:
        if self._lost_scheduled:
            return
        self._lost_scheduled = True
        self._closing = True
        self._stop_reading()
        self._loop.call_soon(self._call_connection_lost, exc)


class UVWritePipeTransport(_PipeTransport, FlowControl, asyncio.WriteTransport):
    """The writing end of a pipe (or a socket, a character device) as an asyncio write transport."""

    def __init__(self, loop: Any, pipe: Any, protocol: asyncio.BaseProtocol,
                 waiter: Optional["asyncio.Future[Any]"] = None, extra: Optional[Dict[str, Any]] = None) -> None:
        super().__init__(loop, pipe, protocol, extra)
        self._init_flow_control()
        self._conn_lost = 0
        self._pending_writes = 0
        self._watch: Optional[Poll] = None
        loop.call_soon(self._protocol.connection_made, self)
        if self._is_socket or self._is_fifo:
            # asyncio's rule: the reading end going away (or, on a socket, anything readable)
            # closes the transport, without waiting for a write to fail.
            loop.call_soon(self._watch_reader)
        if waiter is not None:
            loop.call_soon(set_result_unless_cancelled, waiter, None)

    def _watch_reader(self) -> None:
        handle = self._handle
        if self._closing or handle is None:
            return
        try:
            if self._is_socket:
                handle.start_read(self._on_readable)
            else:
                # A pipe's writing end is not readable for libuv: poll a duplicate of its fd,
                # which reports an error once the last reader is gone.
                self._watch = Poll(self._loop.uv_loop, os.dup(self._fileno))
                self._watch.start(UV_READABLE | UV_DISCONNECT, self._on_reader_event)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), "Fatal error on pipe transport")

    def _on_readable(self, handle: Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        self._reader_gone()

    def _on_reader_event(self, poll: Poll, events: int, error: Optional[int]) -> None:
        self._reader_gone()

    def _reader_gone(self) -> None:
        if self._loop is not None and self._loop.get_debug():
            logger.info("%r was closed by peer", self)
        if self._pending_writes:
            self._force_close(BrokenPipeError())
        else:
            self._force_close(None)

    def _release(self) -> None:
        self._stop_watch()
        super()._release()

    def _stop_watch(self) -> None:
        watch, self._watch = self._watch, None
        if watch is not None and not watch.closed:
            fd = watch.fileno()
            watch.close()
            os.close(fd)  # a Poll does not own its fd

    def get_write_buffer_size(self) -> int:
        """Bytes waiting in libuv's write queue."""
        handle = self._handle
        return 0 if handle is None else handle.write_queue_size

    def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Write ``data`` (copied unless it is ``bytes``). Ignored once closing, as asyncio's pipes."""
        check_data(data)
        if not data:
            return
        if self._conn_lost or self._closing:
            self._drop_write("pipe closed by peer or os.write(pipe, data) raised exception.")
            return
        if type(data) is not bytes:
            data = bytes(data)
        handle = self._handle
        assert handle is not None
        try:
            write_to_handle(self, handle, data)
        except UVError as exc:
            self._conn_lost += 1
            self._fatal_error(uv_error_exception(exc), "Fatal write error on pipe transport")

    def _on_written(self, handle: Pipe, error: Optional[int]) -> None:
        self._pending_writes -= 1
        if self._conn_lost and error is not None:
            return
        if error is not None:
            if error != UV_ECANCELED:
                self._conn_lost += 1
                self._fatal_error(uv_exception(error), "Fatal write error on pipe transport")
            return
        self._maybe_resume_protocol()
        if not self._pending_writes and self._closing and self._loop is not None and self._handle is not None:
            self._stop_watch()
            self._loop.call_soon(self._call_connection_lost, None)

    def can_write_eof(self) -> bool:
        """True: ``write_eof`` closes the pipe once the queued data is written."""
        return True

    def write_eof(self) -> None:
        """Close the pipe once the queued data is written: the reader sees EOF."""
        if self._closing:
            return
        self._closing = True
        if not self._pending_writes:
            self._stop_watch()
            self._loop.call_soon(self._call_connection_lost, None)

    def close(self) -> None:
        """As :meth:`write_eof`."""
        if self._pipe is not None and not self._closing:
            self.write_eof()

    def abort(self) -> None:
        """Close at once, dropping queued data."""
        self._force_close(None)

    @staticmethod
    def _is_routine(exc: BaseException) -> bool:
        # asyncio's write pipe: any OSError (EPIPE, ...) is routine, the rest is reported.
        return isinstance(exc, OSError)

    def _force_close(self, exc: Optional[BaseException]) -> None:
        if self._handle is None or self._loop is None:
            return
        already = self._closing and not self._pending_writes
        self._closing = True
        self._stop_watch()
        self._close_handle()  # drops what is queued
        if not already:  # otherwise connection_lost is already on its way
            self._loop.call_soon(self._call_connection_lost, exc)


def make_read_pipe_transport(loop: Any, pipe: Any, protocol: asyncio.BaseProtocol,
                             waiter: Optional["asyncio.Future[Any]"] = None,
                             extra: Optional[Dict[str, Any]] = None) -> asyncio.ReadTransport:
    """asyncio's ``_make_read_pipe_transport``: a read transport over the file-like ``pipe``."""
    return UVReadPipeTransport(loop, pipe, protocol, waiter, extra)


def make_write_pipe_transport(loop: Any, pipe: Any, protocol: asyncio.BaseProtocol,
                              waiter: Optional["asyncio.Future[Any]"] = None,
                              extra: Optional[Dict[str, Any]] = None) -> asyncio.WriteTransport:
    """asyncio's ``_make_write_pipe_transport``: a write transport over the file-like ``pipe``."""
    return UVWritePipeTransport(loop, pipe, protocol, waiter, extra)
