"""Synchronous and asynchronous uvffi.fs calls agree on every result: each function, on
success and on failure, run once each way on the same fresh directory; what it returns
(or the error code: raised as FSError synchronously, in ``request.error`` asynchronously)
and what it leaves on disk are the same."""

from __future__ import annotations

import inspect
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, List, Tuple

import pytest

from uvffi import errno, fs
from uvffi.error import FSError

Outcome = Tuple[str, Any]  # ("ok", result) or ("error", code) or ("raises", exception type name)

FIXED_NS = (1_000_000_000 * 1_600_000_000, 1_000_000_000 * 1_600_000_100)  # atime, mtime


class Caller:
    """Runs an fs function one way: ``Caller(loop, asynchronous)(fn, *args)`` -> an Outcome."""

    def __init__(self, loop: Any, asynchronous: bool) -> None:
        self.loop = loop
        self.asynchronous = asynchronous

    def __call__(self, fn: Callable[..., Any], *args: Any) -> Outcome:
        seen: List[Any] = []
        try:
            if not self.asynchronous:
                return ("ok", fn(self.loop, *args))
            req = fn(self.loop, *args, callback=seen.append)
        except FSError as exc:  # the synchronous failure (or a submission refused: raised too)
            return ("error", exc.args[0])
        except (TypeError, ValueError) as exc:  # refused before any libuv call
            return ("raises", type(exc).__name__)
        self.loop.run()
        assert seen == [req] and not req.pending
        if req.error is not None:
            assert req.result is None
            return ("error", req.error)
        return ("ok", req.result)


def populate(d: Path) -> None:
    """The same starting tree for every run: a file, a directory with an entry, a symlink."""
    (d / "file").write_bytes(b"test1234567890")
    (d / "sub").mkdir()
    (d / "sub" / "x").write_bytes(b"x")
    os.symlink("file", str(d / "link"))
    for p in (d / "file", d / "sub" / "x", d / "sub"):
        os.utime(str(p), ns=FIXED_NS)
    os.utime(str(d / "link"), ns=FIXED_NS, follow_symlinks=False)


def snapshot(d: Path) -> List[Tuple[Any, ...]]:
    """What a call left on disk, without what differs between two fresh trees (inodes,
    change and birth times, times of entries made by the call)."""
    out = []
    for root, dirs, files in os.walk(str(d)):
        for name in sorted(dirs + files):
            p = os.path.join(root, name)
            st = os.lstat(p)
            rel = os.path.relpath(p, str(d))
            if os.path.islink(p):
                out.append((rel, "link", os.readlink(p)))
            elif os.path.isdir(p):
                out.append((rel, "dir", st.st_mode, st.st_uid, st.st_gid))
            else:
                with open(p, "rb") as f:
                    out.append((rel, "file", st.st_mode, st.st_uid, st.st_gid, st.st_nlink, f.read()))
    return sorted(out, key=lambda t: (t[0], t[1]))


def times(p: Path, follow: bool = True) -> Tuple[int, int]:
    st = os.stat(str(p), follow_symlinks=follow)
    return st.st_atime_ns, st.st_mtime_ns


def stable(value: Any) -> Any:
    """A result with what differs between two fresh trees left out: a stat result's
    inode and change/birth times, a file descriptor's number (kept: whether it is one)."""
    if isinstance(value, fs.StatResult):
        return value._replace(st_ino=0, st_ctime=0, st_birthtime=0)
    if isinstance(value, fs.StatFSResult):  # free counts move between two calls
        return (value.f_type, value.f_bsize)
    return value


SCENARIOS: List[Any] = []
COVERED: Dict[str, set] = {}


def scenario(name: str, expect: Any) -> Callable[[Callable[[Caller, Path], Any]], Callable[[Caller, Path], Any]]:
    """Register ``f(call, d) -> (outcome, observations...)`` for fs.<name>; ``expect``:
    "ok" or the error code both paths must give."""
    def register(f: Callable[[Caller, Path], Any]) -> Callable[[Caller, Path], Any]:
        SCENARIOS.append(pytest.param(f, expect, id=f.__name__))
        COVERED.setdefault(name, set()).add("ok" if expect == "ok" else "error")
        return f
    return register


class Fd:
    """os.open() for a scenario, closed at the end (unless the call closed it)."""

    def __init__(self, path: Path, flags: int) -> None:
        self.fd = os.open(str(path), flags, 0o644)

    def __enter__(self) -> int:
        return self.fd

    def __exit__(self, *exc: Any) -> None:
        try:
            os.close(self.fd)
        except OSError:
            pass


# -- queries -------------------------------------------------------------------------

@scenario("stat", "ok")
def stat_file(call: Caller, d: Path) -> Any:
    tag, st = call(fs.stat, str(d / "link"))
    return (tag, stable(st))


@scenario("stat", errno.UV_ENOENT)
def stat_missing(call: Caller, d: Path) -> Any:
    return call(fs.stat, str(d / "missing"))


@scenario("lstat", "ok")
def lstat_link(call: Caller, d: Path) -> Any:
    tag, st = call(fs.lstat, str(d / "link"))
    return (tag, stable(st))


@scenario("lstat", errno.UV_ENOTDIR)
def lstat_through_a_file(call: Caller, d: Path) -> Any:
    return call(fs.lstat, str(d / "file" / "x"))


@scenario("fstat", "ok")
def fstat_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        tag, st = call(fs.fstat, fd)
    return (tag, stable(st))


@scenario("fstat", errno.UV_EBADF)
def fstat_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.fstat, -1)


@scenario("readlink", "ok")
def readlink_str_and_bytes(call: Caller, d: Path) -> Any:
    return call(fs.readlink, str(d / "link")), call(fs.readlink, os.fsencode(str(d / "link")))


@scenario("readlink", errno.UV_EINVAL)
def readlink_of_a_file(call: Caller, d: Path) -> Any:
    return call(fs.readlink, str(d / "file"))


@scenario("realpath", "ok")
def realpath_str_and_bytes(call: Caller, d: Path) -> Any:
    p = str(d / "sub" / ".." / "link")
    return call(fs.realpath, p), call(fs.realpath, os.fsencode(p))


@scenario("realpath", errno.UV_ENOENT)
def realpath_missing(call: Caller, d: Path) -> Any:
    return call(fs.realpath, str(d / "missing"))


@scenario("access", "ok")
def access_readable(call: Caller, d: Path) -> Any:
    return call(fs.access, str(d / "file"), os.R_OK)


@scenario("access", errno.UV_ENOENT)
def access_missing(call: Caller, d: Path) -> Any:
    return call(fs.access, str(d / "missing"), os.F_OK)


@scenario("scandir", "ok")
def scandir_str_and_bytes(call: Caller, d: Path) -> Any:
    tag, ents = call(fs.scandir, str(d))
    btag, bents = call(fs.scandir, os.fsencode(str(d)))
    return (tag, sorted(ents)), (btag, sorted(bents))


@scenario("scandir", errno.UV_ENOTDIR)
def scandir_of_a_file(call: Caller, d: Path) -> Any:
    return call(fs.scandir, str(d / "file"))


@scenario("statfs", "ok")
def statfs_dir(call: Caller, d: Path) -> Any:
    tag, st = call(fs.statfs, str(d))
    return (tag, stable(st))


@scenario("statfs", errno.UV_ENOENT)
def statfs_missing(call: Caller, d: Path) -> Any:
    return call(fs.statfs, str(d / "missing"))


# -- file descriptors ------------------------------------------------------------------

@scenario("open", "ok")
def open_creates(call: Caller, d: Path) -> Any:
    tag, fd = call(fs.open, str(d / "new"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    same = os.fstat(fd).st_ino == os.stat(str(d / "new")).st_ino
    os.close(fd)
    return tag, same


@scenario("open", errno.UV_EEXIST)
def open_excl_existing(call: Caller, d: Path) -> Any:
    return call(fs.open, str(d / "file"), os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)


@scenario("close", "ok")
def close_fd(call: Caller, d: Path) -> Any:
    r, w = os.pipe()  # the number may be reused at once (the loop's own fds): EOF tells
    try:
        outcome = call(fs.close, w)
        return outcome, os.read(r, 1)
    finally:
        os.close(r)


@scenario("close", errno.UV_EBADF)
def close_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.close, -1)


@scenario("read", "ok")
def read_at_offsets(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return (call(fs.read, fd, 6, 4), call(fs.read, fd, 4, -1), call(fs.read, fd, 100, -1),
                call(fs.read, fd, 4, 1000), call(fs.read, fd, 0, 0))


@scenario("read", errno.UV_EBADF)
def read_write_only_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_WRONLY) as fd:
        return call(fs.read, fd, 4, 0)


@scenario("write", "ok")
def write_at_offsets(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDWR) as fd:
        return (call(fs.write, fd, b"ABCD", 2), call(fs.write, fd, bytearray(b"xy"), -1),
                call(fs.write, fd, memoryview(b"tail"), 20), call(fs.write, fd, b"", 0))


@scenario("write", errno.UV_EBADF)
def write_read_only_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return call(fs.write, fd, b"x", 0)


@scenario("sendfile", "ok")
def sendfile_part(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as src, Fd(d / "out", os.O_WRONLY | os.O_CREAT) as dst:
        return call(fs.sendfile, dst, src, 4, 6), call(fs.sendfile, dst, src, 100, 6)


@scenario("sendfile", errno.UV_EBADF)
def sendfile_bad_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as src:
        return call(fs.sendfile, -1, src, 0, 4)


@scenario("fsync", "ok")
def fsync_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDWR) as fd:
        return call(fs.fsync, fd)


@scenario("fsync", errno.UV_EBADF)
def fsync_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.fsync, -1)


@scenario("fdatasync", "ok")
def fdatasync_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDWR) as fd:
        return call(fs.fdatasync, fd)


@scenario("fdatasync", errno.UV_EBADF)
def fdatasync_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.fdatasync, -1)


@scenario("ftruncate", "ok")
def ftruncate_shorter_and_longer(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDWR) as fd:
        return call(fs.ftruncate, fd, 3), call(fs.ftruncate, fd, 6)


@scenario("ftruncate", errno.UV_EINVAL)
def ftruncate_read_only_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return call(fs.ftruncate, fd, 0)


@scenario("fchmod", "ok")
def fchmod_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return call(fs.fchmod, fd, 0o640)


@scenario("fchmod", errno.UV_EBADF)
def fchmod_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.fchmod, -1, 0o640)


@scenario("fchown", "ok")
def fchown_to_self(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return call(fs.fchown, fd, os.getuid(), -1)


@scenario("fchown", errno.UV_EBADF)
def fchown_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.fchown, -1, os.getuid(), os.getgid())


@scenario("futime", "ok")
def futime_fd(call: Caller, d: Path) -> Any:
    with Fd(d / "file", os.O_RDONLY) as fd:
        return call(fs.futime, fd, 300.5, 400.25), times(d / "file")


@scenario("futime", errno.UV_EBADF)
def futime_bad_fd(call: Caller, d: Path) -> Any:
    return call(fs.futime, -1, 300.0, 400.0)


# -- paths that change the tree ------------------------------------------------------

@scenario("unlink", "ok")
def unlink_file(call: Caller, d: Path) -> Any:
    return call(fs.unlink, str(d / "file"))


@scenario("unlink", errno.UV_ENOENT)
def unlink_missing(call: Caller, d: Path) -> Any:
    return call(fs.unlink, str(d / "missing"))


@scenario("mkdir", "ok")
def mkdir_new(call: Caller, d: Path) -> Any:
    return call(fs.mkdir, str(d / "new"), 0o750)


@scenario("mkdir", errno.UV_EEXIST)
def mkdir_existing(call: Caller, d: Path) -> Any:
    return call(fs.mkdir, str(d / "sub"), 0o755)


@scenario("rmdir", "ok")
def rmdir_empty(call: Caller, d: Path) -> Any:
    os.unlink(str(d / "sub" / "x"))
    return call(fs.rmdir, str(d / "sub"))


@scenario("rmdir", errno.UV_ENOTEMPTY)
def rmdir_not_empty(call: Caller, d: Path) -> Any:
    return call(fs.rmdir, str(d / "sub"))


@scenario("rename", "ok")
def rename_into_a_directory(call: Caller, d: Path) -> Any:
    return call(fs.rename, str(d / "file"), str(d / "sub" / "moved"))


@scenario("rename", errno.UV_ENOENT)
def rename_missing(call: Caller, d: Path) -> Any:
    return call(fs.rename, str(d / "missing"), str(d / "other"))


@scenario("chmod", "ok")
def chmod_file(call: Caller, d: Path) -> Any:
    return call(fs.chmod, str(d / "file"), 0o604)


@scenario("chmod", errno.UV_ENOENT)
def chmod_missing(call: Caller, d: Path) -> Any:
    return call(fs.chmod, str(d / "missing"), 0o600)


@scenario("chown", "ok")
def chown_to_self(call: Caller, d: Path) -> Any:
    return call(fs.chown, str(d / "file"), -1, os.getgid())


@scenario("chown", errno.UV_ENOENT)
def chown_missing(call: Caller, d: Path) -> Any:
    return call(fs.chown, str(d / "missing"), os.getuid(), os.getgid())


@scenario("lchown", "ok")
def lchown_link_to_self(call: Caller, d: Path) -> Any:
    return call(fs.lchown, str(d / "link"), os.getuid(), os.getgid())


@scenario("lchown", errno.UV_ENOENT)
def lchown_missing(call: Caller, d: Path) -> Any:
    return call(fs.lchown, str(d / "missing"), os.getuid(), os.getgid())


@scenario("link", "ok")
def link_file(call: Caller, d: Path) -> Any:
    return call(fs.link, str(d / "file"), str(d / "hard"))


@scenario("link", errno.UV_EEXIST)
def link_onto_existing(call: Caller, d: Path) -> Any:
    return call(fs.link, str(d / "file"), str(d / "sub" / "x"))


@scenario("symlink", "ok")
def symlink_relative(call: Caller, d: Path) -> Any:
    return call(fs.symlink, "../file", str(d / "sub" / "up"), 0)


@scenario("symlink", errno.UV_EEXIST)
def symlink_onto_existing(call: Caller, d: Path) -> Any:
    return call(fs.symlink, "file", str(d / "link"), 0)


@scenario("utime", "ok")
def utime_file(call: Caller, d: Path) -> Any:
    # the link's own atime moves as the path is resolved: only its mtime is the tree's
    outcome = call(fs.utime, str(d / "link"), 100.5, 200.75)
    return outcome, times(d / "file"), times(d / "link", False)[1]


@scenario("utime", errno.UV_ENOENT)
def utime_missing(call: Caller, d: Path) -> Any:
    return call(fs.utime, str(d / "missing"), 100.0, 200.0)


@scenario("lutime", "ok")
def lutime_link(call: Caller, d: Path) -> Any:
    return call(fs.lutime, str(d / "link"), 100.5, 200.75), times(d / "file"), times(d / "link", False)


@scenario("lutime", errno.UV_ENOENT)
def lutime_missing(call: Caller, d: Path) -> Any:
    return call(fs.lutime, str(d / "missing"), 100.0, 200.0)


@scenario("copyfile", "ok")
def copyfile_new(call: Caller, d: Path) -> Any:
    return call(fs.copyfile, str(d / "file"), str(d / "copy"))


@scenario("copyfile", errno.UV_EEXIST)
def copyfile_excl_existing(call: Caller, d: Path) -> Any:
    return call(fs.copyfile, str(d / "file"), str(d / "sub" / "x"), fs.UV_FS_COPYFILE_EXCL)


@scenario("mkdtemp", "ok")
def mkdtemp_str_and_bytes(call: Caller, d: Path) -> Any:
    out = []
    for template in (str(d / "tXXXXXX"), os.fsencode(str(d / "bXXXXXX"))):
        tag, made = call(fs.mkdtemp, template)
        # the name is random: keep its type, its prefix and that it is a directory
        out.append((tag, (type(made).__name__, os.fsdecode(made)[:-6], os.path.isdir(made))))
        os.rmdir(made)
    return tuple(out)


@scenario("mkdtemp", errno.UV_ENOENT)
def mkdtemp_in_missing_dir(call: Caller, d: Path) -> Any:
    return call(fs.mkdtemp, str(d / "missing" / "tXXXXXX"))


@scenario("mkstemp", "ok")
def mkstemp_str_and_bytes(call: Caller, d: Path) -> Any:
    out = []
    for template in (str(d / "tXXXXXX"), os.fsencode(str(d / "bXXXXXX"))):
        tag, (fd, made) = call(fs.mkstemp, template)
        out.append((tag, (type(made).__name__, os.fsdecode(made)[:-6],
                          os.fstat(fd).st_ino == os.stat(made).st_ino)))
        os.close(fd)
        os.unlink(made)
    return tuple(out)


@scenario("mkstemp", errno.UV_ENOENT)
def mkstemp_in_missing_dir(call: Caller, d: Path) -> Any:
    return call(fs.mkstemp, str(d / "missing" / "tXXXXXX"))


# -- directory streams -------------------------------------------------------------------

@scenario("opendir", "ok")
def opendir_dir(call: Caller, d: Path) -> Any:
    tag, dir_ = call(fs.opendir, str(d / "sub"))
    names = [e.name for e in dir_]
    dir_.__exit__(None, None, None)
    return (tag, type(dir_).__name__), names


@scenario("opendir", errno.UV_ENOTDIR)
def opendir_of_a_file(call: Caller, d: Path) -> Any:
    return call(fs.opendir, str(d / "file"))


@scenario("readdir", "ok")
def readdir_in_batches_to_the_end(call: Caller, d: Path) -> Any:
    for name in ("a", "b", "c"):
        (d / "sub" / name).write_bytes(b"")
    out = []
    for path in (str(d / "sub"), os.fsencode(str(d / "sub"))):
        with fs.opendir(call.loop, path) as dir_:
            batches = [call(fs.readdir, dir_, 3), call(fs.readdir, dir_, 3), call(fs.readdir, dir_, 3)]
        # (tag, entries in the batch) per call: 3, 1, then 0 at the end
        out.append((batches[0][0], ([(tag, len(ents)) for tag, ents in batches],
                                    sorted(n for _, ents in batches for n, _ in ents))))
    return tuple(out)


@scenario("readdir", "raises")
def readdir_of_a_closed_dir(call: Caller, d: Path) -> Any:
    dir_ = fs.opendir(call.loop, str(d / "sub"))
    dir_.__exit__(None, None, None)
    return call(fs.readdir, dir_, 3)


@scenario("closedir", "ok")
def closedir_dir(call: Caller, d: Path) -> Any:
    dir_ = fs.opendir(call.loop, str(d / "sub"))
    return call(fs.closedir, dir_), dir_.closed


@scenario("closedir", "raises")
def closedir_twice(call: Caller, d: Path) -> Any:
    dir_ = fs.opendir(call.loop, str(d / "sub"))
    first = call(fs.closedir, dir_)
    return call(fs.closedir, dir_), first


# -- the test --------------------------------------------------------------------------

def _main_outcome(observed: Any) -> Outcome:
    """A scenario's main outcome: the observations are an Outcome, or a tuple whose
    first item is one (a (tag, details) pair)."""
    assert isinstance(observed, tuple) and observed, observed
    if isinstance(observed[0], str):
        return observed
    assert isinstance(observed[0], tuple) and isinstance(observed[0][0], str), observed
    return observed[0]


@pytest.mark.parametrize("run, expect", SCENARIOS)
def test_sync_and_async_agree(loop, tmp_path, run, expect):
    d = tmp_path / "w"
    observed = []
    for call in (Caller(loop, False), Caller(loop, True)):
        d.mkdir()
        populate(d)
        observed.append((run(call, d), snapshot(d)))
        shutil.rmtree(str(d))
    assert observed[0] == observed[1]
    tag, value = _main_outcome(observed[0][0])
    if expect == "ok":
        assert tag == "ok", value
    elif expect == "raises":
        assert tag == "raises", value
    else:
        assert (tag, value) == ("error", expect)


def test_every_fs_function_has_a_success_and_a_failure_scenario():
    functions = {name for name in fs.__all__
                 if inspect.isfunction(getattr(fs, name))
                 and "callback" in inspect.signature(getattr(fs, name)).parameters}
    assert functions == set(COVERED)
    assert {name for name, kinds in COVERED.items() if kinds != {"ok", "error"}} == set()
