"""uvffi.fs, synchronous path: pyuv's functions, signatures and results, and the extras."""

from __future__ import annotations

import array
import os
import socket
import stat as stat_mod
from pathlib import Path

import pytest

import uvffi as pyuv
from uvffi import fs
from uvffi.errno import UV_EBADF, UV_EEXIST, UV_ENOENT, UV_ENOTEMPTY
from uvffi.error import FSError, LoopClosedError, UVError


@pytest.fixture
def f(tmp_path):
    p = tmp_path / "file"
    p.write_bytes(b"test1234567890")
    return p


def _open(loop, path, flags=os.O_RDWR, mode=0o644):
    return fs.open(loop, str(path), flags, mode)


def test_fserror_is_uverror_with_code_and_message(loop, tmp_path):
    with pytest.raises(FSError) as info:
        fs.stat(loop, str(tmp_path / "missing"))
    assert isinstance(info.value, UVError)
    assert info.value.args[0] == UV_ENOENT and "no such file" in info.value.args[1]


def test_error_hierarchy_matches_pyuv():
    assert issubclass(pyuv.error.FSError, pyuv.error.UVError)
    assert issubclass(pyuv.error.FSEventError, pyuv.error.HandleError)
    assert issubclass(pyuv.error.FSPollError, pyuv.error.HandleError)


def test_stat_has_pyuv_fields_and_matches_os(loop, f):
    st = fs.stat(loop, str(f))
    assert len(st) == 16 and st._fields[-1] == "st_birthtime"
    o = os.stat(f)
    assert (st.st_size, st.st_mode, st.st_ino, st.st_nlink) == (o.st_size, o.st_mode, o.st_ino, o.st_nlink)
    assert abs(st.st_mtime - o.st_mtime) < 1e-6


def test_stat_agrees_with_os_stat_on_every_field(loop, f):
    st, o = fs.stat(loop, str(f)), os.stat(str(f))
    for name in ("st_mode", "st_ino", "st_dev", "st_nlink", "st_uid", "st_gid", "st_size", "st_blksize",
                 "st_blocks", "st_rdev"):
        assert getattr(st, name) == getattr(o, name), name
    for name in ("st_atime", "st_mtime", "st_ctime"):
        assert getattr(st, name) == pytest.approx(getattr(o, name), abs=1e-6), name


def test_stat_float_times_switch(loop, f):
    assert fs.stat_float_times() is True
    fs.stat_float_times(False)
    try:
        assert isinstance(fs.stat(loop, str(f)).st_mtime, int)
    finally:
        fs.stat_float_times(True)
    assert isinstance(fs.stat(loop, str(f)).st_mtime, float)


def test_lstat_describes_the_link(loop, f, tmp_path):
    link = tmp_path / "link"
    fs.symlink(loop, str(f), str(link), 0)
    assert stat_mod.S_ISLNK(fs.lstat(loop, str(link)).st_mode)
    assert stat_mod.S_ISREG(fs.stat(loop, str(link)).st_mode)


def test_fstat_of_open_fd(loop, f):
    fd = _open(loop, f)
    try:
        assert fs.fstat(loop, fd).st_size == 14
    finally:
        fs.close(loop, fd)


def test_open_missing_raises_enoent(loop, tmp_path):
    with pytest.raises(FSError) as info:
        fs.open(loop, str(tmp_path / "nope"), os.O_RDONLY, 0)
    assert info.value.args[0] == UV_ENOENT


def test_read_at_current_position_and_offset(loop, f):
    fd = _open(loop, f, os.O_RDONLY)
    try:
        assert fs.read(loop, fd, 4, -1) == b"test"
        assert fs.read(loop, fd, 4, -1) == b"1234"
        assert fs.read(loop, fd, 3, 10) == b"789"
        assert fs.read(loop, fd, 100, 14) == b""
    finally:
        fs.close(loop, fd)


def test_read_beyond_2gib_offset(loop, tmp_path):
    p = tmp_path / "sparse"
    with open(p, "wb") as fh:
        fh.seek(2 ** 31 - 1)
        fh.write(b"test1234")
    fd = _open(loop, p, os.O_RDONLY)
    try:
        assert fs.read(loop, fd, 4, 2 ** 31 - 1 + 4) == b"1234"
    finally:
        fs.close(loop, fd)


def test_read_bad_lengths_raise(loop, f):
    fd = _open(loop, f, os.O_RDONLY)
    try:
        with pytest.raises(ValueError):
            fs.read(loop, fd, -1, 0)
        with pytest.raises(OverflowError):
            fs.read(loop, fd, 2 ** 40, 0)
        with pytest.raises(TypeError):
            fs.read(loop, fd, "4", 0)  # type: ignore[arg-type]
    finally:
        fs.close(loop, fd)


def test_read_closed_fd_raises_ebadf(loop, f):
    fd = _open(loop, f)
    fs.close(loop, fd)
    with pytest.raises(FSError) as info:
        fs.read(loop, fd, 4, -1)
    assert info.value.args[0] == UV_EBADF
    with pytest.raises(FSError):
        fs.close(loop, fd)


def test_write_returns_count_and_keeps_nul_bytes(loop, tmp_path):
    p = tmp_path / "w"
    fd = fs.open(loop, str(p), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        assert fs.write(loop, fd, b"TES\x00T", -1) == 5
    finally:
        fs.close(loop, fd)
    assert p.read_bytes() == b"TES\x00T"


def test_write_at_offset(loop, f):
    fd = _open(loop, f)
    try:
        fs.write(loop, fd, b"XY", 2)
    finally:
        fs.close(loop, fd)
    assert f.read_bytes() == b"teXY1234567890"


def test_write_accepts_any_buffer(loop, tmp_path):
    p = tmp_path / "b"
    fd = fs.open(loop, str(p), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        fs.write(loop, fd, bytearray(b"ab"), -1)
        fs.write(loop, fd, memoryview(b"xcdx")[1:3], -1)
        n = fs.write(loop, fd, array.array("i", [1, 2]), -1)
        assert n == 2 * array.array("i").itemsize
    finally:
        fs.close(loop, fd)
    assert p.read_bytes()[:4] == b"abcd"


def test_write_rejects_str_and_non_buffers(loop, f):
    fd = _open(loop, f)
    try:
        with pytest.raises(TypeError):
            fs.write(loop, fd, "text", -1)  # type: ignore[arg-type]
        with pytest.raises(TypeError):
            fs.write(loop, fd, 42, -1)  # type: ignore[arg-type]
    finally:
        fs.close(loop, fd)


def test_unlink_and_unlink_missing(loop, f):
    fs.unlink(loop, str(f))
    assert not f.exists()
    with pytest.raises(FSError) as info:
        fs.unlink(loop, str(f))
    assert info.value.args[0] == UV_ENOENT


def test_mkdir_rmdir(loop, tmp_path):
    d = tmp_path / "d"
    fs.mkdir(loop, str(d), 0o755)
    assert d.is_dir()
    with pytest.raises(FSError) as info:
        fs.mkdir(loop, str(d), 0o755)
    assert info.value.args[0] == UV_EEXIST
    (d / "x").write_text("x")
    with pytest.raises(FSError) as info:
        fs.rmdir(loop, str(d))
    assert info.value.args[0] == UV_ENOTEMPTY
    (d / "x").unlink()
    fs.rmdir(loop, str(d))
    assert not d.exists()


def test_rename(loop, f, tmp_path):
    fs.rename(loop, str(f), str(tmp_path / "new"))
    assert (tmp_path / "new").read_bytes() == b"test1234567890" and not f.exists()


def test_chmod_and_fchmod(loop, f):
    fs.chmod(loop, str(f), 0o600)
    assert stat_mod.S_IMODE(os.stat(f).st_mode) == 0o600
    fd = _open(loop, f)
    try:
        fs.fchmod(loop, fd, 0o640)
    finally:
        fs.close(loop, fd)
    assert stat_mod.S_IMODE(os.stat(f).st_mode) == 0o640


def test_link_makes_hard_link(loop, f, tmp_path):
    fs.link(loop, str(f), str(tmp_path / "hard"))
    assert os.stat(f).st_nlink == 2


def test_symlink_and_readlink(loop, f, tmp_path):
    link = tmp_path / "sym"
    fs.symlink(loop, str(f), str(link), 0)
    assert fs.readlink(loop, str(link)) == str(f)


def test_chown_fchown_to_self_and_minus_one(loop, f):
    uid, gid = os.getuid(), os.getgid()
    fs.chown(loop, str(f), uid, gid)
    fs.chown(loop, str(f), -1, -1)
    fd = _open(loop, f)
    try:
        fs.fchown(loop, fd, uid, -1)
    finally:
        fs.close(loop, fd)
    assert os.stat(f).st_uid == uid


def test_fsync_fdatasync_ftruncate(loop, f):
    fd = _open(loop, f)
    try:
        fs.fsync(loop, fd)
        fs.fdatasync(loop, fd)
        fs.ftruncate(loop, fd, 4)
        assert fs.fstat(loop, fd).st_size == 4
        fs.ftruncate(loop, fd, 0)
    finally:
        fs.close(loop, fd)
    assert f.read_bytes() == b""


def test_scandir_lists_entries_with_types(loop, tmp_path):
    (tmp_path / "a").write_text("a")
    (tmp_path / "sub").mkdir()
    ents = {e.name: e.type for e in fs.scandir(loop, str(tmp_path))}
    assert ents == {"a": fs.UV_DIRENT_FILE, "sub": fs.UV_DIRENT_DIR}


def test_scandir_missing_raises(loop, tmp_path):
    with pytest.raises(FSError) as info:
        fs.scandir(loop, str(tmp_path / "nope"))
    assert info.value.args[0] == UV_ENOENT


def test_sendfile_copies_range(loop, f, tmp_path):
    dst = tmp_path / "dst"
    fd = _open(loop, f, os.O_RDONLY)
    fd2 = fs.open(loop, str(dst), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert fs.sendfile(loop, fd2, fd, 4, 6) == 6
    finally:
        fs.close(loop, fd)
        fs.close(loop, fd2)
    assert dst.read_bytes() == b"123456"


def test_sendfile_to_socket(loop, f):
    a, b = socket.socketpair()
    fd = _open(loop, f, os.O_RDONLY)
    try:
        assert fs.sendfile(loop, a.fileno(), fd, 0, 14) == 14
        assert b.recv(100) == b"test1234567890"
    finally:
        fs.close(loop, fd)
        a.close()
        b.close()


def test_utime_and_futime(loop, f):
    fs.utime(loop, str(f), 400497753, 400497753)
    assert os.stat(f).st_mtime == 400497753
    fd = _open(loop, f)
    try:
        fs.futime(loop, fd, 400497754.5, 400497754.5)
    finally:
        fs.close(loop, fd)
    assert os.stat(f).st_mtime == 400497754.5


def test_access(loop, f, tmp_path):
    assert fs.access(loop, str(f), os.F_OK) is None
    with pytest.raises(FSError) as info:
        fs.access(loop, str(tmp_path / "nope"), os.F_OK)
    assert info.value.args[0] == UV_ENOENT


def test_realpath_resolves(loop, f, tmp_path):
    link = tmp_path / "sym"
    os.symlink(f, link)
    assert fs.realpath(loop, str(link)) == os.path.realpath(f)
    assert fs.realpath(loop, ".") == os.getcwd()


def test_pathlike_and_bytes_paths(loop, f, tmp_path):
    assert fs.stat(loop, f).st_size == 14  # a pathlib.Path
    assert fs.stat(loop, os.fsencode(str(f))).st_size == 14
    names = fs.scandir(loop, os.fsencode(str(tmp_path)))
    assert names == [fs.DirEnt(b"file", fs.UV_DIRENT_FILE)]
    assert isinstance(fs.realpath(loop, os.fsencode(str(tmp_path))), bytes)


def test_non_ascii_and_surrogate_paths_round_trip(loop, tmp_path):
    uni = tmp_path / "fîlé-ß-日本"
    fd = fs.open(loop, str(uni), os.O_WRONLY | os.O_CREAT, 0o644)
    fs.close(loop, fd)
    raw_name = b"raw-\xff\xfe"
    raw = os.fsencode(str(tmp_path)) + b"/" + raw_name
    fd = fs.open(loop, raw, os.O_WRONLY | os.O_CREAT, 0o644)
    fs.close(loop, fd)
    names = {e.name for e in fs.scandir(loop, str(tmp_path))}
    escaped = os.fsdecode(raw_name)  # lone surrogates
    assert names == {"fîlé-ß-日本", escaped}
    assert fs.stat(loop, str(tmp_path / escaped)).st_size == 0
    fs.symlink(loop, str(tmp_path / escaped), str(tmp_path / "l"), 0)
    assert fs.readlink(loop, str(tmp_path / "l")) == str(tmp_path / escaped)


def test_bad_paths_raise(loop):
    with pytest.raises(ValueError):
        fs.stat(loop, "a\0b")
    with pytest.raises(TypeError):
        fs.stat(loop, 42)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        fs.stat(loop, None)  # type: ignore[arg-type]


def test_bad_fds_raise(loop):
    with pytest.raises(FSError):
        fs.fstat(loop, -1)
    with pytest.raises(OverflowError):
        fs.fstat(loop, 2 ** 40)
    with pytest.raises(TypeError):
        fs.fstat(loop, 1.0)  # type: ignore[arg-type]


def test_loop_argument_is_checked(loop, f):
    with pytest.raises(TypeError):
        fs.stat(None, str(f))
    closed = pyuv.Loop()
    closed.close()
    with pytest.raises(LoopClosedError):
        fs.stat(closed, str(f))


def test_callback_that_is_not_callable_raises_type_error(loop, f):
    with pytest.raises(TypeError):
        fs.stat(loop, str(f), 42)  # type: ignore[arg-type]


def test_copyfile_and_excl(loop, f, tmp_path):
    dst = tmp_path / "copy"
    fs.copyfile(loop, str(f), str(dst))
    assert dst.read_bytes() == f.read_bytes()
    with pytest.raises(FSError) as info:
        fs.copyfile(loop, str(f), str(dst), fs.UV_FS_COPYFILE_EXCL)
    assert info.value.args[0] == UV_EEXIST


def test_mkdtemp_creates_directory(loop, tmp_path):
    d = fs.mkdtemp(loop, str(tmp_path / "dXXXXXX"))
    assert os.path.isdir(d) and os.path.basename(d).startswith("d") and not d.endswith("XXXXXX")


def test_mkstemp_returns_fd_and_path(loop, tmp_path):
    fd, path = fs.mkstemp(loop, str(tmp_path / "fXXXXXX"))
    try:
        fs.write(loop, fd, b"hi", -1)
    finally:
        fs.close(loop, fd)
    assert Path(path).read_bytes() == b"hi"


def test_template_without_xs_raises(loop, tmp_path):
    with pytest.raises(ValueError):
        fs.mkdtemp(loop, str(tmp_path / "d"))


def test_lchown_and_lutime_on_link(loop, f, tmp_path):
    link = tmp_path / "sym"
    os.symlink(f, link)
    fs.lchown(loop, str(link), os.getuid(), os.getgid())
    fs.lutime(loop, str(link), 400497753, 400497753)
    assert os.lstat(link).st_mtime == 400497753
    assert os.stat(f).st_mtime != 400497753


def test_statfs_fields(loop, tmp_path):
    s = fs.statfs(loop, str(tmp_path))
    assert s.f_bsize > 0 and s.f_blocks >= s.f_bfree


def test_opendir_readdir_closedir(loop, tmp_path):
    for i in range(10):
        (tmp_path / f"e{i}").write_text("")
    d = fs.opendir(loop, str(tmp_path))
    first = fs.readdir(loop, d, 4)
    assert len(first) == 4
    rest = list(d)
    assert sorted(e.name for e in first + rest) == sorted(f"e{i}" for i in range(10))
    assert fs.readdir(loop, d) == []
    fs.closedir(loop, d)
    assert d.closed
    with pytest.raises(ValueError):
        fs.readdir(loop, d)
    with pytest.raises(ValueError):
        fs.closedir(loop, d)


def test_opendir_with_statement_and_collection(loop, tmp_path):
    with fs.opendir(loop, str(tmp_path)) as d:
        assert list(d) == []
    assert d.closed
    for _ in range(200):
        fs.opendir(loop, str(tmp_path))  # collected unclosed: closed then


def test_readdir_bad_arguments(loop, tmp_path):
    with pytest.raises(TypeError):
        fs.readdir(loop, "dir")  # type: ignore[arg-type]
    with fs.opendir(loop, str(tmp_path)) as d:
        with pytest.raises(ValueError):
            fs.readdir(loop, d, 0)


def test_constants_have_libuv_values():
    assert (fs.UV_RENAME, fs.UV_CHANGE) == (1, 2)
    assert (fs.UV_FS_EVENT_WATCH_ENTRY, fs.UV_FS_EVENT_STAT, fs.UV_FS_EVENT_RECURSIVE) == (1, 2, 4)
    assert (fs.UV_FS_SYMLINK_DIR, fs.UV_FS_SYMLINK_JUNCTION) == (1, 2)
    assert [fs.UV_DIRENT_UNKNOWN, fs.UV_DIRENT_FILE, fs.UV_DIRENT_DIR, fs.UV_DIRENT_LINK, fs.UV_DIRENT_FIFO,
            fs.UV_DIRENT_SOCKET, fs.UV_DIRENT_CHAR, fs.UV_DIRENT_BLOCK] == list(range(8))


def test_every_pyuv_fs_function_exists():
    names = ("stat lstat fstat unlink mkdir rmdir rename chmod fchmod link symlink readlink chown fchown "
             "open close read write fsync fdatasync ftruncate scandir sendfile utime futime access "
             "realpath stat_float_times").split()
    assert [n for n in names if not callable(getattr(pyuv.fs, n, None))] == []


def test_sync_call_from_another_thread_while_loop_runs(loop, f):
    import threading

    results = []
    timer = pyuv.Timer(loop)

    def worker():
        results.append(fs.stat(loop, str(f)).st_size)
        loop.call_soon_threadsafe(timer.stop)

    timer.start(lambda h: None, 10.0, 0)
    t = threading.Thread(target=worker)
    t.start()
    loop.run()
    t.join(5)
    assert results == [14]


def test_a_bool_fd_is_taken_as_os_functions_take_it(loop):
    """os.fstat(True) is os.fstat(1) on CPython 3.6 to 3.13 and PyPy (no error, no warning;
    only open() warns, from 3.13): uvffi.fs follows the os functions."""
    assert fs.fstat(loop, True).st_ino == os.fstat(True).st_ino == os.fstat(1).st_ino
