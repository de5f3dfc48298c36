"""System utilities, named as pyuv names them (``pyuv.util``), plus libuv's newer ones.

pyuv's: :func:`hrtime`, :func:`get_free_memory`, :func:`get_total_memory`,
:func:`loadavg`, :func:`uptime`, :func:`resident_set_memory`,
:func:`interface_addresses`, :func:`cpu_info`, :func:`getrusage`,
:func:`guess_handle_type`. Beyond pyuv: :func:`available_parallelism`,
:func:`get_constrained_memory`, :func:`get_available_memory`, :func:`random`,
:func:`os_getpid`, :func:`os_getppid`, :func:`os_homedir`, :func:`os_tmpdir`,
:func:`os_gethostname`, :func:`os_uname`, :func:`os_getpriority`,
:func:`os_setpriority`, :func:`environ`.

:class:`SignalChecker` is pyuv's helper that runs Python's signal handlers when a
signal arrives while the loop waits.
"""

from __future__ import annotations

import os
from typing import Any, Callable, Dict, List, NamedTuple, Tuple

from ._core import ffi, lib
from .error import UVError, raise_for, require_libuv
from .handles.poll import UV_READABLE, Poll

__all__ = [
    "hrtime", "get_free_memory", "get_total_memory", "loadavg", "uptime", "resident_set_memory", "resident_set_size",
    "interface_addresses", "cpu_info", "getrusage", "guess_handle_type",
    "available_parallelism", "get_constrained_memory", "get_available_memory", "random",
    "os_getpid", "os_getppid", "os_homedir", "os_tmpdir", "os_gethostname", "os_uname",
    "os_getpriority", "os_setpriority", "environ", "SignalChecker",
    "InterfaceAddress", "CPUInfo", "CPUTimes", "RUsage", "UnameResult",
    "UV_PRIORITY_LOW", "UV_PRIORITY_BELOW_NORMAL", "UV_PRIORITY_NORMAL", "UV_PRIORITY_ABOVE_NORMAL",
    "UV_PRIORITY_HIGH", "UV_PRIORITY_HIGHEST",
]

UV_PRIORITY_LOW: int = lib.UV_PRIORITY_LOW
UV_PRIORITY_BELOW_NORMAL: int = lib.UV_PRIORITY_BELOW_NORMAL
UV_PRIORITY_NORMAL: int = lib.UV_PRIORITY_NORMAL
UV_PRIORITY_ABOVE_NORMAL: int = lib.UV_PRIORITY_ABOVE_NORMAL
UV_PRIORITY_HIGH: int = lib.UV_PRIORITY_HIGH
UV_PRIORITY_HIGHEST: int = lib.UV_PRIORITY_HIGHEST


class InterfaceAddress(NamedTuple):
    """One entry of :func:`interface_addresses` (pyuv's field names)."""

    name: str
    is_internal: bool
    address: str
    netmask: str
    mac: str


class CPUTimes(NamedTuple):
    """A CPU's times in milliseconds (pyuv's field order)."""

    sys: int
    user: int
    idle: int
    irq: int
    nice: int


class CPUInfo(NamedTuple):
    """One entry of :func:`cpu_info`."""

    model: str
    speed: int
    times: CPUTimes


class RUsage(NamedTuple):
    """:func:`getrusage`'s result: times in seconds (float), the rest as getrusage(2) gives."""

    ru_utime: float
    ru_stime: float
    ru_maxrss: int
    ru_ixrss: int
    ru_idrss: int
    ru_isrss: int
    ru_minflt: int
    ru_majflt: int
    ru_nswap: int
    ru_inblock: int
    ru_oublock: int
    ru_msgsnd: int
    ru_msgrcv: int
    ru_nsignals: int
    ru_nvcsw: int
    ru_nivcsw: int


class UnameResult(NamedTuple):
    """:func:`os_uname`'s result."""

    sysname: str
    release: str
    version: str
    machine: str


def _check(err: int) -> None:
    if err < 0:
        raise_for(err, UVError)


def _text(p: Any) -> str:
    return os.fsdecode(ffi.string(p))


def hrtime() -> int:
    """The high-resolution monotonic time, in nanoseconds."""
    return lib.uv_hrtime()


def get_free_memory() -> int:
    """Free system memory, in bytes."""
    return lib.uv_get_free_memory()


def get_total_memory() -> int:
    """Total system memory, in bytes."""
    return lib.uv_get_total_memory()


def get_constrained_memory() -> int:
    """The memory limit imposed on the process (cgroups), in bytes; 0 if there is none."""
    return lib.uv_get_constrained_memory()


def get_available_memory() -> int:
    """Memory still available to the process (under its limit), in bytes (libuv >= 1.45)."""
    require_libuv((1, 45, 0), "util.get_available_memory")
    return lib.uvffi_get_available_memory()


def loadavg() -> Tuple[float, float, float]:
    """The 1, 5 and 15 minute load averages."""
    avg = ffi.new("double[3]")
    lib.uv_loadavg(avg)
    return (avg[0], avg[1], avg[2])


def uptime() -> float:
    """System uptime, in seconds."""
    out = ffi.new("double *")
    _check(lib.uv_uptime(out))
    return out[0]


def resident_set_memory() -> int:
    """The resident set size of this process, in bytes."""
    out = ffi.new("size_t *")
    _check(lib.uv_resident_set_memory(out))
    return out[0]


resident_set_size = resident_set_memory
"""The name pyuv 1.4's documentation gives :func:`resident_set_memory`."""


def _ip_name(item: Any, netmask: int) -> str:
    buf = ffi.new("char[64]")
    _check(lib.uvffi_ifaddr_name(item, netmask, buf, 64))
    return ffi.string(buf).decode()


def interface_addresses() -> List[InterfaceAddress]:
    """The addresses of the network interfaces, as :class:`InterfaceAddress` tuples."""
    pp = ffi.new("uv_interface_address_t **")
    count = ffi.new("int *")
    _check(lib.uv_interface_addresses(pp, count))
    items = pp[0]
    try:
        out = []
        for i in range(count[0]):
            it = items + i
            mac = ":".join("%02x" % b for b in ffi.unpack(ffi.cast("unsigned char *", it.phys_addr), 6))
            out.append(InterfaceAddress(
                _text(it.name), bool(it.is_internal),
                _ip_name(it, 0), _ip_name(it, 1), mac))
        return out
    finally:
        lib.uv_free_interface_addresses(items, count[0])


def cpu_info() -> List[CPUInfo]:
    """One :class:`CPUInfo` per logical CPU."""
    pp = ffi.new("uv_cpu_info_t **")
    count = ffi.new("int *")
    _check(lib.uv_cpu_info(pp, count))
    cpus = pp[0]
    try:
        out = []
        for i in range(count[0]):
            c = cpus[i]
            t = c.cpu_times
            m = lib.uvffi_cpu_model(cpus + i)
            model = _text(m) if m else ""
            out.append(CPUInfo(model, c.speed, CPUTimes(t.sys, t.user, t.idle, t.irq, t.nice)))
        return out
    finally:
        lib.uv_free_cpu_info(cpus, count[0])


def getrusage() -> RUsage:
    """Resource usage of this process (``RUSAGE_SELF``), as :class:`RUsage`."""
    ru = ffi.new("uv_rusage_t *")
    _check(lib.uv_getrusage(ru))
    return RUsage(
        ru.ru_utime.tv_sec + 1e-6 * ru.ru_utime.tv_usec, ru.ru_stime.tv_sec + 1e-6 * ru.ru_stime.tv_usec,
        ru.ru_maxrss, ru.ru_ixrss, ru.ru_idrss, ru.ru_isrss, ru.ru_minflt, ru.ru_majflt, ru.ru_nswap,
        ru.ru_inblock, ru.ru_oublock, ru.ru_msgsnd, ru.ru_msgrcv, ru.ru_nsignals, ru.ru_nvcsw, ru.ru_nivcsw,
    )


UV_UNKNOWN_HANDLE: int = lib.UV_UNKNOWN_HANDLE
UV_TCP: int = lib.UV_TCP
UV_UDP: int = lib.UV_UDP
UV_NAMED_PIPE: int = lib.UV_NAMED_PIPE
UV_TTY: int = lib.UV_TTY
UV_FILE: int = lib.UV_FILE
UV_ASYNC: int = lib.UV_ASYNC
UV_CHECK: int = lib.UV_CHECK
UV_FS_EVENT: int = lib.UV_FS_EVENT
UV_FS_POLL: int = lib.UV_FS_POLL
UV_HANDLE: int = lib.UV_HANDLE
UV_IDLE: int = lib.UV_IDLE
UV_POLL: int = lib.UV_POLL
UV_PREPARE: int = lib.UV_PREPARE
UV_PROCESS: int = lib.UV_PROCESS
UV_STREAM: int = lib.UV_STREAM
UV_TIMER: int = lib.UV_TIMER
UV_SIGNAL: int = lib.UV_SIGNAL

HANDLE_TYPES = (
    "UV_UNKNOWN_HANDLE", "UV_TCP", "UV_UDP", "UV_NAMED_PIPE", "UV_TTY", "UV_FILE", "UV_ASYNC", "UV_CHECK",
    "UV_FS_EVENT", "UV_FS_POLL", "UV_HANDLE", "UV_IDLE", "UV_POLL", "UV_PREPARE", "UV_PROCESS", "UV_STREAM",
    "UV_TIMER", "UV_SIGNAL",
)
"""The names of libuv's handle-type constants (pyuv exports them all at the top level)."""


def guess_handle_type(fd: int) -> int:
    """The handle type libuv guesses for ``fd``: ``UV_TTY``, ``UV_TCP``, ``UV_UDP``,
    ``UV_NAMED_PIPE``, ``UV_FILE`` or ``UV_UNKNOWN_HANDLE`` (a bad fd)."""
    if not isinstance(fd, int):
        raise TypeError(f"fd must be an int, not {type(fd).__name__}")
    if not -(2 ** 31) <= fd < 2 ** 31:
        raise OverflowError("fd out of range")
    return int(lib.uv_guess_handle(fd))


def available_parallelism() -> int:
    """An estimate of how many threads can run in parallel (at least 1)."""
    return lib.uv_available_parallelism()


_RANDOM_MAX = 0x7FFFFFFF


def random(size: int) -> bytes:
    """``size`` cryptographically strong random bytes from the OS (``uv_random``, blocking)."""
    if not isinstance(size, int):
        raise TypeError(f"size must be an int, not {type(size).__name__}")
    if size < 0:
        raise ValueError("size must not be negative")
    if size > _RANDOM_MAX:
        raise OverflowError(f"size must be at most {_RANDOM_MAX}")
    if size == 0:
        return b""
    buf = ffi.new("char[]", size)
    _check(lib.uvffi_random_sync(buf, size))
    return ffi.unpack(buf, size)


def os_getpid() -> int:
    """This process's id."""
    return lib.uv_os_getpid()


def os_getppid() -> int:
    """The parent process's id."""
    return lib.uv_os_getppid()


def _sized_string(fn: Callable[[Any, Any], int], start: int = 1024) -> str:
    """Call a libuv ``(char *buf, size_t *size)`` function, growing the buffer on ENOBUFS."""
    from .errno import UV_ENOBUFS

    size = ffi.new("size_t *", start)
    while True:
        buf = ffi.new("char[]", size[0])
        err = fn(buf, size)
        if err == UV_ENOBUFS:
            size[0] += 1  # libuv sets the length needed, without the terminator
            continue
        _check(err)
        return os.fsdecode(ffi.unpack(buf, size[0]))


def os_homedir() -> str:
    """The current user's home directory (``$HOME`` first, then the password database)."""
    return _sized_string(lib.uv_os_homedir)


def os_tmpdir() -> str:
    """The temporary directory (``$TMPDIR`` and friends, else ``/tmp``)."""
    return _sized_string(lib.uv_os_tmpdir)


def os_gethostname() -> str:
    """The host name."""
    return _sized_string(lib.uv_os_gethostname, lib.UV_MAXHOSTNAMESIZE)


def os_uname() -> UnameResult:
    """The system's name, release, version and machine, as :class:`UnameResult`."""
    u = ffi.new("uv_utsname_t *")
    _check(lib.uv_os_uname(u))
    return UnameResult(_text(u.sysname), _text(u.release), _text(u.version), _text(u.machine))


def _pid(pid: int) -> int:
    if not isinstance(pid, int):
        raise TypeError(f"pid must be an int, not {type(pid).__name__}")
    return pid


def os_getpriority(pid: int = 0) -> int:
    """The scheduling priority of process ``pid`` (0: this process), -20 (highest) to 19."""
    out = ffi.new("int *")
    _check(lib.uv_os_getpriority(_pid(pid), out))
    return out[0]


def os_setpriority(pid: int, priority: int) -> None:
    """Set the scheduling priority of process ``pid`` (0: this process); see ``UV_PRIORITY_*``."""
    if not isinstance(priority, int):
        raise TypeError(f"priority must be an int, not {type(priority).__name__}")
    if not -(2 ** 31) <= priority < 2 ** 31:
        raise OverflowError("priority out of range")
    _check(lib.uv_os_setpriority(_pid(pid), priority))


def environ() -> Dict[str, str]:
    """A snapshot of the process environment as libuv sees it (the C ``environ``)."""
    pp = ffi.new("uv_env_item_t **")
    count = ffi.new("int *")
    _check(lib.uv_os_environ(pp, count))
    items = pp[0]
    try:
        return {_text(items[i].name): _text(items[i].value) for i in range(count[0])}
    finally:
        lib.uv_os_free_environ(items, count[0])


class SignalChecker(Poll):
    """pyuv's signal helper: wake the loop for Python's signal handlers.

    ``SignalChecker(loop, fd)`` watches ``fd``, the read end of a non-blocking
    socket pair (or pipe) whose write end was given to
    :func:`signal.set_wakeup_fd`. When a signal arrives the loop wakes,
    :meth:`start`'s watcher drains the fd and Python runs its signal handlers
    at once (an exception they raise, ``KeyboardInterrupt`` included, is
    handled as one raised by a callback). uvffi's :meth:`uvffi.Loop.run`
    already does this by itself in the main thread; SignalChecker is for
    programs written for pyuv."""

    def start(self) -> None:  # type: ignore[override]
        """Start watching the fd."""
        super().start(UV_READABLE, SignalChecker._check)  # type: ignore[arg-type]

    def _check(self, events: int, error: Any) -> None:
        """Drain the wakeup fd; Python's handlers run as this callback's code does."""
        fd = self.fileno()
        while True:
            try:
                if not os.read(fd, 1024):
                    break
            except InterruptedError:
                continue
            except BlockingIOError:
                break
            except OSError:
                self.stop()
                break
        _run_signal_handlers()


def _run_signal_handlers() -> None:
    """A point where the interpreter runs pending signal handlers (between bytecodes,
    in the main thread): an empty call is enough."""
    return None

