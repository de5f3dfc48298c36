"""Child processes: :class:`Process` (libuv's ``uv_process_t``, pyuv's
``pyuv.Process``) and :class:`StdIO`, the description of one of its stdio fds."""

from __future__ import annotations

import os
from typing import Any, Callable, List, Mapping, Optional, Sequence, Union

from .._core import ffi, kind, lib
from ..error import ProcessError, raise_for
from ..loop import Loop
from .base import Handle

__all__ = [
    "Process", "StdIO", "UV_IGNORE", "UV_CREATE_PIPE", "UV_INHERIT_FD", "UV_INHERIT_STREAM",
    "UV_READABLE_PIPE", "UV_WRITABLE_PIPE", "UV_NONBLOCK_PIPE", "UV_OVERLAPPED_PIPE",
    "UV_PROCESS_SETUID", "UV_PROCESS_SETGID", "UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS",
    "UV_PROCESS_DETACHED", "UV_PROCESS_WINDOWS_HIDE", "UV_PROCESS_WINDOWS_HIDE_CONSOLE",
    "UV_PROCESS_WINDOWS_HIDE_GUI",
]

UV_IGNORE: int = lib.UV_IGNORE
UV_CREATE_PIPE: int = lib.UV_CREATE_PIPE
UV_INHERIT_FD: int = lib.UV_INHERIT_FD
UV_INHERIT_STREAM: int = lib.UV_INHERIT_STREAM
UV_READABLE_PIPE: int = lib.UV_READABLE_PIPE
UV_WRITABLE_PIPE: int = lib.UV_WRITABLE_PIPE
UV_NONBLOCK_PIPE: int = lib.UV_NONBLOCK_PIPE
UV_OVERLAPPED_PIPE: int = lib.UV_OVERLAPPED_PIPE
UV_PROCESS_SETUID: int = lib.UV_PROCESS_SETUID
UV_PROCESS_SETGID: int = lib.UV_PROCESS_SETGID
UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS: int = lib.UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS
UV_PROCESS_DETACHED: int = lib.UV_PROCESS_DETACHED
UV_PROCESS_WINDOWS_HIDE: int = lib.UV_PROCESS_WINDOWS_HIDE
UV_PROCESS_WINDOWS_HIDE_CONSOLE: int = lib.UV_PROCESS_WINDOWS_HIDE_CONSOLE
UV_PROCESS_WINDOWS_HIDE_GUI: int = lib.UV_PROCESS_WINDOWS_HIDE_GUI

_STREAM_TYPES = (lib.UV_TCP, lib.UV_NAMED_PIPE, lib.UV_TTY)
_STREAM_FLAGS = UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE | UV_INHERIT_STREAM | \
    UV_NONBLOCK_PIPE | UV_OVERLAPPED_PIPE
_PROCESS_FLAGS = UV_PROCESS_SETUID | UV_PROCESS_SETGID | UV_PROCESS_WINDOWS_VERBATIM_ARGUMENTS | \
    UV_PROCESS_DETACHED | UV_PROCESS_WINDOWS_HIDE | UV_PROCESS_WINDOWS_HIDE_CONSOLE | UV_PROCESS_WINDOWS_HIDE_GUI

StrPath = Union[str, bytes, "os.PathLike[str]", "os.PathLike[bytes]"]


def _bytes(value: Any, name: str) -> bytes:
    try:
        v = os.fspath(value)
    except TypeError:
        raise TypeError(f"{name} must be str, bytes or os.PathLike, not {type(value).__name__}") from None
    b = os.fsencode(v) if isinstance(v, str) else v
    if b"\0" in b:
        raise ValueError(f"{name}: embedded null byte")
    return b


def _is_stream(handle: Any) -> bool:
    ptr = getattr(handle, "_ptr", None)
    return isinstance(handle, Handle) and ptr is not None and \
        lib.uv_handle_get_type(lib.uvffi_handle_raw(ptr)) in _STREAM_TYPES


class StdIO:
    """One stdio fd of a child: ``StdIO()`` ignores it (``UV_IGNORE``: /dev/null);
    ``StdIO(fd=n, flags=UV_INHERIT_FD)`` gives the child the parent's fd ``n``;
    ``StdIO(stream=s, flags=UV_CREATE_PIPE | UV_READABLE_PIPE | UV_WRITABLE_PIPE)``
    connects it to a new pipe whose parent end is the (unopened) ``Pipe`` ``s``, and
    ``StdIO(stream=s, flags=UV_INHERIT_STREAM)`` gives the child the fd of an open
    stream (a TCP, Pipe or TTY). The readable/writable flags are from the child's
    point of view."""

    __slots__ = ("_stream", "_fd", "_flags")

    def __init__(self, stream: Any = None, fd: Optional[int] = None, flags: int = UV_IGNORE) -> None:
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise TypeError(f"flags must be an int, not {type(flags).__name__}")
        if fd is not None and fd != -1 and stream is not None:
            raise ValueError("either stream or fd must be specified, but not both")
        if stream is not None:
            if not _is_stream(stream):
                raise TypeError("Only stream objects are supported")
            if flags & ~_STREAM_FLAGS:
                raise ValueError("invalid flags specified for stream")
        elif fd is not None and fd != -1:
            if not isinstance(fd, int) or isinstance(fd, bool):
                raise TypeError(f"fd must be an int, not {type(fd).__name__}")
            if fd < 0:
                raise ValueError(f"invalid file descriptor: {fd}")
            if flags & ~UV_INHERIT_FD:
                raise ValueError("invalid flags specified for fd")
        elif flags & ~UV_IGNORE:
            raise ValueError("invalid flags specified for ignore")
        self._stream = stream
        self._fd = -1 if fd is None else fd
        self._flags = flags

    @property
    def stream(self) -> Any:
        """The stream handle, or None."""
        return self._stream

    @property
    def fd(self) -> int:
        """The file descriptor (-1 if none)."""
        return self._fd

    @property
    def flags(self) -> int:
        """The ``UV_*`` stdio flags."""
        return self._flags


def _noop(*args: Any) -> None:
    return None


class Process(Handle):
    """A child process (``uv_process_t``), made by :meth:`spawn`, not by the constructor.

    ``exit_callback(process, exit_status, term_signal)`` runs once the child has
    exited (libuv reaps it: no zombie is left), also when the program dropped the
    Process meanwhile; it is optional (pyuv 1.4 crashed without one). Close the
    handle when done with it."""

    _kind = kind("process")
    _error = ProcessError
    _stdio: List[StdIO] = []

    def __init__(self, loop: Loop, **kwargs: Any) -> None:
        if not kwargs.pop("_spawning", False):
            # pyuv's Process(loop): an object with no child yet (its close() raises
            # RuntimeError); Process.spawn makes the real thing.
            if not isinstance(loop, Loop):
                raise TypeError(f"loop must be a uvffi Loop, not {type(loop).__name__}")
            self._loop = loop
            return
        super().__init__(loop, **kwargs)

    def close(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the handle (``RuntimeError`` for a Process that was never spawned)."""
        if self._ptr is None and not self._closed:
            raise RuntimeError("the process was not spawned")
        super().close(callback)

    @classmethod
    def spawn(cls, loop: Loop, args: Union[StrPath, Sequence[StrPath]], executable: Optional[StrPath] = None,
              env: Optional[Mapping[Any, Any]] = None, cwd: Optional[StrPath] = None,
              uid: Optional[int] = None, gid: Optional[int] = None, flags: int = 0,
              stdio: Optional[Sequence[StdIO]] = None,
              exit_callback: Optional[Callable[["Process", int, int], Any]] = None) -> "Process":
        """Start ``args`` (a program and its arguments, or one string) in a child.

        ``executable`` defaults to ``args[0]`` (looked up in ``PATH``); ``env`` (a
        mapping) replaces the environment, None inherits it; ``cwd`` sets the working
        directory; ``uid``/``gid`` take effect with ``UV_PROCESS_SETUID`` /
        ``UV_PROCESS_SETGID`` in ``flags`` (as in pyuv, only then);
        ``stdio`` lists :class:`StdIO` for fds 0, 1, 2, ... (default: all ignored).
        Raises :class:`~uvffi.error.ProcessError` if the child cannot be started
        (``UV_ENOENT`` for a missing executable)."""
        if not isinstance(loop, Loop):
            raise TypeError(f"loop must be a uvffi Loop, not {type(loop).__name__}")
        if exit_callback is not None and not callable(exit_callback):
            raise TypeError("exit_callback must be a callable or None")
        if not isinstance(flags, int) or isinstance(flags, bool):
            raise TypeError(f"flags must be an int, not {type(flags).__name__}")
        if flags & ~_PROCESS_FLAGS:
            raise ValueError(f"invalid flags: {flags!r}")
        keep: List[Any] = []

        if isinstance(args, (str, bytes, os.PathLike)):
            argv = [_bytes(args, "args")]
        else:
            if isinstance(args, Mapping) or not isinstance(args, Sequence):
                raise TypeError("args must be a string or a sequence of strings")
            argv = [_bytes(a, "args") for a in args]
            if not argv:
                raise ValueError("'args' must contain at least one element")
        c_args = [ffi.new("char[]", a) for a in argv]
        keep += c_args
        c_argv = ffi.new("char *[]", c_args + [ffi.NULL])
        options = ffi.new("uv_process_options_t *")
        options.args = c_argv
        file = ffi.new("char[]", _bytes(executable, "executable") if executable is not None else argv[0])
        options.file = file
        keep += [c_argv, file]

        if env is not None:
            if not isinstance(env, Mapping):
                raise TypeError(f"env must be a mapping, not {type(env).__name__}")
            c_env = [ffi.new("char[]", _bytes(k, "env key") + b"=" + _bytes(v, "env value"))
                     for k, v in env.items()]
            keep += c_env
            # Keep the owning cdata: reading options.env back gives a non-owning pointer, and
            # the array would be freed before the spawn reads it (EFAULT or a garbage environment).
            c_envp = ffi.new("char *[]", c_env + [ffi.NULL])
            keep.append(c_envp)
            options.env = c_envp
        if cwd is not None:
            c_cwd = ffi.new("char[]", _bytes(cwd, "cwd"))
            keep.append(c_cwd)
            options.cwd = c_cwd

        for name, value in (("uid", uid), ("gid", gid)):
            if value is not None and (not isinstance(value, int) or isinstance(value, bool)):
                raise TypeError(f"{name} must be an int, not {type(value).__name__}")
        options.uid = ffi.cast("uv_uid_t", uid or 0)  # pyuv's unsigned conversion: -1 wraps
        options.gid = ffi.cast("uv_gid_t", gid or 0)
        options.flags = flags

        items: List[StdIO] = []
        if stdio is not None:
            if isinstance(stdio, (str, bytes)) or not isinstance(stdio, Sequence):
                raise TypeError("only iterable objects are supported for 'stdio'")
            items = list(stdio)
            for item in items:
                if not isinstance(item, StdIO):
                    raise TypeError("a StdIO instance is required")
        if items:
            containers = ffi.new("uv_stdio_container_t[]", len(items))
            keep.append(containers)
            for i, item in enumerate(items):
                containers[i].flags = item.flags
                if item.flags & (UV_CREATE_PIPE | UV_INHERIT_STREAM):
                    s = item.stream
                    if s is None or s._ptr is None or s.closed:
                        raise ValueError(f"stdio[{i}]: the stream is closed")
                    containers[i].data.stream = ffi.cast("uv_stream_t *", lib.uvffi_handle_raw(s._ptr))
                elif item.flags & UV_INHERIT_FD:
                    containers[i].data.fd = item.fd
            options.stdio = containers
            options.stdio_count = len(items)

        self = cls.__new__(cls)
        # The handle owns its callback (C reads it at the exit); set before the spawn.
        self._callback = exit_callback if exit_callback is not None else _noop
        self._stdio = items
        Process.__init__(self, loop, _spawning=True, _arg=int(ffi.cast("intptr_t", options)))
        del keep
        return self

    @property
    def pid(self) -> int:
        """The child's process id."""
        return int(lib.uvffi_process_pid(self._live()))

    @property
    def stdio(self) -> List[StdIO]:
        """The :class:`StdIO` list given to :meth:`spawn`."""
        return list(self._stdio)

    def kill(self, signum: int) -> None:
        """Send signal ``signum`` to the child (``ProcessError`` ``UV_ESRCH`` once it exited)."""
        if not isinstance(signum, int) or isinstance(signum, bool):
            raise TypeError(f"signum must be an int, not {type(signum).__name__}")
        err = lib.uvffi_process_kill(self._live(), signum)
        if err:
            raise_for(err, ProcessError)

    @classmethod
    def disable_stdio_inheritance(cls) -> None:
        """Mark the fds this process inherited from its parent close-on-exec, so
        children spawned later do not inherit them (call early, before opening fds
        that must be inherited)."""
        lib.uv_disable_stdio_inheritance()

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        callback(self, a, b)


