"""uvffi.fs.FSPoll: uv_fs_poll_t."""

from __future__ import annotations

import gc
import time

import pytest

import uvffi
from uvffi import fs
from uvffi.errno import UV_ENOENT
from uvffi.error import FSPollError


def _run_for(loop, seconds):
    guard = uvffi.Timer(loop)
    guard.start(lambda h: loop.stop(), seconds, 0)
    guard.ref = False
    loop.run()
    guard.close()


def test_reports_a_change(loop, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"a")
    seen = []

    def cb(handle, prev, curr, error):
        seen.append((handle, prev, curr, error))
        handle.close()

    p = fs.FSPoll(loop)
    p.start(str(f), 0.05, cb)
    uvffi.Timer(loop).start(lambda h: f.write_bytes(b"longer"), 0.2, 0)
    _run_for(loop, 5.0)
    assert seen
    handle, prev, curr, error = seen[0]
    assert handle is p and error is None
    assert isinstance(prev, fs.StatResult) and isinstance(curr, fs.StatResult)
    assert prev.st_size == 1 and curr.st_size == 6


def test_interval_of_a_tenth_second_polls_every_tenth_second(loop, tmp_path):
    # pyuv 1.4 truncated 0.1 to 0 before scaling: it polled every 1 ms. Count the
    # stat calls libuv makes through their visible effect: a file whose mtime is
    # changed every 25 ms is reported at most once per poll.
    f = tmp_path / "f"
    f.write_bytes(b"")
    times = []
    p = fs.FSPoll(loop)
    p.start(str(f), 0.1, lambda h, prev, curr, err: times.append(time.monotonic()))
    n = [0]

    def touch(h):
        n[0] += 1
        f.write_bytes(b"x" * n[0])

    t = uvffi.Timer(loop)
    t.start(touch, 0.025, 0.025)
    _run_for(loop, 1.05)
    assert 6 <= len(times) <= 11, times
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert min(gaps) > 0.07


def test_missing_path_reports_the_error(loop, tmp_path):
    seen = []
    p = fs.FSPoll(loop)
    p.start(str(tmp_path / "missing"), 0.05, lambda h, prev, curr, err: (seen.append((prev, curr, err)), h.close()))
    _run_for(loop, 5.0)
    assert seen == [(None, None, UV_ENOENT)]


def test_path_is_the_polled_path(loop, tmp_path):
    p = fs.FSPoll(loop)
    assert p.path is None
    p.start(str(tmp_path), 1.0, lambda *a: None)
    assert p.path == str(tmp_path)
    p.close()


def test_stop_makes_it_inactive(loop, tmp_path):
    p = fs.FSPoll(loop)
    p.start(str(tmp_path), 1.0, lambda *a: None)
    assert p.active
    p.stop()
    assert not p.active


def test_dropped_inactive_fspoll_is_collected(loop, tmp_path):
    import weakref

    p = fs.FSPoll(loop)
    p.start(str(tmp_path), 1.0, lambda *a: None)
    p.stop()
    r = weakref.ref(p)
    del p
    gc.collect()
    loop.run(uvffi.RUN_NOWAIT)
    gc.collect()
    assert r() is None


def test_bad_arguments_raise(loop, tmp_path):
    p = fs.FSPoll(loop)
    with pytest.raises(TypeError):
        p.start(str(tmp_path), 1.0, None)
    with pytest.raises(TypeError):
        p.start(str(tmp_path), "1", lambda *a: None)
    with pytest.raises(ValueError):
        p.start(str(tmp_path), -1.0, lambda *a: None)
    with pytest.raises(ValueError):
        p.start(str(tmp_path), float("nan"), lambda *a: None)


def test_error_class_is_fspollerror():
    assert issubclass(FSPollError, uvffi.error.HandleError)
