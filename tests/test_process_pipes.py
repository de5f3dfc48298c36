"""Process and streams together: a child's stdio through Pipe, TCP and socketpair handles."""

from __future__ import annotations

import gc
import sys
from typing import Any, Dict, List, Optional, Tuple

import uvffi
from uvffi import Pipe, Process, StdIO
from uvffi.errno import UV_EOF
from uvffi.handles.process import (
    UV_CREATE_PIPE,
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
    t.start(lambda h: None, 0.0, 0.0)
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
