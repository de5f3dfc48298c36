"""uvffi.thread: pyuv's Barrier, Condition, Mutex, RWLock and Semaphore over libuv's primitives."""

from __future__ import annotations

import gc
import threading
import time

import pytest

from uvffi import thread
from uvffi.error import ThreadError


def _run(*targets):
    threads = [threading.Thread(target=t) for t in targets]
    for t in threads:
        t.start()
    for t in threads:
        t.join(10)
        assert not t.is_alive()


def test_mutex_lock_unlock_and_trylock():
    m = thread.Mutex()
    m.lock()
    got = []
    _run(lambda: got.append(m.trylock()))
    assert got == [False]
    m.unlock()
    assert m.trylock() is True
    m.unlock()


def test_mutex_with_statement():
    m = thread.Mutex()
    with m:
        got = []
        _run(lambda: got.append(m.trylock()))
        assert got == [False]
    assert m.trylock()
    m.unlock()


def test_mutex_blocking_lock_releases_the_gil():
    m = thread.Mutex()
    m.lock()
    progress = []

    def waiter():
        m.lock()
        progress.append("locked")
        m.unlock()

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.05)  # the waiter blocks inside uv_mutex_lock; this thread still runs
    progress.append("main")
    m.unlock()
    t.join(5)
    assert progress == ["main", "locked"]


def test_mutex_excludes_between_threads():
    m = thread.Mutex()
    counter = [0]

    def work():
        for _ in range(2000):
            with m:
                v = counter[0]
                counter[0] = v + 1

    _run(work, work, work)
    assert counter[0] == 6000


def test_mutex_relock_by_holder_raises_instead_of_deadlock():
    m = thread.Mutex()
    m.lock()
    with pytest.raises(RuntimeError):
        m.lock()
    assert m.trylock() is False
    m.unlock()


def test_mutex_unlock_when_not_held_raises():
    m = thread.Mutex()
    with pytest.raises(RuntimeError):
        m.unlock()
    m.lock()
    errors = []

    def other():
        try:
            m.unlock()
        except RuntimeError as e:
            errors.append(e)

    _run(other)
    assert len(errors) == 1
    m.unlock()


def test_held_mutex_dropped_does_not_crash():
    m = thread.Mutex()
    m.lock()
    del m
    gc.collect()


def test_rwlock_many_readers_one_writer():
    rw = thread.RWLock()
    rw.rdlock()
    got = []

    def other():
        got.append(rw.tryrdlock())
        if got[-1]:
            rw.rdunlock()
        got.append(rw.trywrlock())

    _run(other)
    assert got == [True, False]
    rw.rdunlock()
    assert rw.trywrlock() is True
    _run(lambda: got.append(rw.tryrdlock()))
    assert got[-1] is False
    rw.wrunlock()


def test_rwlock_writer_blocks_until_readers_leave():
    rw = thread.RWLock()
    rw.rdlock()
    order = []

    def writer():
        rw.wrlock()
        order.append("write")
        rw.wrunlock()

    t = threading.Thread(target=writer)
    t.start()
    time.sleep(0.05)
    order.append("read-done")
    rw.rdunlock()
    t.join(5)
    assert order == ["read-done", "write"]


def test_rwlock_misuse_raises():
    rw = thread.RWLock()
    with pytest.raises(RuntimeError):
        rw.rdunlock()
    with pytest.raises(RuntimeError):
        rw.wrunlock()
    rw.wrlock()
    with pytest.raises(RuntimeError):
        rw.rdlock()
    with pytest.raises(RuntimeError):
        rw.wrlock()
    rw.wrunlock()
    rw.rdlock()
    with pytest.raises(RuntimeError):
        rw.wrlock()
    rw.rdunlock()


def test_condition_signal_wakes_waiter():
    m = thread.Mutex()
    c = thread.Condition(m)
    ready = []

    def waiter():
        with m:
            while not ready:
                c.wait(m)
            ready.append("woke")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.05)
    with m:
        ready.append("go")
        c.signal()
    t.join(5)
    assert ready == ["go", "woke"]


def test_condition_broadcast_wakes_all():
    m = thread.Mutex()
    c = thread.Condition()
    flag = []
    woke = []

    def waiter():
        with m:
            while not flag:
                c.wait(m)
            woke.append(1)

    threads = [threading.Thread(target=waiter) for _ in range(3)]
    for t in threads:
        t.start()
    time.sleep(0.05)
    with m:
        flag.append(1)
        c.broadcast()
    for t in threads:
        t.join(5)
    assert woke == [1, 1, 1]


def test_condition_timedwait_times_out_false():
    m = thread.Mutex()
    c = thread.Condition()
    with m:
        t0 = time.monotonic()
        assert c.timedwait(m, 0.05) is False
        assert time.monotonic() - t0 >= 0.04
    assert m.trylock()  # the mutex is free again after the with block
    m.unlock()


def test_condition_timedwait_signalled_true():
    m = thread.Mutex()
    c = thread.Condition()
    result = []

    def waiter():
        with m:
            result.append(c.timedwait(m, 5.0))

    t = threading.Thread(target=waiter)
    t.start()
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        with m:
            c.signal()
        if result:
            break
        time.sleep(0.01)
    t.join(5)
    assert result == [True]


def test_condition_wait_without_holding_mutex_raises():
    m = thread.Mutex()
    c = thread.Condition()
    with pytest.raises(RuntimeError):
        c.wait(m)
    with pytest.raises(RuntimeError):
        c.timedwait(m, 0.01)


def test_condition_bad_arguments_raise():
    m = thread.Mutex()
    c = thread.Condition()
    with pytest.raises(TypeError):
        c.wait(object())  # type: ignore[arg-type]
    with m:
        with pytest.raises(ValueError):
            c.timedwait(m, -1)
        with pytest.raises(ValueError):
            c.timedwait(m, float("nan"))
        with pytest.raises(TypeError):
            c.timedwait(m, "1")  # type: ignore[arg-type]


def test_semaphore_counts():
    s = thread.Semaphore(2)
    assert s.trywait() and s.trywait()
    assert s.trywait() is False
    s.post()
    assert s.trywait()


def test_semaphore_default_count_is_one_and_with_works():
    s = thread.Semaphore()
    with s:
        assert s.trywait() is False
    assert s.trywait()


def test_semaphore_wait_blocks_until_post():
    s = thread.Semaphore(0)
    order = []

    def waiter():
        s.wait()
        order.append("waited")

    t = threading.Thread(target=waiter)
    t.start()
    time.sleep(0.05)
    order.append("post")
    s.post()
    t.join(5)
    assert order == ["post", "waited"]


def test_semaphore_bad_counts_raise():
    with pytest.raises(ValueError):
        thread.Semaphore(-1)
    with pytest.raises(OverflowError):
        thread.Semaphore(2 ** 40)
    with pytest.raises(TypeError):
        thread.Semaphore("1")  # type: ignore[arg-type]
    with pytest.raises(ThreadError):
        thread.Semaphore(2 ** 32 - 1)  # above SEM_VALUE_MAX


def test_barrier_releases_all_and_one_is_serial():
    b = thread.Barrier(3)
    results = []
    _run(*[lambda: results.append(b.wait())] * 3)
    assert sorted(results) == [False, False, True]


def test_barrier_zero_count_raises():
    with pytest.raises(ThreadError):
        thread.Barrier(0)
    with pytest.raises(ValueError):
        thread.Barrier(-2)


def test_primitives_are_freed_when_dropped():
    for _ in range(2000):
        thread.Mutex(), thread.RWLock(), thread.Condition(), thread.Semaphore(1), thread.Barrier(2)
    gc.collect()


def test_subclasses_work():
    class M(thread.Mutex):
        pass

    m = M()
    with m:
        pass
