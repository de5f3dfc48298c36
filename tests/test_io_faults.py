"""Streams under faults: peers that reset, half-close or never read, fd exhaustion,
buffers changed under a write, the permissions of unix sockets, a file truncated while
the thread pool reads it, and Ctrl-C during a large write. One behaviour each; errors
reach callbacks, never an exception out of ``run()`` (Ctrl-C's KeyboardInterrupt aside)."""

from __future__ import annotations

import array
import os
import platform
import stat
import subprocess
import sys
import textwrap
from typing import Any, Callable, List, Optional, Tuple

import pytest

import uvffi
from uvffi.errno import UV_ECANCELED, UV_ECONNRESET, UV_EOF, UV_EPIPE

MiB = 1 << 20
CPYTHON = platform.python_implementation() == "CPython"


def _excepthook_recorder(loop: uvffi.Loop) -> List[Any]:
    seen: List[Any] = []
    loop.excepthook = lambda *args: seen.append(args)  # type: ignore[method-assign,assignment]
    return seen


def _tcp_pair(loop: uvffi.Loop, on_server_conn: Callable[[uvffi.TCP], None]) -> uvffi.TCP:
    """A listening server on 127.0.0.1 whose first accepted connection goes to
    ``on_server_conn`` (the server then stops listening); returns the unconnected client."""
    server = uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))

    def on_connection(srv: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None
        conn = uvffi.TCP(loop)
        srv.accept(conn)
        srv.close()
        on_server_conn(conn)

    server.listen(on_connection)
    client = uvffi.TCP(loop)
    client.addr = server.getsockname()  # type: ignore[attr-defined]
    return client


def _run_for(loop: uvffi.Loop, seconds: float) -> None:
    t = uvffi.Timer(loop)
    t.start(lambda h: (h.close(), loop.stop()), seconds, 0.0)
    loop.run()


# -- a peer that resets mid-write -----------------------------------------------------------------

def test_a_peer_resetting_mid_write_gives_the_write_callbacks_errors_not_run(loop):
    hook = _excepthook_recorder(loop)

    def on_server_conn(conn: uvffi.TCP) -> None:
        # Read the first bytes, then abort the connection (RST) with megabytes still coming.
        conn.start_read(lambda h, data, error: h.close_reset() if not h.closed else None)

    client = _tcp_pair(loop, on_server_conn)
    results: List[Optional[int]] = []
    chunk = b"x" * MiB

    def on_write(h: uvffi.TCP, error: Optional[int]) -> None:
        results.append(error)
        if error is not None and not h.closed:
            h.close()  # libuv leaves the later writes queued until the stream is closed

    def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
        assert error is None
        for _ in range(64):
            h.write(chunk, on_write)

    client.connect(client.addr, on_connect)  # type: ignore[attr-defined]
    loop.run()  # returns: nothing is raised out of it
    assert len(results) == 64  # every write called back once
    errors = [e for e in results if e is not None]
    assert errors, "64 MiB were all written to a peer that reset"
    assert errors[0] in (UV_ECONNRESET, UV_EPIPE)
    assert set(errors) <= {UV_ECONNRESET, UV_EPIPE, UV_ECANCELED}
    assert hook == []


# -- a half-close -------------------------------------------------------------------------------

def test_after_a_shutdown_the_other_side_can_still_write(loop):
    server_saw: List[Any] = []

    def on_server_conn(conn: uvffi.TCP) -> None:
        def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            server_saw.append(data if data is not None else error)
            if data is None:  # the client shut its side down; ours is still open
                h.write(b"the answer, after your shutdown", lambda h, err: (server_saw.append(err), h.close()))

        conn.start_read(on_read)

    client = _tcp_pair(loop, on_server_conn)
    client_saw: List[Any] = []

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        client_saw.append(data if data is not None else error)
        if data is None:
            h.close()

    def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
        h.start_read(on_read)
        h.write(b"the question")
        h.shutdown(lambda h, err: client_saw.append(("shutdown", err)))

    client.connect(client.addr, on_connect)  # type: ignore[attr-defined]
    loop.run()
    assert server_saw == [b"the question", UV_EOF, None]
    assert client_saw[0] == ("shutdown", None)
    assert b"".join(x for x in client_saw if isinstance(x, bytes)) == b"the answer, after your shutdown"
    assert client_saw[-1] == UV_EOF


# -- a peer that never reads ----------------------------------------------------------------------

def test_a_peer_that_never_reads_queues_the_writes_without_copying_then_they_drain(loop):
    accepted: List[uvffi.TCP] = []
    client = _tcp_pair(loop, accepted.append)
    client.connect(client.addr, lambda h, err: None)  # type: ignore[attr-defined]
    while not accepted:
        loop.run(uvffi.RUN_ONCE)
    conn = accepted[0]

    chunk = b"y" * MiB
    refs = sys.getrefcount(chunk) if CPYTHON else 0
    done: List[Optional[int]] = []
    if CPYTHON:  # (tracemalloc and getrefcount: CPython's; PyPy has no _tracemalloc)
        import tracemalloc
        tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0] if CPYTHON else 0
        for _ in range(32):
            client.write(chunk, lambda h, err: done.append(err))
        grown = tracemalloc.get_traced_memory()[0] - before if CPYTHON else 0
    finally:
        if CPYTHON:
            tracemalloc.stop()
    assert grown < MiB // 4  # 32 MiB queued; the bytes are pinned, not copied
    _run_for(loop, 0.2)  # nobody reads: the queue stays, the loop does not spin
    while True:  # on a slow run (valgrind) the timer can stop the loop before the callbacks of
        queued = client.write_queue_size  # writes the kernel took have run: run until nothing moves
        loop.run(uvffi.RUN_NOWAIT)
        if client.write_queue_size == queued:
            break
    assert queued > 16 * MiB  # the kernel's buffers took a few MiB at most
    taken = 32 * MiB - queued  # by the kernel
    assert len(done) == taken // MiB  # a write is called back once all of it is taken

    received = [0]

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is not None:
            received[0] += len(data)
            if received[0] == 32 * MiB:
                h.close()
                client.close()

    conn.start_read(on_read)  # now it reads: everything drains
    loop.run()
    assert received[0] == 32 * MiB
    assert done == [None] * 32
    assert client.write_queue_size == 0
    if CPYTHON:
        assert sys.getrefcount(chunk) == refs  # every pin released


# -- fd exhaustion (RLIMIT_NOFILE lowered in a child process) --------------------------------------

_EMFILE_PRELUDE = """
import os, resource, socket, sys
import uvffi
from uvffi.error import TCPError
from uvffi.errno import UV_EMFILE

def exhaust(spare=0):
    # Lower RLIMIT_NOFILE until only `spare` fd numbers are free below it.
    used = set()
    for n in map(int, os.listdir("/proc/self/fd")):  # (listdir's own fd is closed by now)
        try:
            os.fstat(n)
            used.add(n)
        except OSError:
            pass
    limit = 0
    while sum(1 for n in range(limit) if n not in used) <= spare:
        limit += 1
    resource.setrlimit(resource.RLIMIT_NOFILE, (limit - 1, resource.getrlimit(resource.RLIMIT_NOFILE)[1]))
    try:
        os.dup(0)
    except OSError:
        pass
    else:
        if not spare:
            raise AssertionError("an fd was still free")

def run_for(loop, seconds):
    t = uvffi.Timer(loop)
    t.start(lambda h: loop.stop(), seconds, 0.0)
    loop.run()
    t.stop()
"""


def _run_child(body: str) -> str:
    code = _EMFILE_PRELUDE + textwrap.dedent(body)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""
    return r.stdout


def test_fd_exhaustion_sheds_new_connections_and_keeps_serving_the_accepted_ones():
    out = _run_child("""
        loop = uvffi.Loop()
        run_for(loop, 0.0)  # the loop's own fds (the Ctrl-C wakeup) exist before the limit
        server = uvffi.TCP(loop)
        server.bind(("127.0.0.1", 0))
        listen_errors, conns = [], []

        def on_connection(srv, error):
            if error is not None:
                listen_errors.append(error)
                return
            c = uvffi.TCP(loop)
            srv.accept(c)
            conns.append(c)
            c.start_read(lambda h, data, err: h.write(data) if data is not None else h.close())

        server.listen(on_connection)
        addr = server.getsockname()
        kept = [socket.create_connection(addr) for _ in range(2)]
        run_for(loop, 0.2)
        assert len(conns) == 2
        extra = [socket.socket() for _ in range(3)]  # their fds exist before the limit
        exhaust()
        for s in extra:
            s.connect(addr)  # completes in the kernel's backlog
        run_for(loop, 0.3)  # accept: EMFILE; libuv sheds these (accepts and closes them)
        assert len(conns) == 2, conns
        assert set(listen_errors) <= {UV_EMFILE}, listen_errors  # libuv >= 1.45 reports none
        for s in extra:
            s.settimeout(5)
            try:
                assert s.recv(10) == b""  # shed: closed by the server
            except ConnectionResetError:
                pass
        for i, s in enumerate(kept):  # the connections it had are still served
            s.sendall(b"ping %d" % i)
            run_for(loop, 0.1)
            s.settimeout(5)
            assert s.recv(100) == b"ping %d" % i
        print("ok", len(listen_errors))
    """)
    assert out.startswith("ok")


def test_fd_exhaustion_makes_connect_raise_emfile_and_the_loop_goes_on():
    out = _run_child("""
        loop = uvffi.Loop()
        server = uvffi.TCP(loop)
        server.bind(("127.0.0.1", 0))
        client = uvffi.TCP(loop)  # AF_UNSPEC: its socket is made by connect
        exhaust()
        try:
            client.connect(server.getsockname(), lambda h, err: None)
        except TCPError as e:
            assert e.args[0] == UV_EMFILE, e
        else:
            raise AssertionError("connect did not raise")
        fired = []
        t = uvffi.Timer(loop)
        t.start(lambda h: fired.append(1), 0.0, 0.0)
        loop.run()  # runs though no fd is left for its Ctrl-C wakeup socketpair
        assert fired == [1]
        loop.close()
        print("ok")
    """)
    assert out == "ok\n"


# -- a buffer changed during a write --------------------------------------------------------------

def _bytearray(data: bytes) -> Tuple[Any, Callable[[], None]]:
    b = bytearray(data)
    return b, lambda: b.extend(b"z" * MiB)


def _memoryview(data: bytes) -> Tuple[Any, Callable[[], None]]:
    b = bytearray(data)
    m = memoryview(b)

    def change() -> None:
        try:
            m.release()  # a memoryview being written cannot be released ...
        finally:
            del b[:]     # ... nor its bytearray resized

    return m, change


def _array(data: bytes) -> Tuple[Any, Callable[[], None]]:
    a = array.array("B", data)
    return a, lambda: a.extend(range(256))


def _writelines_item(data: bytes) -> Tuple[Any, Callable[[], None]]:
    b = bytearray(data)
    return [b"", b], lambda: b.clear()


@pytest.mark.parametrize("make", [_bytearray, _memoryview, _array, _writelines_item],
                         ids=["bytearray", "memoryview", "array", "writelines-item"])
def test_a_buffer_resized_while_being_written_cannot_change_what_is_sent(loop, make):
    accepted: List[uvffi.TCP] = []
    client = _tcp_pair(loop, accepted.append)
    client.connect(client.addr, lambda h, err: None)  # type: ignore[attr-defined]
    while not accepted:
        loop.run(uvffi.RUN_ONCE)
    conn = accepted[0]
    original = bytes(range(256)) * (32 * 1024)  # 8 MiB: more than the socket buffers hold
    obj, change = make(original)
    done: List[Optional[int]] = []
    if isinstance(obj, list):
        client.writelines(obj, lambda h, err: done.append(err))
    else:
        client.write(obj, lambda h, err: done.append(err))
    _run_for(loop, 0.05)
    assert client.write_queue_size > 0  # libuv is still reading from the buffer
    try:
        change()  # CPython: BufferError (the buffer is exported); PyPy: the write has a copy
    except BufferError:
        pass
    del obj, change

    chunks: List[bytes] = []

    def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            h.close()
            return
        chunks.append(data)

    conn.start_read(on_read)
    client.shutdown(lambda h, err: h.close())
    loop.run()
    assert done == [None]
    assert b"".join(chunks) == original


# -- unix socket permissions ----------------------------------------------------------------------

@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_a_unix_socket_is_created_with_the_permissions_the_umask_gives(loop, tmp_path, umask):
    path = str(tmp_path / "s.sock")
    old = os.umask(umask)
    try:
        p = uvffi.Pipe(loop)
        p.bind(path)
    finally:
        os.umask(old)
    mode = os.stat(path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o777 & ~umask
    p.close()


# -- a file truncated while it is read ------------------------------------------------------------

def _file_of(tmp_path: Any, size: int) -> Tuple[str, bytes]:
    data = bytes(range(251)) * (size // 251 + 1)
    data = data[:size]
    path = str(tmp_path / "shrinking")
    with open(path, "wb") as f:
        f.write(data)
    return path, data


def test_async_reads_of_a_file_truncated_under_them_get_short_reads_and_eof_not_errors(loop, tmp_path):
    size, piece, cut = 8 * MiB, 64 * 1024, 3 * MiB + 1000
    path, original = _file_of(tmp_path, size)
    fd = os.open(path, os.O_RDONLY)
    other = os.open(path, os.O_WRONLY)  # another fd, as another program would truncate it
    results: List[Tuple[int, Optional[int], bytes]] = []
    try:
        for off in range(0, size, piece):  # 128 reads queued on the thread pool ...
            uvffi.fs.read(loop, fd, piece, off,
                          lambda req, off=off: results.append((off, req.error, req.result)))
        os.ftruncate(other, cut)  # ... and the file shrinks while the pool reads it
        loop.run()
        after: List[Tuple[int, Optional[int], bytes]] = []
        for off in (0, cut - 100, cut, size - piece):  # reads submitted once it has shrunk
            uvffi.fs.read(loop, fd, piece, off, lambda req, off=off: after.append((off, req.error, req.result)))
        loop.run()
    finally:
        os.close(fd)
        os.close(other)
    assert sorted(off for off, _, _ in results) == list(range(0, size, piece))  # each called back once
    for off, error, data in results:
        assert error is None
        assert len(data) <= piece
        below_cut = max(0, min(len(data), cut - off))
        assert data[:below_cut] == original[off:off + below_cut]  # what is still the file is intact
    after.sort()  # (the pool's threads finish in any order)
    assert [(off, error, len(data)) for off, error, data in after] == [
        (0, None, piece), (cut - 100, None, 100), (cut, None, 0), (size - piece, None, 0)]  # short, then EOF
    assert after[1][2] == original[cut - 100:cut]


# -- Ctrl-C during a large write ------------------------------------------------------------------

def _blocked_writer(loop: uvffi.Loop) -> Tuple[uvffi.TCP, Any]:
    """A uvffi stream connected to a plain socket that reads nothing yet."""
    import socket

    server = uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))
    accepted: List[uvffi.TCP] = []

    def on_connection(srv: uvffi.TCP, error: Optional[int]) -> None:
        conn = uvffi.TCP(loop)
        srv.accept(conn)
        accepted.append(conn)
        srv.close()

    server.listen(on_connection)
    reader = socket.create_connection(server.getsockname())
    while not accepted:
        loop.run(uvffi.RUN_ONCE)
    return accepted[0], reader


def _interrupt_during_a_64_mib_write(loop: uvffi.Loop, how: str) -> Tuple[uvffi.TCP, Any, bytes, Any, List[Any]]:
    """64 MiB queued on a stream whose peer reads nothing, then SIGINT while run() waits for
    the socket to drain: run() must raise KeyboardInterrupt."""
    import signal
    import threading

    writer, reader = _blocked_writer(loop)
    data = os.urandom(64 * MiB)
    done: List[Any] = []
    req = writer.write(data, lambda h, err: done.append(err))
    guard = uvffi.Timer(loop)  # fails the test instead of hanging it if the signal is lost
    guard.start(lambda t: loop.stop(), 60.0, 0.0)
    guard.ref = False
    old = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        if how == "thread":  # started from inside run(), so the signal cannot land before it
            kill = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGINT))
            uvffi.Timer(loop).start(lambda t: (t.close(), kill.start()), 0.0, 0.0)
        else:
            uvffi.Timer(loop).start(lambda t: (t.close(), signal.raise_signal(signal.SIGINT)), 0.2, 0.0)
        with pytest.raises(KeyboardInterrupt):
            loop.run()
    finally:
        signal.signal(signal.SIGINT, old)
    guard.close()
    return writer, reader, data, req, done


@pytest.mark.parametrize("how", ["thread", "callback"])
def test_ctrl_c_during_a_large_write_leaves_it_queued_and_it_completes_on_the_next_run(loop, how):
    import threading

    writer, reader, data, req, done = _interrupt_during_a_64_mib_write(loop, how)
    assert done == [] and req.pending  # interrupted, not failed: the write is still queued
    assert 0 < writer.write_queue_size <= 64 * MiB
    received = bytearray()

    def drain() -> None:
        while len(received) < len(data):
            chunk = reader.recv(MiB)
            if not chunk:
                break
            received.extend(chunk)

    t = threading.Thread(target=drain)
    t.start()  # the peer reads now
    loop.run()  # the same write goes on where it was
    t.join(60)
    assert done == [None] and not req.pending
    assert writer.write_queue_size == 0
    assert bytes(received) == data
    writer.close()
    reader.close()
    loop.run()


@pytest.mark.parametrize("how", ["thread", "callback"])
def test_ctrl_c_during_a_large_write_then_close_cancels_it_to_its_callback_and_unpins_the_buffer(loop, how):
    writer, reader, data, req, done = _interrupt_during_a_64_mib_write(loop, how)
    refs = sys.getrefcount(data) if CPYTHON else 0
    writer.close()
    loop.run()
    assert done == [UV_ECANCELED] and not req.pending
    assert writer.closed and loop.handles == []
    if CPYTHON:
        assert sys.getrefcount(data) < refs  # the request's pin on the buffer is gone
    reader.close()
