"""uvffi.fs.FSEvent: uv_fs_event_t."""

from __future__ import annotations

import gc
import os

import pytest

import uvffi
from uvffi import fs
from uvffi.error import FSEventError, HandleClosedError


def _watch_until(loop, ev, timeout=5.0):  # noqa: ARG001
    """Run until ev's callback stops the loop (or the guard timer fires)."""
    guard = uvffi.Timer(loop)
    guard.start(lambda h: loop.stop(), timeout, 0)
    guard.ref = False
    loop.run()
    guard.close()


def test_reports_a_file_written_after_start(loop, tmp_path):
    seen = []

    def cb(handle, filename, events, error):
        seen.append((handle, filename, events, error))
        handle.close()

    ev = fs.FSEvent(loop)
    ev.start(str(tmp_path), 0, cb)
    write = uvffi.Timer(loop)
    write.start(lambda h: (tmp_path / "new.txt").write_bytes(b"data"), 0.05, 0)
    _watch_until(loop, ev)
    assert seen, "no event"
    handle, filename, events, error = seen[0]
    assert handle is ev and filename == "new.txt" and error is None
    assert events & (fs.UV_RENAME | fs.UV_CHANGE)


def test_reports_change_of_a_watched_file(loop, tmp_path):
    f = tmp_path / "f"
    f.write_bytes(b"")
    seen = []
    ev = fs.FSEvent(loop)
    ev.start(str(f), 0, lambda h, name, events, error: (seen.append(events), h.close()))
    uvffi.Timer(loop).start(lambda h: f.write_bytes(b"more"), 0.05, 0)
    _watch_until(loop, ev)
    assert seen and seen[0] & fs.UV_CHANGE


def test_path_is_the_watched_path(loop, tmp_path):
    ev = fs.FSEvent(loop)
    assert ev.path is None
    ev.start(str(tmp_path), 0, lambda *a: None)
    assert ev.path == str(tmp_path)
    ev.close()


def test_stop_ends_reporting(loop, tmp_path):
    seen = []
    ev = fs.FSEvent(loop)
    ev.start(str(tmp_path), 0, lambda *a: seen.append(a))
    assert ev.active
    ev.stop()
    assert not ev.active
    (tmp_path / "x").write_bytes(b"")
    loop.run(uvffi.RUN_NOWAIT)
    assert seen == []


def test_started_handle_dropped_still_reports(loop, tmp_path):
    seen = []
    fs.FSEvent(loop).start(str(tmp_path), 0, lambda h, *a: (seen.append(a), h.close()))
    gc.collect()
    uvffi.Timer(loop).start(lambda h: (tmp_path / "y").write_bytes(b""), 0.05, 0)
    _watch_until(loop, None)
    assert seen


def test_missing_path_raises_fseventerror(loop, tmp_path):
    ev = fs.FSEvent(loop)
    with pytest.raises(FSEventError):
        ev.start(str(tmp_path / "missing"), 0, lambda *a: None)


def test_bad_arguments_raise(loop, tmp_path):
    ev = fs.FSEvent(loop)
    with pytest.raises(TypeError):
        ev.start(str(tmp_path), 0, 42)
    with pytest.raises(TypeError):
        ev.start(42, 0, lambda *a: None)
    with pytest.raises(ValueError):
        ev.start(str(tmp_path) + "\0", 0, lambda *a: None)


def test_closed_handle_raises(loop, tmp_path):
    ev = fs.FSEvent(loop)
    ev.close()
    with pytest.raises(HandleClosedError):
        ev.start(str(tmp_path), 0, lambda *a: None)


def test_constants_and_export_match_pyuv():
    assert fs.FSEvent.__module__.startswith("uvffi")
    for name in ("UV_RENAME", "UV_CHANGE", "UV_FS_EVENT_WATCH_ENTRY", "UV_FS_EVENT_STAT",
                 "UV_FS_EVENT_RECURSIVE"):
        assert isinstance(getattr(fs, name), int)


def test_bytes_path_accepted(loop, tmp_path):
    ev = fs.FSEvent(loop)
    ev.start(os.fsencode(str(tmp_path)), 0, lambda *a: None)
    assert ev.path == str(tmp_path)
    ev.close()


def test_non_ascii_and_surrogate_names_round_trip(loop, tmp_path):
    # the watched path given as str with non-ASCII and surrogate escapes, the name of the
    # entry reported as os.fsdecode would give it
    raw_dir = os.fsencode(str(tmp_path)) + b"/d\xc3\xafr-\xff"
    os.mkdir(raw_dir)
    watched = os.fsdecode(raw_dir)
    seen = []
    ev = fs.FSEvent(loop)
    ev.start(watched, 0, lambda h, name, events, error: (seen.append(name), h.close()))
    assert ev.path == watched
    uvffi.Timer(loop).start(lambda h: open(raw_dir + b"/f\xfe-\xc3\xa9", "wb").close(), 0.05, 0)
    _watch_until(loop, ev)
    assert seen == [os.fsdecode(b"f\xfe-\xc3\xa9")] == ["f\udcfe-é"]
