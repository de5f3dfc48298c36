"""Process and streams together: a child's stdio through Pipe, TCP and socketpair handles."""

from __future__ import annotations

import gc
import hashlib
import signal
import subprocess
import sys
from typing import Any, Dict, List, Optional, Tuple

import uvffi
from uvffi import TCP, Pipe, Process, StdIO
from uvffi.errno import UV_EOF
from uvffi.handles.process import (
    UV_CREATE_PIPE,
    UV_INHERIT_STREAM,
    UV_READABLE_PIPE,
    UV_WRITABLE_PIPE,
)

PY = sys.executable
OUT = UV_CREATE_PIPE | UV_WRITABLE_PIPE  # the child writes, the parent reads
IN = UV_CREATE_PIPE | UV_READABLE_PIPE   # the parent writes, the child reads


class Reader:
    """Collects a stream's reads until EOF or an error; optionally closes it then."""

    def __init__(self, stream: Any, close_at_end: bool = True) -> None:
        self.chunks: List[bytes] = []
        self.errors: List[int] = []
        self.close_at_end = close_at_end
        stream.start_read(self.on_read)

    def on_read(self, handle: Any, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            self.errors.append(error)  # type: ignore[arg-type]
            if self.close_at_end and not handle.closed:
                handle.close()
        else:
            self.chunks.append(data)

    @property
    def data(self) -> bytes:
        return b"".join(self.chunks)


def spawn(loop: uvffi.Loop, code: str, stdio: List[StdIO], env: Optional[Dict[str, str]] = None
          ) -> Tuple[Process, List[Tuple[int, int]]]:
    """`python -c code` with ``stdio``; the exit (status, signal) is appended to the list."""
    exits: List[Tuple[int, int]] = []

    def on_exit(proc: Process, status: int, sig: int) -> None:
        exits.append((status, sig))
        proc.close()

    proc = Process.spawn(loop, [PY, "-c", code], stdio=stdio, exit_callback=on_exit, env=env)
    return proc, exits


# -- the pyuv-suite flake (test_process_args/test_process_stdout), both sides of it -------------
#
# pyuv's tests close the stdout Pipe in their first read callback. A Python child with an
# unbuffered stdout (PYTHONUNBUFFERED=1 in the environment it inherits) writes print()'s text
# and its "\n" in two write()s; when the parent's read runs between them, the Pipe is closed
# before the second write and the child dies of BrokenPipeError. The two tests below make the
# gap between the two writes certain instead of a matter of timing.

TWO_WRITES = """
import os, sys
os.write(1, b"TEST")
sys.stdin.buffer.read()          # until the parent has had its first read (then EOF)
try:
    os.write(1, b"\\n")
except BrokenPipeError:
    sys.exit(7)
"""


def test_a_line_written_in_two_writes_arrives_whole_when_read_to_eof(loop):
    out, inp = Pipe(loop), Pipe(loop)
    proc, exits = spawn(loop, TWO_WRITES, [StdIO(stream=inp, flags=IN), StdIO(stream=out, flags=OUT)])
    chunks: List[bytes] = []
    ends: List[int] = []

    def on_read(handle, data, error):
        if data is None:
            ends.append(error)
            handle.close()
            return
        chunks.append(data)
        if len(chunks) == 1:
            inp.close()  # the child goes on to its second write

    out.start_read(on_read)
    loop.run()
    assert chunks[0] == b"TEST"
    assert b"".join(chunks) == b"TEST\n"
    assert ends == [UV_EOF]
    assert exits == [(0, 0)]


def test_closing_the_pipe_after_the_first_read_makes_the_childs_next_write_fail(loop):
    out, inp = Pipe(loop), Pipe(loop)
    proc, exits = spawn(loop, TWO_WRITES, [StdIO(stream=inp, flags=IN), StdIO(stream=out, flags=OUT)])
    got: List[bytes] = []

    def on_read(handle, data, error):
        got.append(data)
        # What pyuv's test_process_args does: done after the first read. The child's
        # second write is only let go once the parent's end is closed.
        handle.close(lambda h: inp.close())

    out.start_read(on_read)
    loop.run()
    assert got == [b"TEST"]
    assert exits == [(7, 0)]  # EPIPE: BrokenPipeError in the child


def test_a_loop_collected_while_a_child_writes_leaves_the_childs_pipe_alone(loop):
    # The suspects cleared while finding the flake: a finalised old loop (its epoll and
    # io_uring fds, its Ctrl-C socketpair, its handles' fds) must close only its own fds, even
    # when the new Pipe got one of their numbers.
    old = uvffi.Loop()
    t = uvffi.Timer(old)
    t.start(lambda h: None, 0.0, 0.0)
    a, b = Pipe(old), Pipe(old)
    fa, fb = uvffi.socketpair()
    a.open(fa)
    b.open(fb)
    a.start_read(lambda *args: None)
    old.run(uvffi.RUN_NOWAIT)
    b.write(b"x")  # something for a to read: the RUN_ONCE below polls once and returns on any
    # libuv (1.44 ran due timers before the poll, so a due timer alone left it blocked)
    old.run(uvffi.RUN_ONCE)  # the main thread's run makes the Ctrl-C socketpair
    assert old._wakeup is not None
    old.__dict__["cycle"] = old  # only the cycle collector frees it
    del old, t, a, b
    gc.collect()

    out, inp = Pipe(loop), Pipe(loop)
    proc, exits = spawn(loop, TWO_WRITES, [StdIO(stream=inp, flags=IN), StdIO(stream=out, flags=OUT)])

    def on_read(handle, data, error):
        if data is None:
            handle.close()
            return
        chunks.append(data)
        if len(chunks) == 1:
            # A second old loop, dropped and collected between the child's two writes.
            other = uvffi.Loop()
            uvffi.Timer(other).start(lambda h: None, 10.0, 0.0)
            other.run(uvffi.RUN_NOWAIT)
            other.__dict__["cycle"] = other
            del other
            gc.collect()
            inp.close()

    chunks: List[bytes] = []
    out.start_read(on_read)
    loop.run()
    assert b"".join(chunks) == b"TEST\n"
    assert exits == [(0, 0)]


# -- a child's stdout and stdin through Pipes -----------------------------------------------------

def test_child_stdout_through_a_pipe_arrives_complete(loop):
    out = Pipe(loop)
    proc, exits = spawn(loop, "print('hello from the child')", [StdIO(), StdIO(stream=out, flags=OUT)])
    reader = Reader(out)
    loop.run()
    assert reader.data == b"hello from the child\n"
    assert reader.errors == [UV_EOF]
    assert exits == [(0, 0)]


def test_one_mib_of_child_stdout_arrives_complete_and_in_order(loop):
    code = ("import sys\n"
            "for i in range(16384):\n"
            "    sys.stdout.buffer.write(b'%063d\\n' % i)\n")
    out = Pipe(loop)
    proc, exits = spawn(loop, code, [StdIO(), StdIO(stream=out, flags=OUT)])
    reader = Reader(out)
    loop.run()
    expected = b"".join(b"%063d\n" % i for i in range(16384))
    assert len(expected) == 1 << 20
    assert reader.data == expected
    assert len(reader.chunks) > 1  # it did come in several reads
    assert exits == [(0, 0)]


def test_stdin_written_through_a_pipe_reaches_the_child(loop):
    code = ("import hashlib, sys\n"
            "data = sys.stdin.buffer.read()\n"
            "sys.stdout.write('%d %s' % (len(data), hashlib.sha256(data).hexdigest()))\n")
    inp, out = Pipe(loop), Pipe(loop)
    proc, exits = spawn(loop, code, [StdIO(stream=inp, flags=IN), StdIO(stream=out, flags=OUT)])
    payload = bytes(range(256)) * 1024  # 256 KiB: more than a pipe buffer holds
    done: List[Optional[int]] = []
    inp.write(payload, lambda h, err: done.append(err))
    inp.shutdown(lambda h, err: (done.append(err), h.close()))  # the child reads to EOF
    reader = Reader(out)
    loop.run()
    assert done == [None, None]
    assert reader.data.decode() == "%d %s" % (len(payload), hashlib.sha256(payload).hexdigest())
    assert exits == [(0, 0)]


# -- UV_INHERIT_STREAM: an open TCP or Pipe handle as the child's stdio -----------------------------

def test_inherit_stream_gives_the_child_a_tcp_connection_as_stdout(loop):
    server, client = TCP(loop), TCP(loop)
    server.bind(("127.0.0.1", 0))
    accepted: List[TCP] = []
    exits: List[Tuple[int, int]] = []

    def on_connection(srv, error):
        assert error is None
        conn = TCP(loop)
        srv.accept(conn)
        accepted.append(conn)
        srv.close()

        def on_exit(proc, status, sig):
            exits.append((status, sig))
            proc.close()

        Process.spawn(loop, [PY, "-c", "import os; os.write(1, b'over tcp\\n')"],
                      stdio=[StdIO(), StdIO(stream=conn, flags=UV_INHERIT_STREAM)], exit_callback=on_exit)
        conn.close()  # the child holds its own copy of the socket: EOF comes when it exits

    server.listen(on_connection)
    client.connect(server.getsockname(), lambda h, err: None)
    reader = Reader(client)
    loop.run()
    assert reader.data == b"over tcp\n"
    assert reader.errors == [UV_EOF]
    assert exits == [(0, 0)]


def test_inherit_stream_gives_the_child_a_pipe_as_stdout(loop):
    fa, fb = uvffi.socketpair()
    ours, theirs = Pipe(loop), Pipe(loop)
    ours.open(fa)
    theirs.open(fb)
    proc, exits = spawn(loop, "import os; os.write(1, b'over a socketpair\\n')",
                        [StdIO(), StdIO(stream=theirs, flags=UV_INHERIT_STREAM)])
    theirs.close()
    reader = Reader(ours)
    loop.run()
    assert reader.data == b"over a socketpair\n"
    assert reader.errors == [UV_EOF]
    assert exits == [(0, 0)]


def test_inherit_stream_refuses_a_closed_stream(loop):
    p = Pipe(loop)
    stdio = [StdIO(), StdIO(stream=p, flags=UV_INHERIT_STREAM)]
    p.close()
    loop.run()
    try:
        Process.spawn(loop, [PY, "-c", "pass"], stdio=stdio)
    except ValueError as e:
        assert "closed" in str(e)
    else:
        raise AssertionError("spawn with a closed stream did not raise")


# -- spawns that fail while setting up stdio --------------------------------------------------------
#
# uv_spawn fails before forking when it cannot set up a stdio entry, and then unlinks the handle
# from the loop's handle queue itself; closing it again through the stale links corrupted the
# queue (loop.handles and loop.close() then spun forever in uv_walk). Run in a subprocess: a
# hang in C cannot be interrupted by pytest-timeout's signal.

FAILED_SPAWNS = """
import sys, uvffi
from uvffi import TCP, Pipe, Process, StdIO
from uvffi.error import ProcessError
from uvffi.errno import UV_EINVAL
from uvffi.handles.process import UV_CREATE_PIPE, UV_INHERIT_STREAM, UV_WRITABLE_PIPE
loop = uvffi.Loop()
before = uvffi.Timer(loop)
unopened, tcp = Pipe(loop), TCP(loop)
for stdio in ([StdIO(), StdIO(stream=unopened, flags=UV_INHERIT_STREAM)],   # no fd to inherit
              [StdIO(), StdIO(stream=tcp, flags=UV_CREATE_PIPE | UV_WRITABLE_PIPE)]):  # not a Pipe
    for _ in range(3):
        try:
            Process.spawn(loop, [sys.executable, "-c", "pass"], stdio=stdio)
        except ProcessError as e:
            assert e.args[0] == UV_EINVAL, e
        else:
            raise AssertionError("spawn succeeded")
after = uvffi.Timer(loop)
fired = []
after.start(lambda h: fired.append(1), 0.0, 0.0)
loop.run()
assert fired == [1]
assert set(loop.handles) == {before, after, unopened, tcp}, loop.handles
loop.close()
print("ok")
"""


def test_spawns_failing_at_their_stdio_leave_the_loop_intact():
    r = subprocess.run([PY, "-c", FAILED_SPAWNS], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "ok\n"


# -- a child killed while its pipes are read ------------------------------------------------------

def test_sigkill_while_the_childs_pipes_are_read(loop):
    code = ("import os, time\n"
            "os.write(2, b'err\\n'); os.write(1, b'started\\n')  # stderr first: written before the kill\n"
            "time.sleep(60)\n")
    out, err = Pipe(loop), Pipe(loop)
    proc, exits = spawn(loop, code, [StdIO(), StdIO(stream=out, flags=OUT), StdIO(stream=err, flags=OUT)])
    err_reader = Reader(err)
    events: List[Any] = []

    def on_out(handle, data, error):
        events.append((data, error))
        if data == b"started\n":
            proc.kill(signal.SIGKILL)
        elif data is None:
            handle.close()

    out.start_read(on_out)
    loop.run()
    assert events[0] == (b"started\n", None)
    assert events[-1][0] is None and events[-1][1] == UV_EOF  # end of the stream, once
    assert len(events) == 2
    assert exits == [(0, signal.SIGKILL)]
    assert err_reader.data == b"err\n"
    assert err_reader.errors == [UV_EOF]  # stderr's reader too ends cleanly
