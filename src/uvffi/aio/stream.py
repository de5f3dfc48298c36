"""Stream transports of :mod:`uvffi.aio`: TCP and unix sockets over uvffi's
:class:`~uvffi.TCP` and :class:`~uvffi.Pipe`, and SSL over them through asyncio's
``sslproto``.

The socket and libuv share one fd: the handle is opened on ``sock.fileno()`` and owns it
from then on (libuv closes it with the handle). The Python socket stays in
``get_extra_info('socket')`` for options and addresses, and is *detached* (not closed)
when the handle is closed, so the fd is closed exactly once, by libuv.
"""

from __future__ import annotations

import asyncio
import inspect
import io
import os
import socket
from asyncio import constants, sslproto
from asyncio.log import logger
from typing import Any, Dict, List, Optional, Union

from .._core import c_methods
from ..errno import UV_ECANCELED, UV_EOF
from ..error import UVError
from ..handles.pipe import Pipe
from ..handles.poll import UV_WRITABLE, Poll
from ..handles.stream import Stream
from ..handles.tcp import TCP
from ._transport_base import (
    FlowControl,
    SocketTransportBase,
    check_data,
    queued_rest,
    release_fd_watchers,
    server_attach,
    server_detach,
    uv_error_exception,
    uv_exception,
    write_to_handle,
)

__all__ = ["UVStreamTransport", "make_socket_transport", "make_ssl_transport", "open_stream_handle", "ssl_transport",
           "sendfile_native"]

_HAS_AF_UNIX = hasattr(socket, "AF_UNIX")


def open_stream_handle(loop: Any, sock: socket.socket) -> Stream:
    """A uvffi stream handle on ``loop.uv_loop`` opened on ``sock``'s fd: a :class:`~uvffi.Pipe`
    for a unix socket, a :class:`~uvffi.TCP` otherwise. The handle owns the fd from then on."""
    handle: Stream
    if _HAS_AF_UNIX and sock.family == socket.AF_UNIX:
        handle = Pipe(loop.uv_loop)
    else:
        handle = TCP(loop.uv_loop)
    release_fd_watchers(loop)
    try:
        handle.open(sock.fileno())
    except UVError as exc:
        handle.close()
        raise uv_error_exception(exc) from None
    return handle


@c_methods("StreamTransportOps")  # CPython: write() and the read callback's plain case in C
class UVStreamTransport(SocketTransportBase, FlowControl, asyncio.Transport):
    """An asyncio stream transport over a uvffi stream handle and the socket whose fd it owns.

    Reading: libuv reads into its loop buffer and the protocol gets each chunk from the
    read callback directly (``data_received``, or ``get_buffer``/``buffer_updated`` for
    an :class:`asyncio.BufferedProtocol`, fed chunk by chunk). Writing: a write with nothing
    queued goes to the kernel at once as far as it takes it (uvffi's ``uv_try_write`` fast
    path); the rest waits in libuv's write queue, whose size is
    :meth:`get_write_buffer_size` and drives ``pause_writing``/``resume_writing``.

    On CPython (unless ``UVFFI_NO_CBASE=1``) the plain case of :meth:`write` and of the read
    callback run in C (``StreamTransportOps``, ``_c/aio_stream.c``, first in the MRO), the
    rest in the Python methods here, with the same steps."""

    _what = "socket transport"
    # loop.sendfile(): the loop's _sendfile_native may use sendfile_native() below (zero copy);
    # otherwise asyncio falls back to write() with pause/resume_writing
    _sendfile_compatible = constants._SendfileMode.TRY_NATIVE
    _start_tls_compatible = True  # loop.start_tls() may put SSL over it

    def __init__(self, loop: Any, handle: Stream, sock: socket.socket, protocol: asyncio.BaseProtocol,
                 waiter: Optional["asyncio.Future[Any]"] = None, extra: Optional[Dict[str, Any]] = None,
                 server: Any = None) -> None:
        SocketTransportBase.__init__(self, loop, handle, sock, extra)
        self._init_flow_control()
        self._server = server
        self._eof = False          # write_eof() was called
        self._read_eof = False     # the peer's EOF arrived: reading is over
        self._paused = False       # pause_reading()
        self._drain_waiters: List["asyncio.Future[None]"] = []  # sendfile_native waits for the queue
        self._sendfile_active = False  # write() refuses meanwhile, as asyncio's transports
        self._protocol_connected = False
        self._buffered = False
        self.set_protocol(protocol)
        if _HAS_AF_UNIX and sock.family != socket.AF_UNIX and sock.type == socket.SOCK_STREAM:
            try:  # asyncio's default for TCP transports
                sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            except OSError:
                pass
        if server is not None:
            server_attach(server, self)
        self._connect(self._start_reading, waiter)

    def __repr__(self) -> str:
        state = "closed" if self._handle is None else ("closing" if self._closing else "open")
        info = [type(self).__name__, state, f"fd={self._fd}"]
        if self._handle is not None:
            info.append("reading" if self._reading else "not reading")
            size = self.get_write_buffer_size()
            info.append(f"write=<bufsize={size}{', paused' if self._protocol_paused else ''}>")
        return "<" + " ".join(info) + ">"

    # -- protocol ----------------------------------------------------------------

    def set_protocol(self, protocol: asyncio.BaseProtocol) -> None:
        """Set a new protocol (a :class:`asyncio.BufferedProtocol` is fed through its buffer)."""
        self._buffered = isinstance(protocol, asyncio.BufferedProtocol)
        self._protocol = protocol
        self._protocol_connected = True

    # -- reading -------------------------------------------------------------------

    def is_reading(self) -> bool:
        """True unless reading is paused or the transport is closing."""
        return not self._paused and not self._closing

    def pause_reading(self) -> None:
        """Stop calling the protocol with data until :meth:`resume_reading`."""
        if self._closing or self._paused:
            return
        self._paused = True
        self._stop_reading()
        if self._loop.get_debug():
            logger.debug("%r pauses reading", self)

    def resume_reading(self) -> None:
        """Resume calling the protocol with data."""
        if self._closing or not self._paused:
            return
        self._paused = False
        self._start_reading()
        if self._loop.get_debug():
            logger.debug("%r resumes reading", self)

    def _start_reading(self) -> None:
        handle = self._handle
        if self._reading or self._closing or self._paused or self._read_eof or handle is None:
            return
        try:
            handle.start_read(self._on_read)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), f"Fatal read error on {self._what}")
            return
        self._reading = True

    def _stop_reading(self) -> None:
        if not self._reading:
            return
        self._reading = False
        handle = self._handle
        if handle is not None and not handle.closed:
            handle.stop_read()

    def _on_read(self, handle: Stream, data: Optional[bytes], error: Optional[int]) -> None:
        """libuv's read callback: data, the peer's EOF, or an error."""
        if data is not None:
            if self._closing:  # closed by an earlier chunk's protocol call
                return
            if self._buffered:
                self._feed_buffered(data)
                return
            try:
                self._protocol.data_received(data)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal error: protocol.data_received() call failed.")
            return
        self._reading = False  # uvffi stops reading at EOF and at an error
        if error == UV_EOF:
            self._on_eof()
        elif error is not None:
            self._fatal_error(uv_exception(error), f"Fatal read error on {self._what}")

    def _feed_buffered(self, data: bytes) -> None:
        """Copy a chunk libuv read into the BufferedProtocol's buffers, as many as it takes."""
        view = memoryview(data)
        pos, size = 0, len(data)
        while pos < size and not self._closing:
            try:
                buf = memoryview(self._protocol.get_buffer(size - pos)).cast("B")
                if not buf.nbytes:
                    raise RuntimeError("get_buffer() returned an empty buffer")
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal error: protocol.get_buffer() call failed.")
                return
            n = min(buf.nbytes, size - pos)
            buf[:n] = view[pos:pos + n]
            pos += n
            try:
                self._protocol.buffer_updated(n)
            except (SystemExit, KeyboardInterrupt):
                raise
            except BaseException as exc:
                self._fatal_error(exc, "Fatal error: protocol.buffer_updated() call failed.")
                return

    def _on_eof(self) -> None:
        self._read_eof = True
        if self._loop.get_debug():
            logger.debug("%r received EOF", self)
        try:
            keep_open = self._protocol.eof_received()
        except (SystemExit, KeyboardInterrupt):
            raise
        except BaseException as exc:
            self._fatal_error(exc, "Fatal error: protocol.eof_received() call failed.")
            return
        if not keep_open:  # a true value keeps the transport half-open for writing
            self.close()

    # -- writing ---------------------------------------------------------------------

    def get_write_buffer_size(self) -> int:
        """Bytes waiting in libuv's write queue (what the kernel has not taken yet)."""
        handle = self._handle
        return 0 if handle is None else handle.write_queue_size

    def write(self, data: Union[bytes, bytearray, memoryview]) -> None:
        """Write ``data`` (copied unless it is ``bytes``: the caller may reuse its buffer)."""
        if type(data) is not bytes:
            check_data(data)
        if self._eof:
            raise RuntimeError("Cannot call write() after write_eof()")
        if self._sendfile_active:
            raise RuntimeError("unable to write; sendfile is in progress")
        if not data:
            return
        if self._conn_lost:
            self._drop_write("socket.send() raised exception.")
            return
        if type(data) is not bytes:
            data = bytes(data)
        handle = self._handle
        assert handle is not None
        try:
            if self._pending_writes:
                write_to_handle(self, handle, data)
            else:
                req = handle.write(data)
                if req._req is not None:  # not all taken at once: the rest is queued
                    queued_rest(self, req)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), f"Fatal write error on {self._what}")

    def _write_rest(self, handle: Stream, rest: memoryview) -> None:
        """The C write's partial case (StreamTransportOps, ``_c/aio_stream.c``): the kernel
        took the head of the data at once, ``rest`` is queued."""
        try:
            queued_rest(self, handle._write(rest, None, None))
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), f"Fatal write error on {self._what}")

    def writelines(self, list_of_data: Any) -> None:
        """Write each bytes-like object of ``list_of_data``, in order, as one write."""
        self.write(b"".join(list_of_data))

    def _on_written(self, handle: Stream, error: Optional[int]) -> None:
        """A queued write finished (``error`` None), failed, or was cancelled by a close."""
        self._pending_writes -= 1
        if not self._pending_writes and self._drain_waiters:
            self._wake_drain_waiters()
        if self._conn_lost:
            return  # aborted or lost: nothing more to report
        if error is not None:
            if error != UV_ECANCELED:
                self._fatal_error(uv_exception(error), f"Fatal write error on {self._what}")
            return
        self._maybe_resume_protocol()
        self._lost_when_written()

    def _wake_drain_waiters(self) -> None:
        waiters, self._drain_waiters = self._drain_waiters, []
        for fut in waiters:
            if not fut.done():
                fut.set_result(None)

    async def _wait_written(self) -> None:
        """Until libuv's write queue is empty (what sendfile_native waits for before it writes)."""
        if self._pending_writes:
            fut = self._loop.create_future()
            self._drain_waiters.append(fut)
            await fut

    def can_write_eof(self) -> bool:
        """True: the writing side can be shut down alone."""
        return True

    def write_eof(self) -> None:
        """Shut the writing side down once the queued writes are written (libuv orders it)."""
        if self._closing or self._eof:
            return
        self._eof = True
        handle = self._handle
        assert handle is not None
        try:
            handle.shutdown(self._on_shutdown)
        except UVError as exc:
            self._fatal_error(uv_error_exception(exc), f"Fatal error on {self._what}: shutdown failed")

    def _on_shutdown(self, handle: Stream, error: Optional[int]) -> None:
        if error is not None and error != UV_ECANCELED and self._loop is not None and self._loop.get_debug():
            logger.debug("%r: shutdown failed: %s", self, uv_exception(error))

    # -- closing (close, abort: SocketTransportBase) ------------------------------------

    def _close_handle(self) -> None:
        self._wake_drain_waiters()
        super()._close_handle()

    def _call_connection_lost(self, exc: Optional[BaseException]) -> None:
        server, self._server = self._server, None
        try:
            if self._protocol_connected:
                super()._call_connection_lost(exc)
            else:
                self._close_handle()
                self._protocol = None
                self._loop = None
        finally:
            if server is not None:
                server_detach(server, self)


def make_socket_transport(loop: Any, sock: socket.socket, protocol: asyncio.BaseProtocol,
                          waiter: Optional["asyncio.Future[Any]"] = None, extra: Optional[Dict[str, Any]] = None,
                          server: Any = None) -> asyncio.Transport:
    """asyncio's ``_make_socket_transport``: a transport over the connected stream socket ``sock``
    (TCP or unix), whose fd a uvffi handle takes over."""
    handle = open_stream_handle(loop, sock)
    return UVStreamTransport(loop, handle, sock, protocol, waiter, extra, server)


_SSL_PARAMS = inspect.signature(sslproto.SSLProtocol.__init__).parameters
_SSL_HAS_SHUTDOWN_TIMEOUT = "ssl_shutdown_timeout" in _SSL_PARAMS  # 3.11+


def make_ssl_transport(loop: Any, rawsock: socket.socket, protocol: asyncio.BaseProtocol, sslcontext: Any,
                       waiter: Optional["asyncio.Future[Any]"] = None, *, server_side: bool = False,
                       server_hostname: Optional[str] = None, extra: Optional[Dict[str, Any]] = None,
                       server: Any = None, ssl_handshake_timeout: Optional[float] = None,
                       ssl_shutdown_timeout: Optional[float] = None,
                       call_connection_made: bool = True) -> asyncio.Transport:
    """asyncio's ``_make_ssl_transport``: asyncio's ``SSLProtocol`` over a socket transport;
    returns the SSL (application) transport. ``ssl_shutdown_timeout`` is passed on where the
    running Python's ``SSLProtocol`` takes it (3.11+)."""
    handle = open_stream_handle(loop, rawsock)
    return ssl_transport(loop, handle, rawsock, protocol, sslcontext, waiter, server_side=server_side,
                         server_hostname=server_hostname, extra=extra, server=server,
                         ssl_handshake_timeout=ssl_handshake_timeout, ssl_shutdown_timeout=ssl_shutdown_timeout,
                         call_connection_made=call_connection_made)


def ssl_transport(loop: Any, handle: Stream, rawsock: socket.socket, protocol: asyncio.BaseProtocol, sslcontext: Any,
                  waiter: Optional["asyncio.Future[Any]"] = None, *, server_side: bool = False,
                  server_hostname: Optional[str] = None, extra: Optional[Dict[str, Any]] = None,
                  server: Any = None, ssl_handshake_timeout: Optional[float] = None,
                  ssl_shutdown_timeout: Optional[float] = None,
                  call_connection_made: bool = True) -> asyncio.Transport:
    """:func:`make_ssl_transport` over an open uvffi stream handle (an accepted connection)."""
    kwargs: Dict[str, Any] = {"call_connection_made": call_connection_made,
                              "ssl_handshake_timeout": ssl_handshake_timeout}
    if _SSL_HAS_SHUTDOWN_TIMEOUT:
        kwargs["ssl_shutdown_timeout"] = ssl_shutdown_timeout
    elif ssl_shutdown_timeout is not None:
        handle.close()
        raise ValueError("ssl_shutdown_timeout needs Python 3.11 or later")
    ssl_protocol = sslproto.SSLProtocol(loop, protocol, sslcontext, waiter,  # type: ignore[arg-type]
                                        server_side, server_hostname, **kwargs)
    UVStreamTransport(loop, handle, rawsock, ssl_protocol, None, extra, server)
    app_transport: asyncio.Transport = ssl_protocol._app_transport
    return app_transport


_SENDFILE_BLOCK = 0x7FFF_F000  # Linux's most per sendfile(2) call


def _resolver(fut: "asyncio.Future[Optional[int]]") -> Any:
    """A Poll callback that resolves ``fut`` with the poll's error (None when writable)."""
    def on_event(poll: Poll, events: int, error: Optional[int]) -> None:
        if not fut.done():
            fut.set_result(error)
    return on_event


async def sendfile_native(loop: Any, transport: Any, file: Any, offset: int, count: Optional[int]) -> int:
    """Zero-copy ``loop.sendfile()`` for a plain stream transport (``os.sendfile`` from ``file``
    to the transport's fd), for a loop's ``_sendfile_native`` to delegate to. Waits for the
    queued writes first; ``write()`` raises ``RuntimeError`` meanwhile and reading is paused, as
    with asyncio's selector loop. Raises ``asyncio.SendfileNotAvailableError`` (so asyncio falls
    back to writes) for another transport, a file without an fd, or a failure before the first
    byte. The file position ends after the bytes sent."""
    if not isinstance(transport, UVStreamTransport) or transport._handle is None or not hasattr(os, "sendfile"):
        raise asyncio.SendfileNotAvailableError("zero-copy sendfile needs a uvffi.aio stream transport")
    try:
        fileno = file.fileno()
        fsize = os.fstat(fileno).st_size
    except (AttributeError, OSError, io.UnsupportedOperation):
        raise asyncio.SendfileNotAvailableError("not a regular file") from None
    end = min(offset + count, fsize) if count else fsize
    offset = min(offset, fsize)
    if end <= offset:
        return 0
    resume_reading = transport.is_reading()
    transport.pause_reading()
    await transport._wait_written()
    transport._sendfile_active = True
    handle = transport._handle
    sent = 0
    watch: Optional[Poll] = None
    watch_fd = -1
    peer_gone = False
    try:
        if handle is None:
            raise ConnectionError("Connection closed by peer")
        fd = handle.fileno()
        while offset + sent < end:
            try:
                n = os.sendfile(fd, fileno, offset + sent, min(end - offset - sent, _SENDFILE_BLOCK))
            except (BlockingIOError, InterruptedError):
                if peer_gone:
                    raise ConnectionError("Connection closed by peer") from None
                if watch is None:
                    watch_fd = os.dup(fd)  # a Poll of its own fd: libuv watches fd for the stream
                    watch = Poll(loop.uv_loop, watch_fd)
                writable = loop.create_future()
                watch.start(UV_WRITABLE, _resolver(writable))
                error = await writable
                watch.stop()
                # an error (the peer went away) leaves the next sendfile to say which one
                peer_gone = error is not None
                continue
            except OSError as exc:
                if not sent:
                    raise asyncio.SendfileNotAvailableError("os.sendfile call failed") from exc
                raise
            if n == 0:
                break  # the file ended early
            sent += n
        return sent
    finally:
        if watch is not None:
            watch.close()
            os.close(watch_fd)
        transport._sendfile_active = False
        if sent:
            file.seek(offset + sent)
        if resume_reading:
            transport.resume_reading()
