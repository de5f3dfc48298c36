"""File-system operations, named as pyuv names them (``pyuv.fs``).

Every function takes the loop first and an optional ``callback`` last. Without a
callback the call is synchronous: it blocks the calling thread (the GIL released),
returns the result and raises :class:`~uvffi.error.FSError` ``(code, message)`` on
failure. With a callback it runs on libuv's thread pool and returns an
:class:`FSRequest`; ``callback(request)`` then runs on the loop thread with
``request.result`` (what the synchronous call would have returned) and
``request.error`` (None, or the negative error code). Submitting is allowed only
from the loop's thread while it runs (``RuntimeError`` otherwise).

Paths may be ``str``, ``bytes`` or ``os.PathLike``; a ``str`` is encoded with
``os.fsencode`` (surrogate escapes round-trip) and path results come back as the
same type as the path given (``bytes`` in, ``bytes`` out).

Beyond pyuv: :func:`copyfile`, :func:`mkdtemp`, :func:`mkstemp`, :func:`lchown`,
:func:`lutime`, :func:`statfs`, :func:`opendir` / :func:`readdir` / :func:`closedir`.
:class:`FSEvent` watches a path for changes, :class:`FSPoll` polls its stat.
"""

from __future__ import annotations

import os
import threading
from typing import Any, Callable, Dict, List, NamedTuple, Optional, Tuple, Union

from ._core import PYPY, ffi, lib
from ._core.native import C as _C
from .errno import UV_EBUSY as _UV_EBUSY
from .errno import strerror
from .error import FSError
from .handles.fs_event import (
    UV_CHANGE,
    UV_FS_EVENT_RECURSIVE,
    UV_FS_EVENT_STAT,
    UV_FS_EVENT_WATCH_ENTRY,
    UV_RENAME,
    FSEvent,
)
from .handles.fs_poll import FSPoll
from .loop import Loop as _Loop
from .requests.fs import FSRequest

__all__ = [
    "stat", "lstat", "fstat", "open", "close", "read", "write", "unlink", "mkdir", "rmdir",
    "rename", "chmod", "fchmod", "link", "symlink", "readlink", "chown", "fchown", "fsync",
    "fdatasync", "ftruncate", "scandir", "sendfile", "utime", "futime", "access", "realpath",
    "stat_float_times",
    "copyfile", "mkdtemp", "mkstemp", "lchown", "lutime", "statfs", "opendir", "readdir", "closedir",
    "StatResult", "StatFSResult", "DirEnt", "Dir", "FSRequest", "FSEvent", "FSPoll",
    "UV_RENAME", "UV_CHANGE", "UV_FS_EVENT_WATCH_ENTRY", "UV_FS_EVENT_STAT", "UV_FS_EVENT_RECURSIVE",
    "UV_FS_SYMLINK_DIR", "UV_FS_SYMLINK_JUNCTION", "UV_FS_COPYFILE_EXCL", "UV_FS_COPYFILE_FICLONE",
    "UV_FS_COPYFILE_FICLONE_FORCE", "UV_DIRENT_UNKNOWN", "UV_DIRENT_FILE", "UV_DIRENT_DIR",
    "UV_DIRENT_LINK", "UV_DIRENT_FIFO", "UV_DIRENT_SOCKET", "UV_DIRENT_CHAR", "UV_DIRENT_BLOCK",
]

PathType = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]
Callback = Optional[Callable[[Any], Any]]

UV_FS_SYMLINK_DIR: int = lib.UV_FS_SYMLINK_DIR
UV_FS_SYMLINK_JUNCTION: int = lib.UV_FS_SYMLINK_JUNCTION
UV_FS_COPYFILE_EXCL: int = lib.UV_FS_COPYFILE_EXCL
UV_FS_COPYFILE_FICLONE: int = lib.UV_FS_COPYFILE_FICLONE
UV_FS_COPYFILE_FICLONE_FORCE: int = lib.UV_FS_COPYFILE_FICLONE_FORCE
UV_DIRENT_UNKNOWN: int = lib.UV_DIRENT_UNKNOWN
UV_DIRENT_FILE: int = lib.UV_DIRENT_FILE
UV_DIRENT_DIR: int = lib.UV_DIRENT_DIR
UV_DIRENT_LINK: int = lib.UV_DIRENT_LINK
UV_DIRENT_FIFO: int = lib.UV_DIRENT_FIFO
UV_DIRENT_SOCKET: int = lib.UV_DIRENT_SOCKET
UV_DIRENT_CHAR: int = lib.UV_DIRENT_CHAR
UV_DIRENT_BLOCK: int = lib.UV_DIRENT_BLOCK

_INT_MAX = 2 ** 31 - 1
_UV_EOF = -4095

_raw_alloc = ffi.new_allocator(should_clear_after_alloc=False)


class StatResult(NamedTuple):
    """A stat result with pyuv's 16 fields (times as float seconds, or int: see
    :func:`stat_float_times`)."""

    st_mode: int
    st_ino: int
    st_dev: int
    st_nlink: int
    st_uid: int
    st_gid: int
    st_size: int
    st_atime: float
    st_mtime: float
    st_ctime: float
    st_blksize: int
    st_blocks: int
    st_rdev: int
    st_flags: int
    st_gen: int
    st_birthtime: float


class DirEnt(NamedTuple):
    """A directory entry: ``name`` (str or bytes, as the path given) and ``type`` (``UV_DIRENT_*``)."""

    name: Union[str, bytes]
    type: int


class StatFSResult(NamedTuple):
    """:func:`statfs`'s result (statfs(2)'s fields)."""

    f_type: int
    f_bsize: int
    f_blocks: int
    f_bfree: int
    f_bavail: int
    f_files: int
    f_ffree: int


# -- the one place the synchronous and asynchronous paths differ -------------------

def _loop_raw(loop: Any) -> Any:
    if not isinstance(loop, _Loop):
        raise TypeError(f"loop must be a uvffi.Loop, not {type(loop).__name__}")
    return loop._live_raw()


def _run(loop: Any, callback: Callback, start: Callable[[Any, Any, Any], int],
         finish: Callable[[Any], Any], keep: Tuple[Any, ...] = (), path: Any = None) -> Any:
    """Run one uv_fs_* call. ``start(uv_loop, req, cb)`` makes the libuv call;
    ``finish(req)`` turns the completed request into the Python result (before the
    request is cleaned up); ``keep`` holds what must outlive the call (buffers);
    ``path`` is what :attr:`FSRequest.path` reports.

    Synchronous when ``callback`` is None; with one, an :class:`FSRequest` (which
    pins ``keep``) is submitted and returned, and its done callback runs
    ``finish`` then ``callback(request)``."""
    raw = _loop_raw(loop)
    if callback is not None:
        if not callable(callback):
            raise TypeError("callback must be a callable or None")
        return FSRequest(loop, callback, start, finish, keep, path)
    req = _spare_reqs.pop() if _spare_reqs else _new_fs_req()
    try:
        err = start(raw, req, ffi.NULL)
        if err < 0:
            raise FSError(err, strerror(err))
        return finish(req)
    finally:
        lib.uv_fs_req_cleanup(req)
        if len(_spare_reqs) < _SPARE_REQS:
            _spare_reqs.append(req)


# The synchronous path's uv_fs_t structs are reused (libuv initialises every field a call
# reads, and uv_fs_req_cleanup leaves the struct reusable): a fresh one per call was an
# allocation and a 440-byte clear, and on PyPy memory its GC must track. Each call pops its own
# from the list (atomic under the GIL; calls from several threads each get one), and gives it
# back after the cleanup; finish() copies its result out before that.
_SPARE_REQS = 8
_spare_reqs: List[Any] = []


def _new_fs_req() -> Any:
    return ffi.new("uv_fs_t *")


def _run_path(loop: Any, path: Any, callback: Callback, start: Callable[[Any, Any, Any], int],
              finish: Callable[[Any], Any], keep: Tuple[Any, ...] = ()) -> Any:
    """:func:`_run` for a function of a path (the request reports it)."""
    return _run(loop, callback, start, finish, keep, path)


# -- argument conversion ---------------------------------------------------------

def _path(path: Any, name: str = "path") -> Tuple[bytes, bool]:
    """(the encoded path, whether the caller gave bytes)."""
    p = os.fspath(path)
    b = os.fsencode(p) if isinstance(p, str) else p
    if b"\0" in b:
        raise ValueError(f"{name}: embedded null byte")
    return b, isinstance(p, bytes)


def _out(raw: bytes, as_bytes: bool) -> Union[str, bytes]:
    return raw if as_bytes else os.fsdecode(raw)


def _int(value: Any, name: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    return value


def _id(value: Any, name: str) -> int:
    """A uid or gid; -1 means 'leave unchanged', as in chown(2)."""
    value = _int(value, name)
    if value == -1:
        return int(ffi.cast("uv_uid_t", -1))
    return value


def _none(req: Any) -> None:
    return None


def _result(req: Any) -> int:
    return int(req.result)


_float_times = True


def stat_float_times(newval: int = -1) -> Optional[bool]:
    """pyuv's switch: with no argument, whether stat times are floats; ``False``
    makes them ints (whole seconds), ``True`` floats again."""
    global _float_times
    if newval == -1:
        return _float_times
    _float_times = bool(newval)
    return None


def _stat_result(req: Any) -> StatResult:
    if _c_stat_of is not None:
        return _c_stat_of(int(ffi.cast("uintptr_t", req)), _float_times, StatResult)
    return _stat_of(ffi.addressof(req, "statbuf"))


# uv_stat_t: twelve uint64_t fields (st_dev first), then four uv_timespec_t of two longs
_U64P = ffi.typeof("uint64_t *")
_LONGP = ffi.typeof("long *")
_ATIM = ffi.offsetof("uv_stat_t", "st_atim") // ffi.sizeof("long")
_new_tuple = tuple.__new__


def _stat_of(s: Any) -> StatResult:
    """A :class:`StatResult` from a ``uv_stat_t *``: its fields read in two C calls
    (``ffi.unpack``) rather than one attribute read each."""
    u = ffi.unpack(ffi.cast(_U64P, s), 12)  # dev mode nlink uid gid rdev ino size blksize blocks flags gen
    t = ffi.unpack(ffi.cast(_LONGP, s) + _ATIM, 8)  # (sec, nsec) of atim mtim ctim birthtim
    if _float_times:
        at, mt, ct, bt = t[0] + 1e-9 * t[1], t[2] + 1e-9 * t[3], t[4] + 1e-9 * t[5], t[6] + 1e-9 * t[7]
    else:
        at, mt, ct, bt = t[0], t[2], t[4], t[6]
    return _new_tuple(StatResult, (u[1], u[6], u[0], u[2], u[3], u[4], u[7], at, mt, ct, u[8], u[9], u[5], u[10],
                                   u[11], bt))  # the NamedTuple's __new__ without its Python frame


# CPython: the synchronous stat, lstat and fstat in one C call (_c/fs_ops.c), for an open
# loop and an exact str/bytes path or int fd; anything else (NotImplemented) takes the path
# above, which raises the right errors. None on PyPy and with UVFFI_NO_CBASE=1.
_c_stat: Optional[Callable[..., Any]] = _C.get("fs_stat")
_c_stat_of: Optional[Callable[..., Any]] = _C.get("fs_stat_result")  # an async stat's result


def _c_stat_result(r: Any) -> StatResult:
    """The C call's answer: a :class:`StatResult`, or libuv's negative error code."""
    if r.__class__ is int:
        raise FSError(r, strerror(r))
    return r


def _string_result(as_bytes: bool) -> Callable[[Any], Union[str, bytes]]:
    def finish(req: Any) -> Union[str, bytes]:
        return _out(ffi.string(ffi.cast("char *", req.ptr)), as_bytes)
    return finish


# -- pyuv's functions ----------------------------------------------------------------

def stat(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """stat(2): a :class:`StatResult`."""
    if callback is None and _c_stat is not None:
        r = _c_stat(loop, path, 0, _float_times, StatResult)
        if r is not NotImplemented:
            return _c_stat_result(r)
    p, _ = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_stat(lp, req, p, cb), _stat_result)


def lstat(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """lstat(2): like :func:`stat`, but a symlink is described itself, not followed."""
    if callback is None and _c_stat is not None:
        r = _c_stat(loop, path, 1, _float_times, StatResult)
        if r is not NotImplemented:
            return _c_stat_result(r)
    p, _ = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_lstat(lp, req, p, cb), _stat_result)


def fstat(loop: Any, fd: int, callback: Callback = None) -> Any:
    """fstat(2) of an open file descriptor."""
    if callback is None and _c_stat is not None:
        r = _c_stat(loop, fd, 2, _float_times, StatResult)
        if r is not NotImplemented:
            return _c_stat_result(r)
    fd = _int(fd, "fd")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_fstat(lp, req, fd, cb), _stat_result)


def open(loop: Any, path: PathType, flags: int, mode: int, callback: Callback = None) -> Any:
    """open(2) with ``os.O_*`` flags and a mode: the new file descriptor."""
    p, _ = _path(path)
    flags, mode = _int(flags, "flags"), _int(mode, "mode")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_open(lp, req, p, flags, mode, cb), _result)


def close(loop: Any, fd: int, callback: Callback = None) -> Any:
    """close(2)."""
    fd = _int(fd, "fd")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_close(lp, req, fd, cb), _none)


# Read buffers are reused: a fresh megabyte for every read cost more in page faults than the
# read itself (measured here: 3.3 ms per MiB, os.pread 0.4 ms; with a reused buffer 0.4 ms). A
# buffer is given back only once its bytes are copied out, so no two reads ever share one; a
# read that fails or is cancelled simply drops its buffer. Sizes are powers of two from 64 KiB
# to 4 MiB, one spare of each kept (8 MiB at most); larger reads get a buffer of their own.
_SPARE_MIN, _SPARE_MAX = 1 << 16, 1 << 22
_spare: Dict[int, Any] = {}


def _read_buffer(length: int) -> Tuple[Any, int]:
    """A buffer for ``length`` bytes and its size class (0: not to be given back)."""
    if length > _SPARE_MAX:
        return _raw_alloc("char[]", length), 0
    size = max(_SPARE_MIN, 1 << (length - 1).bit_length())
    buf = _spare.pop(size, None)  # atomic under the GIL: two threads never get the same one
    return (buf if buf is not None else _raw_alloc("char[]", size)), size


def _give_back(buf: Any, size: int) -> None:
    if size:
        _spare[size] = buf


def read(loop: Any, fd: int, length: int, offset: int, callback: Callback = None) -> Any:
    """Read up to ``length`` bytes at ``offset`` (-1: the current position): the bytes read."""
    fd, length, offset = _int(fd, "fd"), _int(length, "length"), _int(offset, "offset")
    if length < 0:
        raise ValueError("length must not be negative")
    if length > _INT_MAX:
        raise OverflowError(f"length must be at most {_INT_MAX}")
    buf, size = _read_buffer(length)
    bufs = ffi.new("uv_buf_t[1]")
    bufs[0].base = buf
    bufs[0].len = length

    def finish(req: Any) -> bytes:
        data = ffi.unpack(buf, req.result)
        _give_back(buf, size)
        return data

    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_read(lp, req, fd, bufs, 1, offset, cb),
                finish, (buf, bufs))


def write(loop: Any, fd: int, write_data: Any, offset: int, callback: Callback = None) -> Any:
    """Write ``write_data`` (any contiguous buffer: bytes, bytearray, memoryview, array...)
    at ``offset`` (-1: the current position): the number of bytes written."""
    fd, offset = _int(fd, "fd"), _int(offset, "offset")
    if isinstance(write_data, str):
        raise TypeError("write_data must be a bytes-like object, not str")
    if PYPY and not isinstance(write_data, bytes):
        # PyPy lets a bytearray be resized under ffi.from_buffer (CPython holds an export:
        # BufferError): the pool thread would read freed memory. libuv gets a copy.
        write_data = bytes(memoryview(write_data))
    data = ffi.from_buffer(write_data)
    bufs = ffi.new("uv_buf_t[1]")
    bufs[0].base = data
    bufs[0].len = len(data)
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_write(lp, req, fd, bufs, 1, offset, cb),
                _result, (write_data, data, bufs))


def unlink(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """Remove a file."""
    p, _ = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_unlink(lp, req, p, cb), _none)


def mkdir(loop: Any, path: PathType, mode: int, callback: Callback = None) -> Any:
    """Create a directory."""
    p, _ = _path(path)
    mode = _int(mode, "mode")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_mkdir(lp, req, p, mode, cb), _none)


def rmdir(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """Remove an empty directory."""
    p, _ = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_rmdir(lp, req, p, cb), _none)


def rename(loop: Any, path: PathType, new_path: PathType, callback: Callback = None) -> Any:
    """Rename ``path`` to ``new_path``."""
    p, _ = _path(path)
    n, _ = _path(new_path, "new_path")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_rename(lp, req, p, n, cb), _none)


def chmod(loop: Any, path: PathType, mode: int, callback: Callback = None) -> Any:
    """Change a file's permission bits."""
    p, _ = _path(path)
    mode = _int(mode, "mode")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_chmod(lp, req, p, mode, cb), _none)


def fchmod(loop: Any, fd: int, mode: int, callback: Callback = None) -> Any:
    """:func:`chmod` of an open file descriptor."""
    fd, mode = _int(fd, "fd"), _int(mode, "mode")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_fchmod(lp, req, fd, mode, cb), _none)


def link(loop: Any, path: PathType, new_path: PathType, callback: Callback = None) -> Any:
    """Make the hard link ``new_path`` to ``path``."""
    p, _ = _path(path)
    n, _ = _path(new_path, "new_path")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_link(lp, req, p, n, cb), _none)


def symlink(loop: Any, path: PathType, new_path: PathType, flags: int, callback: Callback = None) -> Any:
    """Make the symbolic link ``new_path`` pointing to ``path`` (``flags``: Windows'
    ``UV_FS_SYMLINK_DIR`` / ``UV_FS_SYMLINK_JUNCTION``, ignored elsewhere)."""
    p, _ = _path(path)
    n, _ = _path(new_path, "new_path")
    flags = _int(flags, "flags")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_symlink(lp, req, p, n, flags, cb), _none)


def readlink(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """The target of a symbolic link (str, or bytes for a bytes path)."""
    p, as_bytes = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_readlink(lp, req, p, cb),
                _string_result(as_bytes))


def chown(loop: Any, path: PathType, uid: int, gid: int, callback: Callback = None) -> Any:
    """Change a file's owner and group (-1 leaves one unchanged)."""
    p, _ = _path(path)
    u, g = _id(uid, "uid"), _id(gid, "gid")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_chown(lp, req, p, u, g, cb), _none)


def fchown(loop: Any, fd: int, uid: int, gid: int, callback: Callback = None) -> Any:
    """:func:`chown` of an open file descriptor."""
    fd = _int(fd, "fd")
    u, g = _id(uid, "uid"), _id(gid, "gid")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_fchown(lp, req, fd, u, g, cb), _none)


def fsync(loop: Any, fd: int, callback: Callback = None) -> Any:
    """Flush a file's data and metadata to the device."""
    fd = _int(fd, "fd")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_fsync(lp, req, fd, cb), _none)


def fdatasync(loop: Any, fd: int, callback: Callback = None) -> Any:
    """Flush a file's data (not all its metadata) to the device."""
    fd = _int(fd, "fd")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_fdatasync(lp, req, fd, cb), _none)


def ftruncate(loop: Any, fd: int, offset: int, callback: Callback = None) -> Any:
    """Truncate (or extend) an open file to ``offset`` bytes."""
    fd, offset = _int(fd, "fd"), _int(offset, "offset")
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_ftruncate(lp, req, fd, offset, cb), _none)


def scandir(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """The entries of a directory (without ``.`` and ``..``), as :class:`DirEnt` tuples."""
    p, as_bytes = _path(path)

    def finish(req: Any) -> List[DirEnt]:
        ent = ffi.new("uv_dirent_t *")
        out = []
        while lib.uv_fs_scandir_next(req, ent) != _UV_EOF:
            out.append(DirEnt(_out(ffi.string(ent.name), as_bytes), int(ent.type)))
        return out

    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_scandir(lp, req, p, 0, cb), finish)


def sendfile(loop: Any, out_fd: int, in_fd: int, in_offset: int, length: int,
             callback: Callback = None) -> Any:
    """Copy ``length`` bytes from ``in_fd`` at ``in_offset`` to ``out_fd``: the number copied."""
    out_fd, in_fd = _int(out_fd, "out_fd"), _int(in_fd, "in_fd")
    in_offset, length = _int(in_offset, "in_offset"), _int(length, "length")
    if length < 0:
        raise ValueError("length must not be negative")
    return _run(loop, callback,
                lambda lp, req, cb: lib.uv_fs_sendfile(lp, req, out_fd, in_fd, in_offset, length, cb), _result)


def _times(atime: Any, mtime: Any) -> Tuple[float, float]:
    for name, v in (("atime", atime), ("mtime", mtime)):
        if not isinstance(v, (int, float)):
            raise TypeError(f"{name} must be a number, not {type(v).__name__}")
    return float(atime), float(mtime)


def utime(loop: Any, path: PathType, atime: float, mtime: float, callback: Callback = None) -> Any:
    """Set a file's access and modification times (seconds since the epoch)."""
    p, _ = _path(path)
    a, m = _times(atime, mtime)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_utime(lp, req, p, a, m, cb), _none)


def futime(loop: Any, fd: int, atime: float, mtime: float, callback: Callback = None) -> Any:
    """:func:`utime` of an open file descriptor."""
    fd = _int(fd, "fd")
    a, m = _times(atime, mtime)
    return _run(loop, callback, lambda lp, req, cb: lib.uv_fs_futime(lp, req, fd, a, m, cb), _none)


def access(loop: Any, path: PathType, flags: int, callback: Callback = None) -> Any:
    """access(2) with ``os.F_OK`` / ``R_OK`` / ``W_OK`` / ``X_OK``: None, or FSError."""
    p, _ = _path(path)
    flags = _int(flags, "flags")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_access(lp, req, p, flags, cb), _none)


def realpath(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """The canonical absolute path (symlinks, ``.`` and ``..`` resolved)."""
    p, as_bytes = _path(path)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_realpath(lp, req, p, cb),
                _string_result(as_bytes))


# -- beyond pyuv -------------------------------------------------------------------

def copyfile(loop: Any, path: PathType, new_path: PathType, flags: int = 0, callback: Callback = None) -> Any:
    """Copy a file (``flags``: ``UV_FS_COPYFILE_EXCL``, ``_FICLONE``, ``_FICLONE_FORCE``)."""
    p, _ = _path(path)
    n, _ = _path(new_path, "new_path")
    flags = _int(flags, "flags")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_copyfile(lp, req, p, n, flags, cb), _none)


def _template(template: Any) -> Tuple[bytes, bool]:
    t, as_bytes = _path(template, "template")
    if not t.endswith(b"XXXXXX"):
        raise ValueError("template must end with 'XXXXXX'")
    return t, as_bytes


def mkdtemp(loop: Any, template: PathType, callback: Callback = None) -> Any:
    """Create a unique directory from ``template`` (ending in ``XXXXXX``): its path."""
    t, as_bytes = _template(template)

    def finish(req: Any) -> Union[str, bytes]:
        return _out(ffi.string(req.path), as_bytes)

    return _run_path(loop, template, callback, lambda lp, req, cb: lib.uv_fs_mkdtemp(lp, req, t, cb), finish)


def mkstemp(loop: Any, template: PathType, callback: Callback = None) -> Any:
    """Create and open a unique file from ``template`` (ending in ``XXXXXX``): ``(fd, path)``."""
    t, as_bytes = _template(template)

    def finish(req: Any) -> Tuple[int, Union[str, bytes]]:
        return int(req.result), _out(ffi.string(req.path), as_bytes)

    return _run_path(loop, template, callback, lambda lp, req, cb: lib.uv_fs_mkstemp(lp, req, t, cb), finish)


def lchown(loop: Any, path: PathType, uid: int, gid: int, callback: Callback = None) -> Any:
    """:func:`chown` of a symbolic link itself."""
    p, _ = _path(path)
    u, g = _id(uid, "uid"), _id(gid, "gid")
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_lchown(lp, req, p, u, g, cb), _none)


def lutime(loop: Any, path: PathType, atime: float, mtime: float, callback: Callback = None) -> Any:
    """:func:`utime` of a symbolic link itself."""
    p, _ = _path(path)
    a, m = _times(atime, mtime)
    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_lutime(lp, req, p, a, m, cb), _none)


def statfs(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """statfs(2) of the file system holding ``path``: a :class:`StatFSResult`."""
    p, _ = _path(path)

    def finish(req: Any) -> StatFSResult:
        s = ffi.cast("uv_statfs_t *", req.ptr)
        return StatFSResult(s.f_type, s.f_bsize, s.f_blocks, s.f_bfree, s.f_bavail, s.f_files, s.f_ffree)

    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_statfs(lp, req, p, cb), finish)


class Dir:
    """An open directory stream from :func:`opendir`; read it with :func:`readdir`
    (or iterate: ``for entry in dir``), close it with :func:`closedir` (or ``with``).
    A Dir that is collected unclosed is closed then. It takes one operation at a time:
    while a :func:`readdir` or :func:`closedir` given a callback is in flight, another
    one raises :class:`~uvffi.error.FSError` ``UV_EBUSY`` (from its callback on, the
    next may be submitted)."""

    def __init__(self, loop: Any, ptr: Any, as_bytes: bool) -> None:
        self._loop = loop
        self._dir = ptr
        self._bytes = as_bytes
        self._lock = threading.Lock()
        # A readdir or closedir with a callback in flight. libuv's uv_dir_t takes one
        # operation at a time: a closedir that ran under a readdir freed the uv_dir_t
        # the readdir's cleanup then read (a crash), and two readdirs wrote into one
        # entries array. So a second operation raises FSError UV_EBUSY meanwhile.
        self._busy = False

    @property
    def closed(self) -> bool:
        """True once :func:`closedir` ran."""
        return self._dir is None

    def _check_idle(self) -> None:
        """FSError ``UV_EBUSY`` while an operation with a callback is in flight (call
        holding ``_lock``)."""
        if self._busy:
            raise FSError(_UV_EBUSY, "the directory has a readdir or closedir in flight")

    def _submit_on(self, loop: Any, callback: Callable[[Any], Any], start: Callable[[Any, Any, Any], int],
                   finish: Callable[[Any], Any], keep: Tuple[Any, ...]) -> Any:
        """Submit an operation with a callback; the Dir is busy until its callback is due
        (libuv's cleanup of the request, which reads the uv_dir_t, has run then)."""
        with self._lock:
            self._check_idle()
            self._live()
            self._busy = True

        def done(req: Any) -> None:
            self._busy = False
            callback(req)

        try:
            return _run(loop, done, start, finish, keep)
        except BaseException:
            self._busy = False
            raise

    def _live(self) -> Any:
        if self._dir is None:
            raise ValueError("the directory is closed")
        return self._dir

    def __iter__(self) -> Any:
        while True:
            batch = readdir(self._loop, self)
            if not batch:
                return
            yield from batch

    def __enter__(self) -> "Dir":
        return self

    def __exit__(self, *exc_info: Any) -> None:
        if self._dir is not None:
            closedir(self._loop, self)

    def __del__(self) -> None:
        d = self.__dict__.get("_dir")
        if d is not None:
            self._dir = None
            req = ffi.new("uv_fs_t *")
            # The synchronous path stores the loop in the request and never reads it.
            lib.uv_fs_closedir(ffi.NULL, req, d, ffi.NULL)
            lib.uv_fs_req_cleanup(req)


def opendir(loop: Any, path: PathType, callback: Callback = None) -> Any:
    """Open a directory for reading in batches: a :class:`Dir`."""
    p, as_bytes = _path(path)

    def finish(req: Any) -> Dir:
        return Dir(loop, ffi.cast("uv_dir_t *", req.ptr), as_bytes)

    return _run_path(loop, path, callback, lambda lp, req, cb: lib.uv_fs_opendir(lp, req, p, cb), finish)


def readdir(loop: Any, dir: Dir, nentries: int = 64, callback: Callback = None) -> Any:
    """The next at most ``nentries`` entries of ``dir`` as :class:`DirEnt` tuples; an
    empty list at the end."""
    if not isinstance(dir, Dir):
        raise TypeError(f"dir must be a uvffi.fs.Dir, not {type(dir).__name__}")
    nentries = _int(nentries, "nentries")
    if not 1 <= nentries <= 65536:
        raise ValueError("nentries must be between 1 and 65536")
    ents = ffi.new("uv_dirent_t[]", nentries)

    def start(lp: Any, req: Any, cb: Any) -> int:
        d = dir._live()
        d.dirents = ents
        d.nentries = nentries
        return lib.uv_fs_readdir(lp, req, d, cb)

    def finish(req: Any) -> List[DirEnt]:
        return [DirEnt(_out(ffi.string(ents[i].name), dir._bytes), int(ents[i].type))
                for i in range(req.result)]

    if callback is not None:
        _loop_raw(loop)
        if not callable(callback):
            raise TypeError("callback must be a callable or None")
        return dir._submit_on(loop, callback, start, finish, (dir, ents))
    with dir._lock:
        dir._check_idle()
        return _run(loop, None, start, finish)


def closedir(loop: Any, dir: Dir, callback: Callback = None) -> Any:
    """Close a :class:`Dir` from :func:`opendir`."""
    if not isinstance(dir, Dir):
        raise TypeError(f"dir must be a uvffi.fs.Dir, not {type(dir).__name__}")

    def start(lp: Any, req: Any, cb: Any) -> int:
        d = dir._live()
        dir._dir = None
        return lib.uv_fs_closedir(lp, req, d, cb)

    if callback is not None:
        _loop_raw(loop)
        if not callable(callback):
            raise TypeError("callback must be a callable or None")
        return dir._submit_on(loop, callback, start, _none, (dir,))
    with dir._lock:
        dir._check_idle()
        return _run(loop, None, start, _none)

