"""Subprocess transports of :mod:`uvffi.aio` (``loop.subprocess_exec`` / ``subprocess_shell``, and
so ``asyncio.create_subprocess_exec`` / ``_shell``): the child is started by libuv's spawn
(:meth:`uvffi.Process.spawn`) and reaped by libuv, so no child watcher is involved.

The transport is asyncio's ``BaseSubprocessTransport``, whose ``_start`` hook spawns through
libuv; its pipes are made here (``os.pipe``; the child's ends are inherited by fd and closed in
the parent after the spawn) and connected by asyncio through the loop's
``connect_read_pipe`` / ``connect_write_pipe``, i.e. :mod:`uvffi.aio.pipes`. The ordering of
``pipe_data_received``, ``pipe_connection_lost``, ``process_exited`` and ``connection_lost``
is therefore the running Python's own.

``Popen`` options libuv's spawn supports: ``executable``, ``cwd``, ``env``, ``pass_fds``,
``start_new_session`` (``setsid``), ``user``/``group`` (setuid/setgid), ``close_fds=True``
(Python's fds are not inheritable anyway) and ``restore_signals`` (libuv resets every
signal disposition in the child). Others raise ``ValueError``.
"""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from asyncio import base_subprocess
from typing import Any, List, Optional, Sequence

from ..error import ProcessError
from ..handles.process import (
    UV_IGNORE,
    UV_INHERIT_FD,
    UV_PROCESS_DETACHED,
    UV_PROCESS_SETGID,
    UV_PROCESS_SETUID,
    Process,
    StdIO,
)
from ._transport_base import uv_exception

__all__ = ["UVSubprocessTransport", "make_subprocess_transport"]

_HAS_WAITID = hasattr(os, "waitid") and hasattr(os, "WNOWAIT")


def _zombie_status(pid: int) -> Optional[int]:
    """Where ``os.waitid`` is missing: the return code of the exited, unreaped child ``pid``
    from ``/proc/<pid>/stat`` (its state ``Z`` and field 52, the wait status; Linux 3.5+), or
    None while it runs or when that is unknown."""
    try:
        with open(f"/proc/{pid}/stat", "rb") as f:
            stat = f.read()
    except OSError:
        return None
    fields = stat[stat.rindex(b")") + 2:].split()  # after "pid (comm) ": state is field 3
    if fields[0] != b"Z" or len(fields) < 50:
        return None
    status = int(fields[49])  # field 52 of the whole line
    if os.WIFEXITED(status):
        return os.WEXITSTATUS(status)
    if os.WIFSIGNALED(status):
        return -os.WTERMSIG(status)
    return None

_SUPPORTED = {"executable", "cwd", "env", "pass_fds", "start_new_session", "user", "group", "close_fds",
              "restore_signals"}
# Popen arguments that are accepted when they ask for Popen's default behaviour.
_DEFAULTS = {"preexec_fn": None, "extra_groups": None, "umask": -1, "process_group": None, "startupinfo": None,
             "creationflags": 0}


class _Child:
    """The ``Popen``-like object ``BaseSubprocessTransport`` keeps as ``_proc`` (and as
    ``get_extra_info('subprocess')``): the pid, the parent's pipe ends, the return code and
    the signal methods, over a :class:`uvffi.Process`."""

    def __init__(self) -> None:
        self.pid: int = 0
        self.returncode: Optional[int] = None
        self.stdin: Any = None
        self.stdout: Any = None
        self.stderr: Any = None
        self.args: Any = None
        self._handle: Optional[Process] = None

    def _peek(self, block: bool) -> Optional[int]:
        """The child's return code if it has exited, without reaping it (``waitid`` with
        ``WNOWAIT``: libuv still reaps it and reports the exit); None while it runs."""
        if self.returncode is not None or not self.pid:
            return self.returncode
        if not _HAS_WAITID:  # PyPy 3.9 has no os.waitid: Linux's /proc tells a zombie's status
            while True:
                code = _zombie_status(self.pid)
                if code is not None or not block:
                    return code if code is not None else self.returncode
                time.sleep(0.001)
        flags = os.WEXITED | os.WNOWAIT | (0 if block else os.WNOHANG)
        while True:
            try:
                info = os.waitid(os.P_PID, self.pid, flags)
            except InterruptedError:
                continue
            except ChildProcessError:  # already reaped: libuv's exit callback sets returncode
                return self.returncode
            break
        if info is None or info.si_pid == 0:
            return None
        if info.si_code == os.CLD_EXITED:
            return int(info.si_status)
        return -int(info.si_status)  # killed or dumped: -signal, as Popen

    def poll(self) -> Optional[int]:
        """The return code if the child has exited (even before libuv reported it), else None."""
        return self._peek(block=False)

    def wait(self, timeout: Optional[float] = None) -> int:
        """Block until the child exits; its return code (``Popen.wait``; ``timeout`` not supported)."""
        if timeout is not None:
            raise ValueError("wait() with a timeout is not supported; use the transport's _wait()")
        code = self._peek(block=True)
        assert code is not None
        return code

    def send_signal(self, sig: int) -> None:
        """Send ``sig`` unless the child has exited (``Popen.send_signal``'s rule)."""
        handle = self._handle
        if self.returncode is not None or handle is None or handle.closed:
            return
        try:
            handle.kill(sig)
        except ProcessError as exc:
            err = uv_exception(exc.args[0])
            if not isinstance(err, ProcessLookupError):
                raise err from None

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)


def _check_kwargs(kwargs: dict) -> None:
    for name, value in kwargs.items():
        if name in _SUPPORTED:
            continue
        if name in _DEFAULTS and value == _DEFAULTS[name]:
            continue
        raise ValueError(f"{name}={value!r} is not supported by uvffi.aio subprocesses (libuv's spawn)")
    if kwargs.get("close_fds", True) is False:
        # close_fds=False would hand the child every inheritable fd: libuv does that already
        # (it closes only close-on-exec fds), so there is nothing to do.
        pass


def _uid(user: Any) -> int:
    if isinstance(user, int):
        return user
    import pwd
    return pwd.getpwnam(user).pw_uid


def _gid(group: Any) -> int:
    if isinstance(group, int):
        return group
    import grp
    return grp.getgrnam(group).gr_gid


class UVSubprocessTransport(base_subprocess.BaseSubprocessTransport):
    """asyncio's subprocess transport with a child started and reaped by libuv."""

    _proc: Any

    def _start(self, args: Any, shell: bool, stdin: Any, stdout: Any, stderr: Any, bufsize: int,
               **kwargs: Any) -> None:
        _check_kwargs(kwargs)
        child = _Child()
        child.args = args
        self._proc = child
        executable = kwargs.get("executable")
        if shell:
            argv: List[Any] = ["/bin/sh", "-c", args]
            if executable is not None:
                argv[0] = executable
        elif isinstance(args, (str, bytes, os.PathLike)):
            argv = [args]
        else:
            argv = list(args)

        parent_ends: List[int] = []  # closed if the spawn fails
        child_ends: List[int] = []   # closed in the parent once the child has them

        def container(spec: Any, fd: int) -> StdIO:
            if spec is None:
                return StdIO(fd=fd, flags=UV_INHERIT_FD)
            if spec == subprocess.DEVNULL:
                return StdIO(flags=UV_IGNORE)  # libuv opens /dev/null for fds 0-2
            if spec == subprocess.PIPE:
                r, w = os.pipe()
                if fd == 0:
                    parent_ends.append(w)
                    child_ends.append(r)
                    return StdIO(fd=r, flags=UV_INHERIT_FD)
                parent_ends.append(r)
                child_ends.append(w)
                return StdIO(fd=w, flags=UV_INHERIT_FD)
            if isinstance(spec, int):
                if spec < 0:
                    raise ValueError(f"invalid stdio value: {spec!r}")
                return StdIO(fd=spec, flags=UV_INHERIT_FD)
            return StdIO(fd=spec.fileno(), flags=UV_INHERIT_FD)

        try:
            stdio = [container(stdin, 0), container(stdout, 1)]
            if stderr == subprocess.STDOUT:
                stdio.append(stdio[1])  # the same pipe, fd or /dev/null as stdout
            else:
                stdio.append(container(stderr, 2))
            pass_fds: Sequence[int] = kwargs.get("pass_fds") or ()
            if pass_fds:
                # fd n of the child is stdio[n]: the passed fds as themselves, the others closed.
                wanted = set(pass_fds)
                for fd in range(3, max(wanted) + 1):
                    stdio.append(StdIO(fd=fd, flags=UV_INHERIT_FD) if fd in wanted else StdIO(flags=UV_IGNORE))
            flags = 0
            uid = gid = None
            if kwargs.get("start_new_session"):
                flags |= UV_PROCESS_DETACHED  # setsid() in the child
            if kwargs.get("user") is not None:
                uid = _uid(kwargs["user"])
                flags |= UV_PROCESS_SETUID
            if kwargs.get("group") is not None:
                gid = _gid(kwargs["group"])
                flags |= UV_PROCESS_SETGID
            try:
                uv_loop = self._loop.uv_loop  # type: ignore[attr-defined]  # a uvffi.aio.Loop's uvffi.Loop
                handle = Process.spawn(uv_loop, argv, executable=argv[0] if shell else executable,
                                       env=kwargs.get("env"), cwd=kwargs.get("cwd"), uid=uid, gid=gid,
                                       flags=flags, stdio=stdio, exit_callback=self._on_exit)
            except ProcessError as exc:
                err = uv_exception(exc.args[0])
                err.filename = os.fsdecode(executable if executable is not None else argv[0])
                raise err from None
        except BaseException:
            for fd in parent_ends:
                os.close(fd)
            raise
        finally:
            for fd in child_ends:
                os.close(fd)
        child._handle = handle
        child.pid = handle.pid
        ends = iter(parent_ends)
        if stdin == subprocess.PIPE:
            child.stdin = open(next(ends), "wb", buffering=0)
        if stdout == subprocess.PIPE:
            child.stdout = open(next(ends), "rb", buffering=0)
        if stderr == subprocess.PIPE:
            child.stderr = open(next(ends), "rb", buffering=0)

    def _on_exit(self, handle: Process, exit_status: int, term_signal: int) -> None:
        """libuv reaped the child: its status as ``Popen``'s return code (``-signal`` if killed)."""
        handle.close()
        returncode = -term_signal if term_signal else exit_status
        if self._proc is not None:
            self._proc._handle = None
        self._process_exited(returncode)


async def make_subprocess_transport(loop: Any, protocol: asyncio.SubprocessProtocol, args: Any, shell: bool,
                                    stdin: Any, stdout: Any, stderr: Any, bufsize: int,
                                    extra: Optional[dict] = None, **kwargs: Any) -> asyncio.SubprocessTransport:
    """asyncio's ``_make_subprocess_transport``: spawn the child and wait for its pipes to be
    connected; on failure the child is killed and waited for before the error is raised."""
    waiter = loop.create_future()
    transport = UVSubprocessTransport(loop, protocol, args, shell, stdin, stdout, stderr, bufsize,
                                      waiter=waiter, extra=extra, **kwargs)
    try:
        await waiter
    except (SystemExit, KeyboardInterrupt):
        raise
    except BaseException:
        transport.close()
        await transport._wait()
        raise
    return transport


