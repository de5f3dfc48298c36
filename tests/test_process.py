"""uvffi.Process and StdIO: uv_process_t."""

from __future__ import annotations

import gc
import os
import signal
import sys

import pytest

import uvffi
from uvffi import Process, StdIO
from uvffi.errno import UV_ENOENT
from uvffi.error import HandleClosedError, ProcessError

PY = sys.executable


def _run_child(loop, code, **kw):
    """Spawn `python -c code`, run the loop: (process, exit_status, term_signal)."""
    got = []

    def on_exit(proc, status, sig):
        got.append((proc, status, sig))
        proc.close()

    proc = Process.spawn(loop, [PY, "-c", code], exit_callback=on_exit, **kw)
    loop.run()
    assert len(got) == 1
    assert got[0][0] is proc
    return got[0]


def _read_pipe_output(r):
    chunks = []
    while True:
        b = os.read(r, 65536)
        if not b:
            return b"".join(chunks)
        chunks.append(b)


def test_exit_status_is_reported(loop):
    _, status, sig = _run_child(loop, "import sys; sys.exit(3)")
    assert (status, sig) == (3, 0)


def test_kill_with_sigterm_reports_signal_15(loop):
    got = []
    proc = Process.spawn(loop, [PY, "-c", "import time; time.sleep(30)"],
                         exit_callback=lambda p, s, t: (got.append((s, t)), p.close()))
    proc.kill(signal.SIGTERM)
    loop.run()
    assert got == [(0, signal.SIGTERM)]


def test_pid_is_the_childs(loop):
    r, w = os.pipe()
    try:
        proc = Process.spawn(loop, [PY, "-c", "import os; print(os.getpid())"],
                             stdio=[StdIO(), StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                             exit_callback=lambda p, s, t: p.close())
        pid = proc.pid
        os.close(w)
        w = -1
        loop.run()
        assert int(_read_pipe_output(r)) == pid
    finally:
        os.close(r)
        if w != -1:
            os.close(w)


def test_missing_executable_raises_processerror_enoent(loop, tmp_path):
    with pytest.raises(ProcessError) as info:
        Process.spawn(loop, [str(tmp_path / "no-such-program")])
    assert info.value.args[0] == UV_ENOENT
    loop.run()  # the failed handle is closed cleanly
    assert loop.handles == []


def test_without_exit_callback_runs_and_is_reaped(loop):
    proc = Process.spawn(loop, [PY, "-c", "pass"])
    pid = proc.pid
    loop.run()
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)  # libuv reaped it: no zombie
    proc.close()
    loop.run()


def test_no_zombie_after_exit(loop):
    pids = []
    proc = Process.spawn(loop, [PY, "-c", "pass"], exit_callback=lambda p, s, t: p.close())
    pids.append(proc.pid)
    loop.run()
    with pytest.raises(ChildProcessError):
        os.waitpid(pids[0], os.WNOHANG)


def test_dropped_process_still_gets_its_exit_callback(loop):
    got = []
    Process.spawn(loop, [PY, "-c", "import time; time.sleep(0.2)"],
                  exit_callback=lambda p, s, t: (got.append(s), p.close()))
    gc.collect()
    loop.run()
    assert got == [0]


def test_dropped_process_leaves_no_zombie(loop):
    # dropped while the child runs, the callback not closing it: the exit is still
    # reported, libuv reaps the child, and the handle is closed once it is garbage
    got = []
    pid = Process.spawn(loop, [PY, "-c", "import time; time.sleep(0.2)"],
                        exit_callback=lambda p, s, t: got.append((p.pid, s))).pid
    gc.collect()
    loop.run()
    assert got == [(pid, 0)]
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)
    gc.collect()
    loop.run()
    assert loop.handles == []


def test_dropped_process_without_exit_callback_leaves_no_zombie(loop):
    pid = Process.spawn(loop, [PY, "-c", "import time; time.sleep(0.2)"]).pid
    gc.collect()
    loop.run()  # returns once the child has exited and been reaped
    with pytest.raises(ChildProcessError):
        os.waitpid(pid, os.WNOHANG)


def test_env_is_honoured(loop):
    r, w = os.pipe()
    try:
        Process.spawn(loop, [PY, "-c", "import os; print(os.environ.get('UVFFI_TEST_VAR'))"],
                      env={"UVFFI_TEST_VAR": "hello", "PATH": os.environ.get("PATH", "")},
                      stdio=[StdIO(), StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                      exit_callback=lambda p, s, t: p.close())
        os.close(w)
        w = -1
        loop.run()
        assert _read_pipe_output(r).strip() == b"hello"
    finally:
        os.close(r)
        if w != -1:
            os.close(w)


def test_cwd_is_honoured(loop, tmp_path):
    r, w = os.pipe()
    try:
        Process.spawn(loop, [PY, "-c", "import os; print(os.getcwd())"], cwd=str(tmp_path),
                      stdio=[StdIO(), StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                      exit_callback=lambda p, s, t: p.close())
        os.close(w)
        w = -1
        loop.run()
        assert os.path.samefile(_read_pipe_output(r).strip().decode(), str(tmp_path))
    finally:
        os.close(r)
        if w != -1:
            os.close(w)


def test_inherit_fd_connects_child_stdin(loop):
    r, w = os.pipe()
    out_r, out_w = os.pipe()
    try:
        os.write(w, b"from the parent")
        os.close(w)
        w = -1
        Process.spawn(loop, [PY, "-c", "import sys; sys.stdout.write(sys.stdin.read())"],
                      stdio=[StdIO(fd=r, flags=uvffi.UV_INHERIT_FD), StdIO(fd=out_w, flags=uvffi.UV_INHERIT_FD)],
                      exit_callback=lambda p, s, t: p.close())
        os.close(out_w)
        out_w = -1
        loop.run()
        assert _read_pipe_output(out_r) == b"from the parent"
    finally:
        for fd in (r, w, out_r, out_w):
            if fd != -1:
                os.close(fd)


def test_large_output_through_inherited_fd_arrives_complete(loop):
    r, w = os.pipe()
    try:
        Process.spawn(loop, [PY, "-c", "import sys; sys.stdout.write('x' * 1000000)"],
                      stdio=[StdIO(), StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                      exit_callback=lambda p, s, t: p.close())
        os.close(w)
        w = -1
        data = _read_pipe_output(r)  # read while the child writes (the pipe is 64 KiB)
        loop.run()
        assert data == b"x" * 1000000
    finally:
        os.close(r)
        if w != -1:
            os.close(w)


def test_args_as_one_string(loop):
    got = []
    Process.spawn(loop, "true", exit_callback=lambda p, s, t: (got.append(s), p.close()))
    loop.run()
    assert got == [0]


def test_executable_overrides_args0(loop):
    _, status, _ = _run_child(loop, "import sys; sys.exit(0 if sys.argv[0] == '-c' else 1)",
                              executable=PY)
    assert status == 0


def test_exit_callback_exception_goes_to_excepthook(loop):
    errors = []
    loop.excepthook = lambda t, v, tb: errors.append(v)

    def boom(p, s, t):
        p.close()
        raise ValueError("x")

    Process.spawn(loop, [PY, "-c", "pass"], exit_callback=boom)
    loop.run()
    assert len(errors) == 1 and isinstance(errors[0], ValueError)


def test_kill_after_close_raises(loop):
    proc, _, _ = _run_child(loop, "pass")
    with pytest.raises(HandleClosedError):
        proc.kill(signal.SIGTERM)


def test_unspawned_process_close_raises_runtime_error(loop):
    proc = Process(loop)  # pyuv's: no child yet
    with pytest.raises(RuntimeError):
        proc.close()


def test_bad_arguments_raise(loop):
    with pytest.raises(ValueError):
        Process.spawn(loop, [])
    with pytest.raises(TypeError):
        Process.spawn(loop, [PY], exit_callback=42)
    with pytest.raises(TypeError):
        Process.spawn(loop, [PY], env=["A=B"])
    with pytest.raises(TypeError):
        Process.spawn(loop, [PY], stdio=[1])
    with pytest.raises(ValueError):
        Process.spawn(loop, ["a\0b"])
    assert loop.handles == []


def test_stdio_validates_its_flags():
    with pytest.raises(ValueError):
        StdIO(fd=1, flags=uvffi.UV_CREATE_PIPE)
    with pytest.raises(ValueError):
        StdIO(flags=uvffi.UV_INHERIT_FD)
    with pytest.raises(TypeError):
        StdIO(stream=object(), flags=uvffi.UV_INHERIT_STREAM)
    s = StdIO(fd=2, flags=uvffi.UV_INHERIT_FD)
    assert (s.stream, s.fd, s.flags) == (None, 2, uvffi.UV_INHERIT_FD)


def test_stdio_refuses_a_non_stream_handle(loop):
    t = uvffi.Timer(loop)
    with pytest.raises(TypeError):
        StdIO(stream=t, flags=uvffi.UV_INHERIT_STREAM)


def test_disable_stdio_inheritance_is_callable_on_the_class():
    code = "import uvffi; uvffi.Process.disable_stdio_inheritance(); print('ok')"
    import subprocess

    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = subprocess.run([PY, "-c", code], capture_output=True, env=env)
    assert out.stdout.strip() == b"ok"


def test_pyuv_constants_exported():
    for name in ("UV_IGNORE", "UV_CREATE_PIPE", "UV_INHERIT_FD", "UV_INHERIT_STREAM", "UV_READABLE_PIPE",
                 "UV_WRITABLE_PIPE", "UV_PROCESS_SETUID", "UV_PROCESS_SETGID", "UV_PROCESS_DETACHED",
                 "UV_PROCESS_WINDOWS_HIDE", "UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS"):
        assert isinstance(getattr(uvffi, name), int)


def test_kill_after_the_child_was_reaped_raises_esrch_and_signals_no_process_that_took_its_pid(loop):
    # libuv keeps a reaped child's pid, so kill(2) with it would reach whatever process
    # the kernel has given that pid since. The reuse is simulated: the handle's pid field
    # (found by its value) is made the pid of a live child.
    from uvffi._core import ffi, lib
    from uvffi.errno import UV_ESRCH

    exited = []
    proc = Process.spawn(loop, ["true"], exit_callback=lambda p, s, t: exited.append(s))
    loop.run()  # reaped; the handle stays open
    assert exited == [0]
    ended = []
    other = Process.spawn(loop, ["sleep", "30"], exit_callback=lambda p, s, t: (ended.append(t), p.close()))
    words = ffi.cast("int *", lib.uvffi_handle_raw(proc._ptr))
    at = next(i for i in range(64) if words[i] == proc.pid)  # read up to the field only
    words[at] = other.pid
    assert proc.pid == other.pid  # it was the pid field (uv_process_get_pid reads it)
    with pytest.raises(ProcessError) as e:
        proc.kill(signal.SIGTERM)
    assert e.value.args[0] == UV_ESRCH
    other.kill(signal.SIGKILL)
    loop.run()
    assert ended == [signal.SIGKILL]  # not the SIGTERM meant for the reaped child
    proc.close()


def test_the_env_array_outlives_the_spawn_under_malloc_poisoning(tmp_path):
    # The char *[] of env was freed as soon as it was made (only the struct field, which
    # owns nothing, was kept): the child got a freed array (EFAULT, or garbage variables).
    import subprocess
    import textwrap

    code = textwrap.dedent("""
        import os, sys, uvffi
        loop = uvffi.Loop()
        r, w = os.pipe()
        for i in range(20):
            uvffi.Process.spawn(loop, [sys.executable, "-c", "import os; print(os.environ['V'])"],
                                env={"V": "v%d" % i, "PATH": os.environ.get("PATH", "")},
                                stdio=[uvffi.StdIO(), uvffi.StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                                exit_callback=lambda p, s, t: p.close())
            loop.run()
        os.close(w)
        print(sorted(os.read(r, 1 << 16).decode().split("\\n")[:-1]) == sorted("v%d" % i for i in range(20)))
    """)
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120,
                       env=dict(os.environ, MALLOC_PERTURB_="165", GLIBC_TUNABLES="glibc.malloc.tcache_count=0"))
    assert r.returncode == 0, r.stderr
    assert r.stdout == "True\n"
