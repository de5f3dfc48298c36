"""uvffi.util: pyuv's functions with pyuv's result shapes, and libuv's newer ones."""

from __future__ import annotations

import os
import socket
import sys

import pytest

import uvffi as pyuv
from uvffi import util
from uvffi._core import lib
from uvffi.error import FeatureUnavailableError, UVError


def test_hrtime_is_monotonic_nanoseconds():
    a = util.hrtime()
    b = util.hrtime()
    assert isinstance(a, int) and 0 < a <= b


def test_memory_figures_are_positive_and_ordered():
    assert 0 < util.get_free_memory() <= util.get_total_memory()


def test_constrained_memory_is_an_int():
    assert isinstance(util.get_constrained_memory(), int)


def test_available_memory_or_feature_error():
    try:
        assert util.get_available_memory() > 0
    except FeatureUnavailableError:
        assert lib.uv_version() < 0x012D00 or lib.UV_VERSION_HEX < 0x012D00


def test_loadavg_is_three_floats():
    avg = util.loadavg()
    assert len(avg) == 3 and all(isinstance(x, float) and x >= 0 for x in avg)


def test_uptime_is_positive_float():
    assert isinstance(util.uptime(), float) and util.uptime() > 0


def test_resident_set_memory_is_positive():
    assert util.resident_set_memory() > 1 << 20


def test_interface_addresses_include_loopback():
    addrs = util.interface_addresses()
    assert addrs
    lo = [a for a in addrs if a.address == "127.0.0.1"]
    assert lo and lo[0].is_internal is True and lo[0].netmask == "255.0.0.0"
    assert all(len(a.mac.split(":")) == 6 for a in addrs)
    assert addrs[0]._fields == ("name", "is_internal", "address", "netmask", "mac")


def test_cpu_info_has_pyuv_fields():
    cpus = util.cpu_info()
    assert len(cpus) >= 1
    c = cpus[0]
    assert c._fields == ("model", "speed", "times")
    assert c.times._fields == ("sys", "user", "idle", "irq", "nice")
    assert isinstance(c.model, str) and c.times.user >= 0


def test_getrusage_fields_and_times():
    ru = util.getrusage()
    assert len(ru) == 16 and ru._fields[0] == "ru_utime" and ru._fields[-1] == "ru_nivcsw"
    assert isinstance(ru.ru_utime, float) and ru.ru_utime > 0
    assert ru.ru_maxrss > 0


def test_guess_handle_type_of_file_socket_and_bad_fd(tmp_path):
    with open(tmp_path / "f", "w") as f:
        assert util.guess_handle_type(f.fileno()) == util.UV_FILE
    a, b = socket.socketpair()
    try:
        assert util.guess_handle_type(a.fileno()) == util.UV_NAMED_PIPE
    finally:
        a.close()
        b.close()
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        assert util.guess_handle_type(u.fileno()) == util.UV_UDP
    finally:
        u.close()
    assert util.guess_handle_type(-1) == util.UV_UNKNOWN_HANDLE


def test_guess_handle_type_bad_input_raises():
    with pytest.raises(TypeError):
        util.guess_handle_type("0")  # type: ignore[arg-type]
    with pytest.raises(OverflowError):
        util.guess_handle_type(2 ** 40)


def test_available_parallelism_at_least_one():
    assert util.available_parallelism() >= 1


def test_random_gives_requested_length_and_differs():
    a, b = util.random(32), util.random(32)
    assert len(a) == 32 and a != b
    assert util.random(0) == b""


def test_random_bad_sizes_raise():
    with pytest.raises(ValueError):
        util.random(-1)
    with pytest.raises(OverflowError):
        util.random(2 ** 40)
    with pytest.raises(TypeError):
        util.random(1.5)  # type: ignore[arg-type]


def test_os_getpid_and_getppid_match_os():
    assert util.os_getpid() == os.getpid()
    assert util.os_getppid() == os.getppid()


def test_os_homedir_follows_home(monkeypatch, tmp_path):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert util.os_homedir() == str(tmp_path)


def test_os_homedir_long_path_grows_buffer(monkeypatch):
    long = "/" + "h" * 3000
    monkeypatch.setenv("HOME", long)
    assert util.os_homedir() == long


def test_os_tmpdir_follows_tmpdir(monkeypatch, tmp_path):
    monkeypatch.setenv("TMPDIR", str(tmp_path))
    assert util.os_tmpdir() == str(tmp_path)


def test_os_gethostname_matches_socket():
    assert util.os_gethostname() == socket.gethostname()


def test_os_uname_matches_os():
    u = util.os_uname()
    assert (u.sysname, u.release, u.machine) == (os.uname().sysname, os.uname().release, os.uname().machine)


def test_os_getpriority_matches_os():
    assert util.os_getpriority(0) == os.getpriority(os.PRIO_PROCESS, 0)


def test_os_setpriority_lowers_own_priority():
    import subprocess

    code = ("from uvffi import util; util.os_setpriority(0, util.os_getpriority() + 1); "
            "import os; print(os.getpriority(os.PRIO_PROCESS, 0))")
    before = os.getpriority(os.PRIO_PROCESS, 0)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path)))
    assert int(out.stdout) == min(before + 1, 19)


def test_os_getpriority_of_missing_process_raises():
    with pytest.raises(UVError):
        util.os_getpriority(2 ** 22 + 12345)


def test_environ_sees_process_environment(monkeypatch):
    monkeypatch.setenv("UVFFI_TEST_ENVIRON", "väl")
    env = util.environ()
    assert env["UVFFI_TEST_ENVIRON"] == "väl"


def test_pyuv_spelling_works():
    assert pyuv.util.hrtime() > 0


def test_signal_checker_drains_the_wakeup_fd_and_runs_the_handler(loop):
    import signal
    import socket

    from uvffi.util import SignalChecker

    rsock, wsock = socket.socketpair()
    rsock.setblocking(False)
    wsock.setblocking(False)
    got = []
    old_handler = signal.signal(signal.SIGUSR1, lambda signum, frame: got.append(signum))
    old_fd = signal.set_wakeup_fd(wsock.fileno())
    try:
        checker = SignalChecker(loop, rsock.fileno())
        checker.start()
        os.kill(os.getpid(), signal.SIGUSR1)
        for _ in range(20):
            loop.run(pyuv.RUN_NOWAIT)  # NOWAIT: uvffi's own wakeup fd is not installed
        assert got == [signal.SIGUSR1]
        with pytest.raises(BlockingIOError):
            rsock.recv(1)  # drained by the checker
        checker.stop()
        assert not checker.active
        checker.close()
    finally:
        signal.set_wakeup_fd(old_fd)
        signal.signal(signal.SIGUSR1, old_handler)
        rsock.close()
        wsock.close()
