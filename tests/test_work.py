"""queue_work: work in the pool, done on the loop thread."""

from __future__ import annotations

import os
import threading
import time

import pytest

from uvffi import errno


def test_work_runs_in_pool_and_done_on_loop_thread(loop):
    where = {}
    loop.queue_work(lambda: where.setdefault("work", threading.get_ident()),
                    lambda err: where.update(done=threading.get_ident(), err=err))
    loop.run()
    assert where["work"] != threading.get_ident()
    assert where["done"] == threading.get_ident()
    assert where["err"] is None


def test_exception_in_work_goes_to_excepthook_and_done_still_runs(loop):
    hooked, done = [], []
    loop.excepthook = lambda t, v, tb: hooked.append(v)

    def work():
        raise ValueError("in pool")

    loop.queue_work(work, done.append)
    loop.run()
    assert [str(v) for v in hooked] == ["in pool"]
    assert done == [None]


def test_cancelled_work_gets_ecanceled(loop):
    gate = threading.Event()
    results = []
    # Fill the pool with blocked work so the last request stays queued.
    size = int(os.environ.get("UV_THREADPOOL_SIZE", "4"))
    blockers = [loop.queue_work(gate.wait, results.append) for _ in range(size)]
    last = loop.queue_work(lambda: results.append("ran"), results.append)
    assert last.cancel() is True
    gate.set()
    loop.run()
    assert errno.UV_ECANCELED in results
    assert "ran" not in results
    assert all(not b.pending for b in blockers)


def test_cancel_after_done_returns_false(loop):
    req = loop.queue_work(lambda: None)
    loop.run()
    assert req.cancel() is False


def test_work_callback_must_be_callable(loop):
    with pytest.raises(TypeError):
        loop.queue_work(None)
    with pytest.raises(TypeError):
        loop.queue_work(lambda: None, 3)


def test_other_threads_run_while_loop_waits_for_work(loop):
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    loop.queue_work(lambda: time.sleep(0.05))
    loop.run()
    stop.set()
    th.join()
    assert len(ticks) >= 5
