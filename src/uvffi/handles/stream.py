"""Streams: :class:`~uvffi.Stream`, the base of :class:`~uvffi.TCP`, :class:`~uvffi.Pipe` and
:class:`~uvffi.TTY` (libuv's ``uv_stream_t``, pyuv's ``pyuv.Stream``), and
:func:`socketpair` / :func:`pipe` (beyond pyuv)."""

from __future__ import annotations

from typing import Any, Callable, Iterable, List, Optional, Tuple

from .._core import PYPY, ffi, lib, ref
from ..error import HandleClosedError, StreamError, raise_for
from ..requests.stream import ShutdownRequest, WriteRequest
from .base import Handle

__all__ = ["Stream", "socketpair", "pipe", "READ_SIZE"]

READ_SIZE: int = lib.UVFFI_READ_SIZE
"""The default for :meth:`Stream.start_read`'s ``size``: 256 KiB per read callback at most,
as asyncio reads (pyuv: 64 KiB)."""

_NULL = ffi.NULL


def _from_buffer(obj: Any) -> Any:
    """A cffi buffer over ``obj`` that keeps its memory valid until dropped. CPython holds
    a buffer export (a bytearray cannot be resized meanwhile: BufferError); PyPy lets a
    bytearray be resized under the export, so there a mutable object's bytes are copied."""
    if PYPY and not isinstance(obj, bytes):
        obj = bytes(memoryview(obj))
    return ffi.from_buffer(obj)


ReadCallback = Callable[[Any, Optional[bytes], Optional[int]], Any]
DoneCallback = Optional[Callable[[Any, Optional[int]], Any]]


def _written(loop: Any) -> WriteRequest:
    """A finished write: a callback-less write's state once done (not pending, handle None)."""
    req = WriteRequest.__new__(WriteRequest)
    req._loop = loop
    return req


def _pin(data: Any) -> List[Any]:
    """The buffers of ``data`` (a bytes-like object, or an iterable of them) as cffi
    buffers that keep the objects' memory exported (a bytearray cannot be resized) until
    dropped: what a write pins until its callback has run."""
    if isinstance(data, str):
        raise TypeError("data must be a bytes-like object or a sequence of them, not str")
    try:
        return [_from_buffer(data)]
    except TypeError:
        pass
    try:
        items = iter(data)
    except TypeError:
        raise TypeError(f"data must be a bytes-like object or a sequence of them, not {type(data).__name__}") from None
    pinned = []
    for item in items:
        if isinstance(item, str):
            raise TypeError("each item must be a bytes-like object, not str")
        try:
            pinned.append(_from_buffer(item))
        except TypeError:
            raise TypeError(f"each item must be a bytes-like object, not {type(item).__name__}") from None
    if not pinned:
        raise ValueError("the sequence is empty")
    return pinned


def _bufs(pinned: List[Any]) -> Any:
    bufs = ffi.new("uv_buf_t[]", len(pinned))
    for i, p in enumerate(pinned):
        bufs[i].base = p
        bufs[i].len = len(p)
    return bufs


def _check_callback(callback: Any) -> None:
    if callback is not None and not callable(callback):
        raise TypeError("'callback' must be a callable or None")


def _bool(value: Any, what: str) -> int:
    if not isinstance(value, bool):
        raise TypeError(f"{what} must be a bool, not {type(value).__name__}")
    return 1 if value else 0


class Stream(Handle):
    """A libuv stream (``uv_stream_t``): the base of :class:`~uvffi.TCP`,
    :class:`~uvffi.Pipe` and :class:`~uvffi.TTY`; not instantiated directly.

    Reading: :meth:`~uvffi.Stream.start_read` calls ``callback(handle, data, error)`` with ``data``
    a ``bytes`` and ``error`` None, or ``data`` None and ``error`` a libuv error code:
    ``UV_EOF`` at the end of the stream. EOF or an error is delivered once and stops
    reading (pyuv's rule); the stream may be closed from inside the callback. A reading
    stream stays alive though the program drops it. On CPython, while reads are between
    2 KiB and 64 KiB, libuv reads straight into the ``bytes`` the callback gets (no copy);
    smaller reads, and a stream whose reads fill 64 KiB, are read into the loop's buffer
    (up to ``size`` at a time) and copied out.

    Writing: :meth:`~uvffi.Stream.write` and :meth:`~uvffi.Stream.writelines` take any bytes-like object (bytes,
    bytearray, memoryview, array, ...) and keep its memory pinned until the write's
    callback has run: a ``bytearray`` cannot be resized meanwhile (``BufferError``), and
    dropping it changes nothing. Write callbacks run once each, in order; closing the
    stream with writes queued gives them ``UV_ECANCELED``, before the close callback.
    """

    _error = StreamError

    # ---- reading -------------------------------------------------------------
    def start_read(self, callback: ReadCallback, size: int = READ_SIZE) -> None:
        """Start reading: ``callback(handle, data, error)`` per read of at most ``size``
        bytes (default 256 KiB, as asyncio; pyuv reads 64 KiB and has no ``size``). Calling it again
        replaces the callback (and the size)."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(size, int) or isinstance(size, bool):
            raise TypeError(f"size must be an int, not {type(size).__name__}")
        if not 0 < size <= 0x7FFFFFFF:
            raise ValueError("size must be between 1 and 2**31-1")
        ptr = self._live()
        self._callback = callback  # owned by the handle, read by C at each call
        err = lib.uvffi_stream_read_start(ptr, size)
        if err:
            raise_for(err, self._error)

    def stop_read(self) -> None:
        """Stop reading; nothing is lost: data not read stays with the kernel."""
        err = lib.uvffi_stream_read_stop(self._live())
        if err:
            raise_for(err, self._error)

    # ---- listening -------------------------------------------------------------
    def listen(self, callback: Callable[[Any, Optional[int]], Any], backlog: int = 511) -> None:
        """Listen for connections: ``callback(handle, error)`` for each, which should
        :meth:`~uvffi.Stream.accept` it. Bind first."""
        if not callable(callback):
            raise TypeError("a callable is required")
        if not isinstance(backlog, int) or isinstance(backlog, bool):
            raise TypeError(f"backlog must be an int, not {type(backlog).__name__}")
        if not -0x80000000 <= backlog <= 0x7FFFFFFF:
            raise OverflowError("backlog is out of range")
        ptr = self._live()
        self._callback = callback
        err = lib.uvffi_stream_listen(ptr, backlog)
        if err:
            raise_for(err, self._error)

    def accept(self, client: Handle) -> None:
        """Accept a connection into ``client``, a new handle of the same loop (a
        :class:`~uvffi.TCP` or :class:`~uvffi.Pipe`; over an IPC pipe, the kind that
        :meth:`uvffi.Pipe.pending_handle_type` names, UDP included)."""
        if not isinstance(client, Handle):
            raise TypeError(f"client must be a stream or UDP handle, not {type(client).__name__}")
        ptr = self._live()
        if client._ptr is None or client._closed:
            raise HandleClosedError(lib.UVFFI_ECLOSED, "client handle is closing or closed")
        err = lib.uvffi_stream_accept(ptr, client._ptr)
        if err == lib.UVFFI_EKIND:
            raise TypeError("only TCP, Pipe and UDP handles can accept a connection")
        if err:
            raise_for(err, self._error)

    # ---- writing ---------------------------------------------------------------
    def write(self, data: Any, callback: DoneCallback = None) -> WriteRequest:
        """Queue ``data`` (a bytes-like object, or a sequence of them written in one go)
        for writing; ``callback(handle, error)`` once it is written or failed.

        One ``bytes`` without a callback goes to the kernel at once as far as it takes
        it (``uv_try_write``; never ahead of queued writes), and only the rest is
        queued: if all of it went, the request returned is already finished."""
        return self._write(data, callback, None)

    def writelines(self, seq: Iterable[Any], callback: DoneCallback = None) -> WriteRequest:
        """Queue the bytes-like objects of ``seq`` as one write, in order;
        ``callback(handle, error)`` once."""
        if isinstance(seq, (str, bytes, bytearray, memoryview)):
            raise TypeError("writelines takes a sequence of bytes-like objects")
        return self._write(list(seq), callback, None)

    def _write(self, data: Any, callback: DoneCallback, send_handle: Optional[Handle]) -> WriteRequest:
        if callback is None and send_handle is None and type(data) is bytes:
            n = lib.uvffi_stream_write_now(self._live(), data, len(data))  # as _c/stream.c's write
            if n == len(data):
                return _written(self._loop)
            if n > 0:
                data = memoryview(data)[n:]
        _check_callback(callback)
        ptr = self._live()
        pinned = _pin(data)
        send = _NULL
        if send_handle is not None:
            if not isinstance(send_handle, Handle):
                raise TypeError(f"send_handle must be a TCP, Pipe or UDP handle, not {type(send_handle).__name__}")
            send = send_handle._live()
            pinned.append(send_handle)
            bufs = _bufs(pinned[:-1])
        else:
            bufs = _bufs(pinned)
        req = WriteRequest(self, callback, pinned)
        r = lib.uvffi_stream_write(ptr, ref(req), bufs, len(bufs), send)
        if not r:
            err = lib.uvffi_last_error()
            if err == lib.UVFFI_EKIND:
                raise TypeError("only TCP, Pipe and UDP handles can be sent over an IPC pipe")
            raise_for(err, self._error)
        req._req = r
        return req

    def try_write(self, data: Any) -> int:
        """Write what can be written at once, without queueing; returns the number of
        bytes written (``StreamError`` ``UV_EAGAIN`` if none could be)."""
        ptr = self._live()
        pinned = _pin(data)
        n = lib.uvffi_stream_try_write(ptr, _bufs(pinned), len(pinned))
        if n < 0:
            raise_for(n, self._error)
        return n

    def shutdown(self, callback: DoneCallback = None) -> ShutdownRequest:
        """Shut the writing side down once the queued writes are written;
        ``callback(handle, error)`` then."""
        _check_callback(callback)
        ptr = self._live()
        req = ShutdownRequest(self, callback)
        r = lib.uvffi_stream_shutdown(ptr, ref(req))
        if not r:
            raise_for(lib.uvffi_last_error(), self._error)
        req._req = r
        return req

    # ---- state -----------------------------------------------------------------
    def fileno(self) -> int:
        """The stream's file descriptor."""
        fd = lib.uvffi_handle_fileno(self._live())
        if fd < 0:
            raise_for(fd, self._error)
        return fd

    def set_blocking(self, blocking: bool) -> None:
        """Make writes block (``uv_stream_set_blocking``)."""
        err = lib.uvffi_stream_set_blocking(self._live(), _bool(blocking, "blocking"))
        if err:
            raise_for(err, self._error)

    @property
    def readable(self) -> bool:
        """Whether the stream can be read from."""
        ptr = self._ptr
        return ptr is not None and not self._closed and bool(lib.uvffi_stream_readable(ptr))

    @property
    def writable(self) -> bool:
        """Whether the stream can be written to."""
        ptr = self._ptr
        return ptr is not None and not self._closed and bool(lib.uvffi_stream_writable(ptr))

    @property
    def write_queue_size(self) -> int:
        """Bytes queued for writing that the kernel has not taken yet (backpressure)."""
        ptr = self._ptr
        return 0 if ptr is None or self._closed else int(lib.uvffi_stream_write_queue_size(ptr))

    def _buffer_size(self, send: int, value: int) -> int:
        box = ffi.new("int *", value)
        err = lib.uvffi_handle_buffer_size(self._live(), send, box)
        if err:
            raise_for(err, self._error)
        return box[0]

    @property
    def send_buffer_size(self) -> int:
        """The socket's send buffer size (``SO_SNDBUF``); settable."""
        return self._buffer_size(1, 0)

    @send_buffer_size.setter
    def send_buffer_size(self, value: int) -> None:
        self._buffer_size(1, _positive(value))

    @property
    def receive_buffer_size(self) -> int:
        """The socket's receive buffer size (``SO_RCVBUF``); settable."""
        return self._buffer_size(0, 0)

    @receive_buffer_size.setter
    def receive_buffer_size(self, value: int) -> None:
        self._buffer_size(0, _positive(value))

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        """PyPy: a listen callback (b == -1: a is the status), or a read (a is nread,
        b the loop buffer's address: copied out at once)."""
        if b == -1:
            callback(self, a if a else None)
        elif a >= 0:
            callback(self, ffi.buffer(ffi.cast("char *", b), a)[:], None)
        else:
            callback(self, None, a)


def _positive(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool):
        raise TypeError(f"the size must be an int, not {type(value).__name__}")
    if not 0 < value <= 0x7FFFFFFF:
        raise ValueError("the size must be between 1 and 2**31-1")
    return value


def socketpair(type: int = 1, protocol: int = 0, nonblocking: Tuple[bool, bool] = (False, False)) -> Tuple[int, int]:
    """A connected pair of unix sockets (``uv_socketpair``), as two fds the caller owns;
    ``type`` is ``socket.SOCK_STREAM`` (default) or ``SOCK_DGRAM``; ``nonblocking`` sets
    ``O_NONBLOCK`` on each (libuv's ``UV_NONBLOCK_PIPE``). Beyond pyuv; open them with
    :meth:`uvffi.Pipe.open`. The fds are close-on-exec."""
    if not isinstance(type, int) or not isinstance(protocol, int):
        raise TypeError("type and protocol must be ints")
    fds = ffi.new("int[2]")
    f0, f1 = (lib.UV_NONBLOCK_PIPE if b else 0 for b in nonblocking)
    err = lib.uv_socketpair(type, protocol, fds, f0, f1)
    if err:
        raise_for(err, StreamError)
    return fds[0], fds[1]


def pipe(nonblocking: Tuple[bool, bool] = (False, False)) -> Tuple[int, int]:
    """An anonymous pipe (``uv_pipe``): ``(read_fd, write_fd)``, close-on-exec, owned by
    the caller; ``nonblocking`` sets ``O_NONBLOCK`` on each end. Beyond pyuv."""
    fds = ffi.new("int[2]")
    f0, f1 = (lib.UV_NONBLOCK_PIPE if b else 0 for b in nonblocking)
    err = lib.uv_pipe(fds, f0, f1)
    if err:
        raise_for(err, StreamError)
    return fds[0], fds[1]
