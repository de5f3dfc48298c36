"""uvffi.TTY on a pseudo-terminal (the pty module): size, modes, reading and writing."""

from __future__ import annotations

import fcntl
import os
import pty
import struct
import termios
from typing import Any, Iterator, List, Optional, Tuple

import pytest

import uvffi
from uvffi.error import StreamError, TTYError


@pytest.fixture
def pty_fds() -> Iterator[Tuple[int, int]]:
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    yield master, slave
    for fd in (master, slave):
        try:
            os.close(fd)
        except OSError:
            pass


def test_get_winsize(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    tty = uvffi.TTY(loop, pty_fds[1], False)
    assert tty.get_winsize() == (80, 24)


def test_write_reaches_the_master(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    master, slave = pty_fds
    tty = uvffi.TTY(loop, slave, False)
    done: List[Optional[int]] = []
    tty.write(b"hello tty", lambda h, e: done.append(e))
    loop.run()
    assert done == [None]
    assert b"hello tty" in os.read(master, 100)


def test_read_from_the_master(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    master, slave = pty_fds
    tty = uvffi.TTY(loop, slave, True)
    tty.set_mode(uvffi.UV_TTY_MODE_RAW)
    got: List[Any] = []

    def on_read(h: uvffi.TTY, data: Optional[bytes], error: Optional[int]) -> None:
        got.append(data)
        uvffi.TTY.reset_mode()  # while the tty is open: libuv 1.44 answers EBADF after its close
        h.close()

    tty.start_read(on_read)
    os.write(master, b"typed")
    loop.run()
    assert got == [b"typed"]


def test_set_mode_rejects_unknown_modes(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    tty = uvffi.TTY(loop, pty_fds[1], True)
    with pytest.raises(ValueError):
        tty.set_mode(7)
    tty.set_mode(uvffi.UV_TTY_MODE_NORMAL)


def test_raw_mode_then_reset_restores_the_terminal(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    slave = pty_fds[1]
    before = termios.tcgetattr(slave)
    tty = uvffi.TTY(loop, slave, True)
    tty.set_mode(uvffi.UV_TTY_MODE_RAW)
    assert termios.tcgetattr(slave) != before
    uvffi.TTY.reset_mode()
    assert termios.tcgetattr(slave) == before


def test_a_non_tty_fd_raises_tty_error(loop: uvffi.Loop, tmp_path: Any) -> None:
    with open(tmp_path / "f", "w") as f:
        with pytest.raises(TTYError):
            uvffi.TTY(loop, f.fileno(), False)


def test_bad_arguments_raise(loop: uvffi.Loop, pty_fds: Tuple[int, int]) -> None:
    with pytest.raises(TypeError):
        uvffi.TTY(loop, pty_fds[1], 1)  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        uvffi.TTY(loop, -1, False)


def test_tty_error_is_a_stream_error() -> None:
    assert issubclass(TTYError, StreamError)
