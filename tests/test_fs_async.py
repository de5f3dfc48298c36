"""uvffi.fs with a callback: FSRequest, results identical to the synchronous path,
errors in the request, pinned buffers, thread rules, cancellation on close."""

from __future__ import annotations

import gc
import os
import platform
import threading

import pytest

import uvffi
from uvffi import fs
from uvffi.errno import UV_EBADF, UV_ECANCELED, UV_ENOENT

PYPY = platform.python_implementation() == "PyPy"


@pytest.fixture
def f(tmp_path):
    p = tmp_path / "file"
    p.write_bytes(b"test1234567890")
    return p


def _async(loop, fn, *args):
    """Run fn(loop, *args, callback) to completion: the request seen by the callback."""
    seen = []
    req = fn(loop, *args, callback=seen.append)
    assert isinstance(req, fs.FSRequest)
    loop.run()
    assert seen == [req]
    return req


def _both(loop, fn, *args):
    """(the synchronous result, the asynchronous request) of the same call."""
    return fn(loop, *args), _async(loop, fn, *args)


# -- sync and async agree, function by function -------------------------------------

@pytest.mark.parametrize("name", ["stat", "lstat", "realpath", "scandir", "statfs"])
def test_path_query_agrees_with_sync(loop, tmp_path, name):
    (tmp_path / "a").write_bytes(b"x")
    fn = getattr(fs, name)
    sync, req = _both(loop, fn, str(tmp_path))
    assert req.error is None
    if name == "statfs":  # free counts move between the calls
        assert (req.result.f_type, req.result.f_bsize) == (sync.f_type, sync.f_bsize)
    else:
        assert req.result == sync


def test_fstat_agrees_with_sync(loop, f):
    fd = os.open(str(f), os.O_RDONLY)
    try:
        sync, req = _both(loop, fs.fstat, fd)
        assert req.result == sync and req.path is None
    finally:
        os.close(fd)


def test_readlink_agrees_with_sync(loop, f, tmp_path):
    link = tmp_path / "link"
    os.symlink(str(f), str(link))
    sync, req = _both(loop, fs.readlink, str(link))
    assert req.result == sync == str(f)


def test_access_agrees_with_sync(loop, f):
    sync, req = _both(loop, fs.access, str(f), os.R_OK)
    assert sync is None and req.result is None and req.error is None


def test_open_gives_a_usable_fd(loop, f):
    req = _async(loop, fs.open, str(f), os.O_RDONLY, 0)
    assert isinstance(req.result, int) and req.result >= 0
    try:
        assert os.read(req.result, 4) == b"test"
    finally:
        os.close(req.result)


def test_read_agrees_with_sync(loop, f):
    fd = os.open(str(f), os.O_RDONLY)
    try:
        sync, req = _both(loop, fs.read, fd, 6, 4)
        assert req.result == sync == b"123456"
    finally:
        os.close(fd)


def test_reads_in_flight_together_each_get_their_own_bytes(loop, tmp_path):
    # Read buffers are reused once their bytes are copied out: reads of the same size that
    # overlap, and synchronous reads made while they are queued, never share one.
    p = tmp_path / "blocks"
    blocks = [bytes([i]) * 100_000 for i in range(8)]
    p.write_bytes(b"".join(blocks))
    fd = os.open(p, os.O_RDONLY)
    try:
        got = {}
        for i in range(8):
            fs.read(loop, fd, 100_000, i * 100_000, callback=lambda req, i=i: got.__setitem__(i, req.result))
        sync = [fs.read(loop, fd, 100_000, i * 100_000) for i in reversed(range(8))]
        loop.run()
        again = [fs.read(loop, fd, 100_000, i * 100_000) for i in range(8)]
    finally:
        os.close(fd)
    assert [got[i] for i in range(8)] == blocks
    assert sync == blocks[::-1]
    assert again == blocks


def test_a_read_result_is_not_changed_by_later_reads(loop, tmp_path):
    p = tmp_path / "two"
    p.write_bytes(b"a" * 4096 + b"b" * 4096)
    fd = os.open(p, os.O_RDONLY)
    try:
        first = fs.read(loop, fd, 4096, 0)
        fs.read(loop, fd, 4096, 4096)
        _async(loop, fs.read, fd, 4096, 4096)
    finally:
        os.close(fd)
    assert first == b"a" * 4096


def test_write_agrees_with_sync(loop, tmp_path):
    p = tmp_path / "w"
    fd = os.open(str(p), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        assert fs.write(loop, fd, b"abcd", 0) == 4
        req = _async(loop, fs.write, fd, b"efgh", 4)
        assert req.result == 4 and req.error is None
    finally:
        os.close(fd)
    assert p.read_bytes() == b"abcdefgh"


def test_sendfile_agrees_with_sync(loop, f, tmp_path):
    src = os.open(str(f), os.O_RDONLY)
    dst = os.open(str(tmp_path / "out"), os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        assert fs.sendfile(loop, dst, src, 0, 4) == 4
        assert _async(loop, fs.sendfile, dst, src, 4, 4).result == 4
    finally:
        os.close(src)
        os.close(dst)
    assert (tmp_path / "out").read_bytes() == b"test1234"


@pytest.mark.parametrize("name", ["fsync", "fdatasync"])
def test_fd_flush_returns_none(loop, f, name):
    fd = os.open(str(f), os.O_RDWR)
    try:
        sync, req = _both(loop, getattr(fs, name), fd)
        assert sync is None and req.result is None and req.error is None
    finally:
        os.close(fd)


def test_ftruncate_truncates(loop, f):
    fd = os.open(str(f), os.O_RDWR)
    try:
        assert _async(loop, fs.ftruncate, fd, 3).error is None
    finally:
        os.close(fd)
    assert f.read_bytes() == b"tes"


def test_close_closes_the_fd(loop):
    r, w = os.pipe()
    try:
        assert _async(loop, fs.close, w).error is None
        assert os.read(r, 1) == b""  # the only write end is closed: EOF
    finally:
        os.close(r)


def test_mkdir_rmdir_unlink_rename(loop, tmp_path, f):
    d = tmp_path / "d"
    assert _async(loop, fs.mkdir, str(d), 0o755).error is None and d.is_dir()
    assert _async(loop, fs.rmdir, str(d)).error is None and not d.exists()
    new = tmp_path / "renamed"
    assert _async(loop, fs.rename, str(f), str(new)).error is None and new.exists()
    assert _async(loop, fs.unlink, str(new)).error is None and not new.exists()


def test_chmod_and_fchmod_set_the_mode(loop, f):
    assert _async(loop, fs.chmod, str(f), 0o600).error is None
    assert os.stat(str(f)).st_mode & 0o777 == 0o600
    fd = os.open(str(f), os.O_RDONLY)
    try:
        assert _async(loop, fs.fchmod, fd, 0o640).error is None
    finally:
        os.close(fd)
    assert os.stat(str(f)).st_mode & 0o777 == 0o640


def test_link_and_symlink_make_links(loop, f, tmp_path):
    assert _async(loop, fs.link, str(f), str(tmp_path / "hard")).error is None
    assert os.stat(str(tmp_path / "hard")).st_ino == os.stat(str(f)).st_ino
    assert _async(loop, fs.symlink, str(f), str(tmp_path / "sym"), 0).error is None
    assert os.readlink(str(tmp_path / "sym")) == str(f)


def test_chown_and_fchown_to_self(loop, f):
    uid, gid = os.getuid(), os.getgid()
    assert _async(loop, fs.chown, str(f), uid, gid).error is None
    fd = os.open(str(f), os.O_RDONLY)
    try:
        assert _async(loop, fs.fchown, fd, uid, gid).error is None
    finally:
        os.close(fd)


def test_utime_and_futime_set_times(loop, f):
    assert _async(loop, fs.utime, str(f), 100.0, 200.0).error is None
    assert os.stat(str(f)).st_mtime == 200.0
    fd = os.open(str(f), os.O_RDONLY)
    try:
        assert _async(loop, fs.futime, fd, 300.0, 400.0).error is None
    finally:
        os.close(fd)
    assert os.stat(str(f)).st_mtime == 400.0


def test_extras_run_async(loop, f, tmp_path):
    assert _async(loop, fs.copyfile, str(f), str(tmp_path / "c")).error is None
    assert (tmp_path / "c").read_bytes() == f.read_bytes()
    made = _async(loop, fs.mkdtemp, str(tmp_path / "dXXXXXX")).result
    assert os.path.isdir(made)
    fd, name = _async(loop, fs.mkstemp, str(tmp_path / "fXXXXXX")).result
    os.close(fd)
    assert os.path.isfile(name)


def test_opendir_readdir_closedir_async(loop, tmp_path):
    (tmp_path / "x").write_bytes(b"")
    d = _async(loop, fs.opendir, str(tmp_path)).result
    assert isinstance(d, fs.Dir)
    names = [e.name for e in _async(loop, fs.readdir, d, 64).result]
    assert names == ["x"]
    assert _async(loop, fs.closedir, d).error is None and d.closed


def test_async_readdir_of_a_dropped_dir_is_cleaned_up_before_the_dir_is_freed(loop, tmp_path):
    # The request holds the Dir and its dirents array; libuv's cleanup reads both (it frees
    # the names). Dropped by the program, they are freed only after that cleanup
    # (scripts/asan found the cleanup reading them after the done callback released them).
    for name in ("a", "b", "c"):
        (tmp_path / name).write_bytes(b"")
    got = []
    d = fs.opendir(loop, str(tmp_path))
    fs.readdir(loop, d, 64, lambda req: got.append(sorted(e.name for e in req.result)))
    del d
    gc.collect()
    loop.run()
    gc.collect()
    assert got == [["a", "b", "c"]]


def test_bytes_and_non_ascii_paths_round_trip(loop, tmp_path):
    name = "ñé\udcff"
    (tmp_path / name).write_bytes(b"")
    req = _async(loop, fs.scandir, str(tmp_path))
    assert [e.name for e in req.result] == [name]
    breq = _async(loop, fs.scandir, os.fsencode(str(tmp_path)))
    assert [e.name for e in breq.result] == [os.fsencode(name)]


def test_async_calls_take_and_give_back_non_ascii_and_surrogate_paths(loop, tmp_path):
    # the names go in through the asynchronous calls too, not only out of scandir
    d = str(tmp_path / "dír-日本")
    assert _async(loop, fs.mkdir, d, 0o755).error is None
    escaped = os.fsdecode(b"raw-\xff\xfe")  # lone surrogates
    path = os.path.join(d, escaped)
    req = _async(loop, fs.open, path, os.O_WRONLY | os.O_CREAT, 0o644)
    os.close(req.result)
    assert req.path == path
    assert os.listdir(os.fsencode(d)) == [b"raw-\xff\xfe"]
    assert _async(loop, fs.stat, path).result.st_size == 0
    link = os.path.join(d, "lïnk")
    assert _async(loop, fs.symlink, path, link, 0).error is None
    assert _async(loop, fs.readlink, link).result == path
    assert _async(loop, fs.realpath, link).result == os.path.realpath(path)
    made = _async(loop, fs.mkdtemp, os.path.join(d, escaped + "-XXXXXX")).result
    assert made.startswith(path + "-") and os.path.isdir(os.fsencode(made))


# -- the request ----------------------------------------------------------------

def test_request_has_pyuvs_attributes(loop, f):
    req = _async(loop, fs.stat, str(f))
    assert req.loop is loop and req.path == str(f) and req.error is None
    assert not req.pending


def test_error_arrives_in_the_request_not_raised(loop, tmp_path):
    req = _async(loop, fs.stat, str(tmp_path / "missing"))
    assert req.error == UV_ENOENT and req.result is None


def test_callback_exception_goes_to_excepthook_and_loop_goes_on(loop, f):
    errors = []
    loop.excepthook = lambda typ, val, tb: errors.append(val)

    def boom(req):
        raise ValueError("x")

    fs.stat(loop, str(f), boom)
    loop.run()
    assert len(errors) == 1 and isinstance(errors[0], ValueError)


def test_callback_runs_on_the_loop_thread(loop, f):
    threads = []
    fs.stat(loop, str(f), lambda req: threads.append(threading.get_ident()))
    loop.run()
    assert threads == [threading.get_ident()]


def test_request_dropped_still_calls_back(loop, f):
    seen = []
    fs.stat(loop, str(f), lambda req: seen.append(req.result.st_size))
    gc.collect()
    loop.run()
    assert seen == [14]


def test_write_buffer_is_pinned_until_done(loop, tmp_path):
    p = tmp_path / "w"
    fd = os.open(str(p), os.O_RDWR | os.O_CREAT, 0o644)
    data = bytearray(b"z" * 65536)
    try:
        req = fs.write(loop, fd, data, 0, lambda r: None)
        assert req._pinned
        if PYPY:  # PyPy cannot pin a bytearray: libuv writes a copy, the original is free
            data.extend(b"more")
            data[:10] = b"x" * 10
        else:
            assert any(obj is data for obj in req._pinned)
            with pytest.raises(BufferError):
                data.extend(b"more")  # exported to libuv: cannot be resized meanwhile
        del data
        gc.collect()
        loop.run()
        assert req._pinned is None
    finally:
        os.close(fd)
    assert p.read_bytes() == b"z" * 65536


def test_submit_from_another_thread_raises_while_loop_runs(loop, f):
    errors = []
    started = threading.Event()

    def other():
        started.wait()
        try:
            fs.stat(loop, str(f), lambda req: None)
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            done.send()

    done = uvffi.Async(loop, lambda h: h.close())
    t = threading.Thread(target=other)
    t.start()
    uvffi.Timer(loop).start(lambda h: started.set(), 0, 0)  # set while the loop runs
    loop.run()
    t.join()
    assert len(errors) == 1


def test_bad_fd_error_arrives_in_the_request(loop):
    req = _async(loop, fs.read, -1, 4, 0)
    assert req.error == UV_EBADF and req.result is None


def test_bad_argument_raises_before_submitting(loop):
    with pytest.raises(ValueError):
        fs.read(loop, 0, -1, 0, lambda r: None)
    assert not loop.alive


def test_close_cancels_queued_requests(tmp_path):
    loop = uvffi.Loop()
    block = threading.Event()
    # Fill the pool so the fs requests stay queued.
    for _ in range(int(os.environ.get("UV_THREADPOOL_SIZE", "4"))):
        loop.queue_work(lambda: block.wait(5))
    got = []
    for _ in range(3):
        fs.stat(loop, str(tmp_path), lambda req: got.append(req.error))
    threading.Timer(0.3, block.set).start()
    loop.close()
    assert got == [UV_ECANCELED] * 3


def test_cancel_a_queued_request(loop, tmp_path):
    block = threading.Event()
    for _ in range(int(os.environ.get("UV_THREADPOOL_SIZE", "4"))):
        loop.queue_work(lambda: block.wait(5))
    got = []
    req = fs.stat(loop, str(tmp_path), lambda r: got.append(r.error))
    loop.run(uvffi.RUN_NOWAIT)  # queued work goes to the pool in the prepare phase
    assert req.cancel() is True
    block.set()
    loop.run()
    assert got == [UV_ECANCELED]


def test_an_argument_cffi_refuses_raises_and_leaves_no_request_behind(loop, tmp_path):
    from uvffi.requests.fs import FSRequest

    def alive() -> int:
        gc.collect()
        return sum(isinstance(o, FSRequest) for o in gc.get_objects())

    fd = os.open(str(tmp_path / "f"), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        before = alive()
        with pytest.raises(OverflowError):
            fs.read(loop, fd, 1, 2**70, lambda r: None)  # the offset: refused by cffi inside the submission
        assert alive() == before  # not kept by C (the C request was freed with it)
        loop.run()
    finally:
        os.close(fd)
