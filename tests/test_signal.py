"""Signal: uv_signal_t watchers."""

from __future__ import annotations

import os
import signal

import pytest

import uvffi


def test_signal_callback_gets_handle_and_signum(loop):
    seen = []

    def cb(h, signum):
        seen.append((h, signum))
        h.close()

    s = uvffi.Signal(loop)
    s.start(cb, signal.SIGUSR1)
    t = uvffi.Timer(loop)
    t.start(lambda h: os.kill(os.getpid(), signal.SIGUSR1), 0, 0)
    loop.run()
    assert seen == [(s, signal.SIGUSR1)]


def test_stopped_signal_watcher_is_inactive(loop):
    s = uvffi.Signal(loop)
    s.start(lambda h, n: None, signal.SIGUSR2)
    assert s.active
    s.stop()
    assert not s.active


@pytest.mark.parametrize("bad", [0, -1, 100000])
def test_bad_signal_numbers_raise_value_error(loop, bad):
    with pytest.raises(ValueError):
        uvffi.Signal(loop).start(lambda h, n: None, bad)


def test_signal_number_must_be_int(loop):
    with pytest.raises(TypeError):
        uvffi.Signal(loop).start(lambda h, n: None, "SIGUSR1")
