"""Thread synchronisation primitives, named as pyuv names them (``pyuv.thread``).

libuv's own primitives (pthreads underneath). Every blocking call releases the
GIL (cffi releases it around each C call), so other Python threads run while one
waits. The C memory is freed when the Python object dies.

Differences from pyuv, all where pyuv would deadlock or abort the process:
locking a :class:`Mutex` this thread already holds, unlocking one it does not hold,
waiting on a :class:`Condition` without holding its mutex, and the same misuses
of :class:`RWLock` raise ``RuntimeError`` instead.
"""

from __future__ import annotations

import math
from threading import get_ident
from typing import Any, Dict, Optional

from ._core import ffi, lib
from .error import ThreadError

__all__ = ["Barrier", "Condition", "Mutex", "RWLock", "Semaphore"]

_UINT_MAX = 2 ** 32 - 1
# uv_cond_timedwait adds the timeout to uv_hrtime(): keep the sum inside 64 bits.
_MAX_TIMEOUT_NS = 2 ** 62


def _made(ptr: Any, err: Any, free: Any, what: str) -> Any:
    if ptr == ffi.NULL:
        raise ThreadError(err[0], f"Error initializing {what}")
    return ffi.gc(ptr, free)


def _count(value: Any, name: str) -> int:
    if not isinstance(value, int):
        raise TypeError(f"{name} must be an int, not {type(value).__name__}")
    if value < 0:
        raise ValueError(f"{name} must not be negative")
    if value > _UINT_MAX:
        raise OverflowError(f"{name} must be at most {_UINT_MAX}")
    return value


class Mutex:
    """A non-recursive mutex: :meth:`lock`, :meth:`unlock`, :meth:`trylock`, and ``with``."""

    _owner: Optional[int] = None

    def __init__(self) -> None:
        err = ffi.new("int *")
        self._m = _made(lib.uvffi_mutex_new(err), err, lib.uvffi_mutex_free, "Mutex")
        self._owner = None

    def lock(self) -> None:
        """Lock the mutex, blocking (GIL released) until it is free."""
        me = get_ident()
        if self._owner == me:
            raise RuntimeError("Mutex.lock: this thread already holds the mutex (it is not recursive)")
        lib.uv_mutex_lock(self._m)
        self._owner = me

    def unlock(self) -> None:
        """Unlock the mutex, which this thread must hold."""
        if self._owner != get_ident():
            raise RuntimeError("Mutex.unlock: this thread does not hold the mutex")
        self._owner = None
        lib.uv_mutex_unlock(self._m)

    def trylock(self) -> bool:
        """Lock the mutex if it is free: True if this call locked it, False otherwise."""
        me = get_ident()
        if self._owner == me:
            return False
        if lib.uv_mutex_trylock(self._m) == 0:
            self._owner = me
            return True
        return False

    def __enter__(self) -> "Mutex":
        self.lock()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.unlock()


class RWLock:
    """A readers-writer lock: many readers or one writer."""

    def __init__(self) -> None:
        err = ffi.new("int *")
        self._rw = _made(lib.uvffi_rwlock_new(err), err, lib.uvffi_rwlock_free, "RWLock")
        self._writer: Optional[int] = None
        self._readers: Dict[int, int] = {}

    def rdlock(self) -> None:
        """Lock for reading, blocking while a writer holds the lock."""
        me = get_ident()
        if self._writer == me:
            raise RuntimeError("RWLock.rdlock: this thread holds the lock for writing")
        lib.uv_rwlock_rdlock(self._rw)
        self._readers[me] = self._readers.get(me, 0) + 1

    def tryrdlock(self) -> bool:
        """Lock for reading if no writer holds the lock: True if locked."""
        me = get_ident()
        if self._writer == me or lib.uv_rwlock_tryrdlock(self._rw) != 0:
            return False
        self._readers[me] = self._readers.get(me, 0) + 1
        return True

    def rdunlock(self) -> None:
        """Release a read lock this thread holds."""
        me = get_ident()
        n = self._readers.get(me, 0)
        if n == 0:
            raise RuntimeError("RWLock.rdunlock: this thread holds no read lock")
        if n == 1:
            del self._readers[me]
        else:
            self._readers[me] = n - 1
        lib.uv_rwlock_rdunlock(self._rw)

    def wrlock(self) -> None:
        """Lock for writing, blocking until no reader or writer holds the lock."""
        me = get_ident()
        if self._writer == me or me in self._readers:
            raise RuntimeError("RWLock.wrlock: this thread already holds the lock")
        lib.uv_rwlock_wrlock(self._rw)
        self._writer = me

    def trywrlock(self) -> bool:
        """Lock for writing if the lock is free: True if locked."""
        me = get_ident()
        if self._writer == me or me in self._readers or lib.uv_rwlock_trywrlock(self._rw) != 0:
            return False
        self._writer = me
        return True

    def wrunlock(self) -> None:
        """Release the write lock this thread holds."""
        if self._writer != get_ident():
            raise RuntimeError("RWLock.wrunlock: this thread does not hold the write lock")
        self._writer = None
        lib.uv_rwlock_wrunlock(self._rw)


class Condition:
    """A condition variable used with a :class:`Mutex`.

    pyuv's constructor accepts (and ignores) a lock; so does this one. The mutex is
    given to each :meth:`wait`/:meth:`timedwait` call, as in pyuv."""

    def __init__(self, lock: Optional[Mutex] = None) -> None:
        err = ffi.new("int *")
        self._c = _made(lib.uvffi_cond_new(err), err, lib.uvffi_cond_free, "Condition")

    def signal(self) -> None:
        """Wake at least one thread waiting on this condition."""
        lib.uv_cond_signal(self._c)

    def broadcast(self) -> None:
        """Wake every thread waiting on this condition."""
        lib.uv_cond_broadcast(self._c)

    @staticmethod
    def _held(mutex: Any, what: str) -> int:
        if not isinstance(mutex, Mutex):
            raise TypeError(f"Condition.{what}: a Mutex is required, not {type(mutex).__name__}")
        me = get_ident()
        if mutex._owner != me:
            raise RuntimeError(f"Condition.{what}: this thread must hold the mutex")
        return me

    def wait(self, mutex: Mutex) -> None:
        """Release ``mutex`` (which this thread holds), wait to be signalled, re-take it."""
        me = self._held(mutex, "wait")
        mutex._owner = None
        try:
            lib.uv_cond_wait(self._c, mutex._m)
        finally:
            mutex._owner = me

    def timedwait(self, mutex: Mutex, timeout: float) -> bool:
        """Like :meth:`wait`, giving up after ``timeout`` seconds: True if signalled,
        False if the time ran out."""
        if not isinstance(timeout, (int, float)) or isinstance(timeout, bool):
            raise TypeError(f"timeout must be a number, not {type(timeout).__name__}")
        if math.isnan(timeout) or timeout < 0:
            raise ValueError("timeout must be a non-negative number of seconds")
        ns = _MAX_TIMEOUT_NS if timeout * 1e9 >= _MAX_TIMEOUT_NS else int(timeout * 1e9)
        me = self._held(mutex, "timedwait")
        mutex._owner = None
        try:
            r = lib.uv_cond_timedwait(self._c, mutex._m, ns)
        finally:
            mutex._owner = me
        return r == 0


class Semaphore:
    """A counting semaphore (initial ``count``, default 1); ``with`` waits, then posts."""

    def __init__(self, count: int = 1) -> None:
        count = _count(count, "count")
        err = ffi.new("int *")
        self._s = _made(lib.uvffi_sem_new(count, err), err, lib.uvffi_sem_free, "Semaphore")

    def post(self) -> None:
        """Increment (unlock) the semaphore."""
        lib.uv_sem_post(self._s)

    def wait(self) -> None:
        """Decrement (lock) the semaphore, blocking while it is zero."""
        lib.uv_sem_wait(self._s)

    def trywait(self) -> bool:
        """Decrement the semaphore if it is above zero: True if it was decremented."""
        return lib.uv_sem_trywait(self._s) == 0

    def __enter__(self) -> "Semaphore":
        self.wait()
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.post()


class Barrier:
    """A barrier for ``count`` threads: :meth:`wait` returns when ``count`` threads wait."""

    def __init__(self, count: int) -> None:
        count = _count(count, "count")
        err = ffi.new("int *")
        self._b = _made(lib.uvffi_barrier_new(count, err), err, lib.uvffi_barrier_free, "Barrier")

    def wait(self) -> bool:
        """Wait for the other threads; True in exactly one of them (libuv's 'serial' thread)."""
        return lib.uv_barrier_wait(self._b) > 0
