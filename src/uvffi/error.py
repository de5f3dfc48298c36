"""Exceptions raised by uvffi, named as pyuv names them (``pyuv.error``)."""

from __future__ import annotations

from . import errno as _errno
from ._core.native import ffi, lib
from .errno import strerror

__all__ = [
    "UVError", "ThreadError", "HandleError", "HandleClosedError", "AsyncError", "TimerError",
    "PrepareError", "IdleError", "CheckError", "SignalError", "PollError", "LoopClosedError", "FeatureUnavailableError",
    "DNSError", "FSError", "FSEventError", "FSPollError", "ProcessError", "UDPError",
    "StreamError", "TCPError", "PipeError", "TTYError",
]


class UVError(Exception):
    """A libuv call failed; ``args`` is ``(code, message)`` with libuv's negative error code."""


class ThreadError(UVError):
    """A thread-pool operation failed."""


class HandleError(UVError):
    """An operation on a handle failed."""


class HandleClosedError(HandleError):
    """The handle is closing or closed."""


class AsyncError(HandleError):
    """An :class:`~uvffi.Async` operation failed."""


class TimerError(HandleError):
    """A :class:`~uvffi.Timer` operation failed."""


class PrepareError(HandleError):
    """A :class:`~uvffi.Prepare` operation failed."""


class IdleError(HandleError):
    """An :class:`~uvffi.Idle` operation failed."""


class CheckError(HandleError):
    """A :class:`~uvffi.Check` operation failed."""


class SignalError(HandleError):
    """A :class:`~uvffi.Signal` operation failed."""




class PollError(HandleError):
    """A :class:`~uvffi.Poll` operation failed."""


class UDPError(HandleError):
    """A :class:`~uvffi.UDP` operation failed."""


class ProcessError(HandleError):
    """A :class:`~uvffi.Process` failed (spawning a missing executable: ``UV_ENOENT``)."""


class StreamError(HandleError):
    """A stream operation (:class:`~uvffi.Stream`: TCP, Pipe, TTY) failed."""


class TCPError(StreamError):
    """A :class:`~uvffi.TCP` operation failed."""


class PipeError(StreamError):
    """A :class:`~uvffi.Pipe` operation failed."""


class TTYError(StreamError):
    """A :class:`~uvffi.TTY` operation failed."""


class DNSError(UVError):
    """A :mod:`uvffi.dns` lookup failed (``args``: libuv's ``UV_EAI_*`` code, message).
    pyuv 1.4 documents it and raises plain ``UVError``; a ``DNSError`` is one."""


class FSError(UVError):
    """A :mod:`uvffi.fs` function failed (``args``: libuv's error code, message)."""


class FSEventError(HandleError):
    """An ``uvffi.fs.FSEvent`` operation failed."""


class FSPollError(HandleError):
    """An ``uvffi.fs.FSPoll`` operation failed."""


class FeatureUnavailableError(UVError, NotImplementedError):
    """The libuv uvffi is linked with lacks this feature (``args``: ``UV_ENOSYS``, message).

    Only a build against an older system libuv (``UVFFI_USE_SYSTEM_LIBUV=1``) lacks
    features: the pinned libuv has them all."""


class LoopClosedError(RuntimeError):
    """The loop was closed: it and its handles can no longer be used."""


def raise_for(code: int, cls: type[UVError] = UVError) -> None:
    """Raise the exception for a failed call: ``cls(code, message)`` or a uvffi-specific one."""
    if code == lib.UVFFI_EWRONGTHREAD:
        raise RuntimeError(
            "this loop is running in another thread: only Async.send() and "
            "call_soon_threadsafe() may be called from other threads"
        )
    if code == lib.UVFFI_ECLOSED:
        raise HandleClosedError(lib.UVFFI_ECLOSED, "handle is closing or closed")
    if code == lib.UVFFI_EKIND:
        raise TypeError("this operation is not for this kind of handle")
    if code == lib.UVFFI_ERUNNING:
        raise RuntimeError("this loop is already running (here, or through another wrapper of its "
                           "uv_loop_t, or in another thread)")
    if code == lib.UVFFI_ECLOSING:
        raise LoopClosedError("the loop is closing: no new handles")
    if code == lib.UVFFI_EWRAPPED:
        raise RuntimeError("Loop.from_pointer() wrappers of this loop are still open: close them first")
    raise cls(code, strerror(code))


def unavailable(feature: str, since: str) -> FeatureUnavailableError:
    """The error for ``feature``, which needs libuv >= ``since``, on a libuv that lacks it."""
    UV_ENOSYS = _errno.UV_ENOSYS
    linked = ffi.string(lib.uv_version_string()).decode()
    return FeatureUnavailableError(
        UV_ENOSYS,
        f"{feature} needs libuv >= {since}, but uvffi is linked against libuv {linked} "
        f"(a build with UVFFI_USE_SYSTEM_LIBUV=1); install uvffi's wheel, which carries a newer libuv",
    )


def require_libuv(version: tuple[int, int, int], feature: str) -> None:
    """Raise :class:`FeatureUnavailableError` (a ``NotImplementedError``) if the linked
    libuv is older than ``version``. Both the headers uvffi was compiled with and the
    library loaded at run time must be new enough."""
    major, minor, patch = version
    wanted = (major << 16) | (minor << 8) | patch
    if min(lib.UV_VERSION_HEX, lib.uv_version()) < wanted:
        raise unavailable(feature, f"{major}.{minor}.{patch}")
