"""The ``sock_*`` coroutines of :class:`uvffi.aio.Loop`, on non-blocking sockets.

Each one tries the socket call at once; when it would block, the call is retried by a
reader (or writer) callback of the socket's fd (:meth:`Loop.add_reader`, a
:class:`uvffi.Poll`) until it completes, and the callback is removed when the future
is done (also when the awaiting task is cancelled). As in asyncio: the socket must be
non-blocking (checked, with ``ValueError``, in debug mode), an ``ssl.SSLSocket`` is
refused with ``TypeError``, an fd owned by a transport with ``RuntimeError``.
``sock_sendfile`` sends with ``os.sendfile`` (zero copy) where the file allows it, and falls
back to reads and sends as asyncio's loop does where it does not.
"""

from __future__ import annotations

import errno
import io
import os
import socket
from asyncio import SendfileNotAvailableError
from typing import TYPE_CHECKING, Any, Callable, List, Optional, Tuple

try:
    import ssl as _ssl
except ImportError:  # pragma: no cover - Python built without OpenSSL
    _ssl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from asyncio import Future, events


_RETRY = (BlockingIOError, InterruptedError)


def _check_sock(loop: "_SockMethods", sock: Any) -> None:
    if _ssl is not None and isinstance(sock, _ssl.SSLSocket):
        raise TypeError("Socket cannot be of type SSLSocket")
    if loop._debug and sock.gettimeout() != 0:
        raise ValueError("the socket must be non-blocking")


def _try(fut: "Future[Any]", op: Callable[..., Any], args: Tuple[Any, ...]) -> None:
    """A reader/writer callback: ``op(*args)`` into ``fut``, unless it would block again."""
    if fut.done():  # cancelled (or completed) since the fd became ready
        return
    try:
        result = op(*args)
    except _RETRY:
        return
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException as exc:
        fut.set_exception(exc)
    else:
        fut.set_result(result)


# The retried calls. Each looks the socket's method up at every try, as asyncio's loop
# does (a test or a wrapper may replace ``sock.sendto`` between two tries).


def _recv(sock: socket.socket, nbytes: int) -> bytes:
    return sock.recv(nbytes)


def _recv_into(sock: socket.socket, buf: Any) -> int:
    return sock.recv_into(buf)


def _recvfrom(sock: socket.socket, bufsize: int) -> Tuple[bytes, Any]:
    return sock.recvfrom(bufsize)


def _recvfrom_into(sock: socket.socket, buf: Any, nbytes: int) -> Tuple[int, Any]:
    return sock.recvfrom_into(buf, nbytes)


def _sendto(sock: socket.socket, data: Any, address: Any) -> int:
    return sock.sendto(data, 0, address)


def _sendfile(sock: socket.socket, fileno: int, offset: int, count: int) -> int:
    return os.sendfile(sock.fileno(), fileno, offset, count)


_SENDFILE_BLOCK = 0x7FFF_F000  # Linux's most per sendfile(2) call


def _accept_nonblocking(sock: socket.socket) -> Tuple[socket.socket, Any]:
    conn, address = sock.accept()
    conn.setblocking(False)
    return conn, address


class _SockMethods:
    """The ``sock_*`` methods, mixed into :class:`uvffi.aio.Loop`."""

    if TYPE_CHECKING:  # what they use of the loop (asyncio.BaseEventLoop and uvffi.aio.Loop)
        _debug: bool

        def create_future(self) -> "Future[Any]": ...

        def _ensure_fd_no_transport(self, fd: Any) -> None: ...

        def _add_reader(self, fd: Any, callback: Callable[..., Any], *args: Any) -> "events.Handle": ...

        def _add_writer(self, fd: Any, callback: Callable[..., Any], *args: Any) -> "events.Handle": ...

        def remove_reader(self, fd: Any) -> bool: ...

        def remove_writer(self, fd: Any) -> bool: ...

        async def _ensure_resolved(self, address: Any, *, family: int = 0, type: int = socket.SOCK_STREAM,
                                   proto: int = 0, flags: int = 0, loop: Any) -> List[Any]: ...

    def _sock_wait(self, sock: Any, writing: bool, op: Callable[..., Any],
                   args: Tuple[Any, ...]) -> "Future[Any]":
        """A future completed by ``op(*args)`` once ``sock`` is ready (a reader, or a
        writer, retries it); the callback goes away when the future is done."""
        fut = self.create_future()
        fd = sock.fileno()
        self._ensure_fd_no_transport(fd)
        if writing:
            handle = self._add_writer(fd, _try, fut, op, args)
        else:
            handle = self._add_reader(fd, _try, fut, op, args)

        def done(_: Any) -> None:
            # Only our own callback: a reader added since for the fd replaced (and
            # cancelled) ours, and stays.
            if not handle._cancelled:
                if writing:
                    self.remove_writer(fd)
                else:
                    self.remove_reader(fd)

        fut.add_done_callback(done)
        return fut

    async def sock_recv(self, sock: socket.socket, nbytes: int) -> bytes:
        """Receive up to ``nbytes`` bytes from ``sock``."""
        _check_sock(self, sock)
        try:
            return sock.recv(nbytes)
        except _RETRY:
            pass
        return await self._sock_wait(sock, False, _recv, (sock, nbytes))

    async def sock_recv_into(self, sock: socket.socket, buf: Any) -> int:
        """Receive into the writable buffer ``buf``; the number of bytes received."""
        _check_sock(self, sock)
        try:
            return sock.recv_into(buf)
        except _RETRY:
            pass
        return await self._sock_wait(sock, False, _recv_into, (sock, buf))

    async def sock_recvfrom(self, sock: socket.socket, bufsize: int) -> Tuple[bytes, Any]:
        """Receive a datagram of up to ``bufsize`` bytes: ``(data, address)``."""
        _check_sock(self, sock)
        try:
            return sock.recvfrom(bufsize)
        except _RETRY:
            pass
        return await self._sock_wait(sock, False, _recvfrom, (sock, bufsize))

    async def sock_recvfrom_into(self, sock: socket.socket, buf: Any, nbytes: int = 0) -> Tuple[int, Any]:
        """Receive a datagram into ``buf`` (at most ``nbytes``, 0: its length):
        ``(nbytes received, address)``."""
        _check_sock(self, sock)
        if not nbytes:
            nbytes = len(buf)
        try:
            return sock.recvfrom_into(buf, nbytes)
        except _RETRY:
            pass
        return await self._sock_wait(sock, False, _recvfrom_into, (sock, buf, nbytes))

    async def sock_sendall(self, sock: socket.socket, data: Any) -> None:
        """Send all of ``data``; on error there is no telling how much was sent."""
        _check_sock(self, sock)
        try:
            sent = sock.send(data)
        except _RETRY:
            sent = 0
        view = memoryview(data).cast("B")
        if sent == len(view):
            return
        pos: List[int] = [sent]

        def send_rest() -> Any:
            # One send per writable event; _try's BlockingIOError means "wait again".
            n = sock.send(view[pos[0]:])
            pos[0] += n
            if pos[0] < len(view):
                raise BlockingIOError
            return None

        await self._sock_wait(sock, True, send_rest, ())

    async def sock_sendto(self, sock: socket.socket, data: Any, address: Any) -> int:
        """Send a datagram to ``address``; the number of bytes sent."""
        _check_sock(self, sock)
        try:
            return sock.sendto(data, address)
        except _RETRY:
            pass
        return await self._sock_wait(sock, True, _sendto, (sock, data, address))

    async def sock_connect(self, sock: socket.socket, address: Any) -> None:
        """Connect ``sock`` to ``address``; a host name of an IPv4 or IPv6 socket is
        resolved first (:meth:`getaddrinfo`)."""
        _check_sock(self, sock)
        family = sock.family
        if family == socket.AF_INET or (socket.has_ipv6 and family == socket.AF_INET6):
            infos = await self._ensure_resolved(address, family=family, type=sock.type, proto=sock.proto, loop=self)
            address = infos[0][4]
        try:
            sock.connect(address)
            return
        except _RETRY:
            pass  # connecting in the background (EINPROGRESS, or EINTR: it goes on)

        def connected() -> None:
            err = sock.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR)
            if err:
                raise OSError(err, f"Connect call failed {address}")

        await self._sock_wait(sock, True, connected, ())

    async def sock_accept(self, sock: socket.socket) -> Tuple[socket.socket, Any]:
        """Accept a connection: ``(conn, address)``, ``conn`` non-blocking."""
        _check_sock(self, sock)
        try:
            return _accept_nonblocking(sock)
        except _RETRY:
            pass
        return await self._sock_wait(sock, False, _accept_nonblocking, (sock,))

    async def _sock_sendfile_native(self, sock: socket.socket, file: Any, offset: int,
                                    count: Optional[int]) -> int:
        """``sock_sendfile``'s zero-copy path: ``os.sendfile`` from ``file`` to ``sock``, one
        call per writable event. ``SendfileNotAvailableError`` (asyncio then falls back to
        reads and sends, unless ``fallback=False``) for a file with no fd, or a failure before
        the first byte (a file that is no regular file). The file position ends after the
        bytes sent, also when it fails or is cancelled part way."""
        if not hasattr(os, "sendfile"):
            raise SendfileNotAvailableError("os.sendfile() is not available")
        try:
            fileno = file.fileno()
            fsize = os.fstat(fileno).st_size
        except (AttributeError, OSError, io.UnsupportedOperation):
            raise SendfileNotAvailableError("not a regular file") from None
        end = offset + count if count else max(fsize, offset)
        pos = offset
        try:
            while pos < end:
                block = min(end - pos, _SENDFILE_BLOCK)
                try:
                    try:
                        n = _sendfile(sock, fileno, pos, block)
                    except _RETRY:
                        n = await self._sock_wait(sock, True, _sendfile, (sock, fileno, pos, block))
                except OSError as exc:
                    if pos == offset:
                        raise SendfileNotAvailableError("os.sendfile call failed") from exc
                    if exc.errno == errno.ENOTCONN and type(exc) is not ConnectionError:
                        raise ConnectionError(errno.ENOTCONN, "socket is not connected") from exc
                    raise
                if n == 0:
                    break  # the end of the file
                pos += n
            return pos - offset
        finally:
            if pos > offset:
                os.lseek(fileno, pos, os.SEEK_SET)
