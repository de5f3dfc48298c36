"""The synchronous stat/lstat/fstat's C path (CPython, ``_c/fs_ops.c``) returns what the
generic path returns, raises what it raises, and hands every other case to it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Callable, List

import pytest

from uvffi import fs
from uvffi.errno import UV_EBADF, UV_ENOENT
from uvffi.error import FSError, LoopClosedError

needs_c = pytest.mark.skipif(fs._c_stat is None, reason="the C path is CPython's (and not with UVFFI_NO_CBASE=1)")


def _both(monkeypatch: pytest.MonkeyPatch, call: Callable[[], Any]) -> List[Any]:
    """``call()`` with the C path, then with the generic path (each a result or the exception)."""
    out = []
    for c_stat in (fs._c_stat, None):
        monkeypatch.setattr(fs, "_c_stat", c_stat)
        try:
            out.append(call())
        except Exception as exc:  # noqa: BLE001 - compared below
            out.append((type(exc), exc.args))
    return out


@pytest.fixture
def tree(tmp_path: Path) -> Path:
    (tmp_path / "file").write_bytes(b"x" * 1234)
    os.utime(tmp_path / "file", ns=(1_600_000_000_123_456_789, 1_600_000_100_987_654_321))
    (tmp_path / "link").symlink_to(tmp_path / "file")
    return tmp_path


@needs_c
@pytest.mark.parametrize("float_times", [True, False])
def test_c_path_agrees_with_the_generic_path(loop: Any, tree: Path, monkeypatch: pytest.MonkeyPatch,
                                             float_times: bool) -> None:
    old = fs.stat_float_times()
    fs.stat_float_times(float_times)
    try:
        fd = os.open(tree / "file", os.O_RDONLY)
        try:
            calls = [lambda: fs.stat(loop, str(tree / "link")), lambda: fs.lstat(loop, str(tree / "link")),
                     lambda: fs.stat(loop, os.fsencode(tree / "file")), lambda: fs.fstat(loop, fd),
                     lambda: fs.stat(loop, tree / "file")]  # a PathLike: the generic path both times
            for call in calls:
                c, generic = _both(monkeypatch, call)
                # a followed link's own atime may move between the two calls (the kernel decides)
                assert type(c) is fs.StatResult and c._replace(st_atime=0) == generic._replace(st_atime=0)
                assert all(type(a) is type(b) for a, b in zip(c, generic))
        finally:
            os.close(fd)
    finally:
        fs.stat_float_times(old)
    lst = fs.lstat(loop, str(tree / "link"))
    assert lst.st_size != 1234 and fs.stat(loop, str(tree / "link")).st_size == 1234


@needs_c
def test_c_path_times_are_the_files(loop: Any, tree: Path) -> None:
    st = fs.stat(loop, str(tree / "file"))
    assert st.st_mtime == 1_600_000_100 + 1e-9 * 987_654_321
    assert st.st_atime == 1_600_000_000 + 1e-9 * 123_456_789


@needs_c
def test_c_path_errors_match(loop: Any, tree: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = str(tree / "missing")
    c, generic = _both(monkeypatch, lambda: fs.stat(loop, missing))
    assert c == generic and c[0] is FSError and c[1][0] == UV_ENOENT
    c, generic = _both(monkeypatch, lambda: fs.fstat(loop, 1 << 20))
    assert c == generic and c[0] is FSError and c[1][0] == UV_EBADF
    # handed to the generic path, which raises
    c, generic = _both(monkeypatch, lambda: fs.stat(loop, "a\0b"))
    assert c == generic and c[0] is ValueError
    c, generic = _both(monkeypatch, lambda: fs.fstat(loop, "0"))
    assert c == generic and c[0] is TypeError
    c, generic = _both(monkeypatch, lambda: fs.stat(object(), str(tree)))
    assert c == generic and c[0] is TypeError


@needs_c
def test_c_path_on_a_closed_loop_raises_loop_closed(tree: Path) -> None:
    import uvffi

    lp = uvffi.Loop()
    lp.close()
    with pytest.raises(LoopClosedError):
        fs.stat(lp, str(tree / "file"))


@needs_c
def test_c_path_encodes_surrogate_escapes_as_os_does(loop: Any, tmp_path: Path) -> None:
    raw = os.fsencode(str(tmp_path)) + b"/\xff-name"
    with open(raw, "wb") as fh:
        fh.write(b"abc")
    st = fs.stat(loop, os.fsdecode(raw))
    assert st.st_size == 3 and st.st_ino == os.stat(raw).st_ino


@needs_c
@pytest.mark.parametrize("float_times", [True, False])
def test_async_stat_result_built_in_c_agrees(loop: Any, tree: Path, monkeypatch: pytest.MonkeyPatch,
                                            float_times: bool) -> None:
    old = fs.stat_float_times()
    fs.stat_float_times(float_times)
    results: List[Any] = []
    try:
        for c_stat_of in (fs._c_stat_of, None):
            monkeypatch.setattr(fs, "_c_stat_of", c_stat_of)
            got: dict = {}
            fs.stat(loop, str(tree / "link"), lambda req, got=got: got.__setitem__("stat", req.result))
            fs.lstat(loop, str(tree / "link"), lambda req, got=got: got.__setitem__("lstat", req.result))
            loop.run()  # the pool may complete them in either order
            results += [got["stat"], got["lstat"]]
    finally:
        fs.stat_float_times(old)
    assert len(results) == 4 and all(type(r) is fs.StatResult for r in results)
    # following the link may set its own atime (the kernel decides when): lstat's atime can move
    same = [r._replace(st_atime=0.0) for r in results]
    assert same[:2] == same[2:] and same[0] != same[1] and results[0] == results[2]
    assert all(type(a) is type(b) for a, b in zip(results[0], results[2]))
