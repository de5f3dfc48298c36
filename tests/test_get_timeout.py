"""Loop.get_timeout(): 0.0 until the loop's first run, then the next timer's timeout. The 0.0 is
right, not a stale value: before the first poll the loop's eventfd is not registered with the
backend fd, so an embedder waiting on fileno() would miss a wakeup (shown below)."""

from __future__ import annotations

import select
import time

import uvffi


def readable(fd: int, timeout_ms: int) -> bool:
    poller = select.poll()
    poller.register(fd, select.POLLIN)
    return bool(poller.poll(timeout_ms))




def test_zero_before_the_first_run_then_the_timer(loop):
    timer = uvffi.Timer(loop)
    timer.start(lambda t: None, 10.0, 0)
    assert loop.get_timeout() == 0.0
    loop.run(uvffi.RUN_NOWAIT)
    assert 9.9 < loop.get_timeout() <= 10.0
    timer.close()


def test_before_the_first_run_fileno_misses_wakeups(loop):
    # Why 0.0 is the right first answer: a queue_work completion signals the loop's eventfd,
    # but until the first poll registers it, fileno() does not become readable.
    timer = uvffi.Timer(loop)
    timer.start(lambda t: None, 10.0, 0)
    done: list = []
    loop.queue_work(lambda: None, done.append)
    time.sleep(0.2)  # the pool ran the work and signalled the eventfd
    assert not readable(loop.fileno(), 200)
    assert loop.get_timeout() == 0.0  # "run the loop before waiting on fileno()"
    loop.run(uvffi.RUN_NOWAIT)
    assert done == [None]
    # After the first run the eventfd is registered: a completion wakes fileno().
    loop.queue_work(lambda: None, done.append)
    assert readable(loop.fileno(), 5000)
    assert 9.0 < loop.get_timeout() <= 10.0
    loop.run(uvffi.RUN_NOWAIT)
    assert done == [None, None]
    timer.close()


def test_no_timer_means_no_limit_once_registered(loop):
    handle = uvffi.Async(loop, lambda h: None)  # active and referenced: the loop is alive
    loop.run(uvffi.RUN_NOWAIT)
    assert loop.get_timeout() == -1.0
    handle.close()


def test_nothing_active_means_zero(loop):
    loop.run(uvffi.RUN_NOWAIT)
    assert loop.get_timeout() == 0.0  # poll would not wait at all: run() returns at once
