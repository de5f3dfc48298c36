"""call_soon_threadsafe's queue: the same five operations in C (CPython, ``_threadsafe.c``)
and in Python (PyPy, ``threadsafe.ThreadsafeQueue``), tested against both where both exist."""

from __future__ import annotations

import gc
import weakref

import pytest

import uvffi
from uvffi._core import CBASE, PYPY, C
from uvffi.error import LoopClosedError
from uvffi.threadsafe import ThreadsafeQueue, run_batch

QUEUES = [ThreadsafeQueue] + ([C["ThreadsafeQueue"]] if "ThreadsafeQueue" in C else [])


@pytest.fixture(params=QUEUES, ids=lambda q: q.__module__)
def queue(request):
    return request.param()


def test_cpython_loops_use_the_c_queue_and_c_method(loop) -> None:
    if PYPY:
        pytest.skip("PyPy uses the Python queue")
    loop.call_soon_threadsafe(print)
    assert type(loop._threadsafe) is C["ThreadsafeQueue"]
    if CBASE:
        assert uvffi.Loop.call_soon_threadsafe is C["LoopOps"].__dict__["call_soon_threadsafe"]


def test_take_returns_calls_in_order_and_empties_the_queue(queue, loop) -> None:
    assert queue.take() is None
    f1 = queue.submit(loop, print, (1,))
    f2 = queue.submit(loop, print, (2,))
    assert queue.pending == 2
    calls = queue.take()
    assert [(f, fn, a) for f, fn, a in calls] == [(f1, print, (1,)), (f2, print, (2,))]
    assert queue.pending == 0 and queue.take() is None


def test_requeue_puts_calls_back_in_front(queue, loop) -> None:
    queue.submit(loop, print, ("a",))
    first = queue.take()
    queue.submit(loop, print, ("b",))
    queue.requeue(first)
    assert [a for _f, _fn, a in queue.take()] == [("a",), ("b",)]


def test_close_returns_what_was_queued_and_refuses_more(queue, loop) -> None:
    fut = queue.submit(loop, print, ())
    assert [f for f, _fn, _a in queue.close()] == [fut]
    with pytest.raises(LoopClosedError):
        queue.submit(loop, print, ())
    assert queue.pending == 0


def test_submit_checks_the_callable_and_the_loop(queue, loop) -> None:
    with pytest.raises(TypeError, match="callable"):
        queue.submit(loop, 42, ())
    closed = uvffi.Loop()
    closed.close()
    with pytest.raises(LoopClosedError):
        queue.submit(closed, print, ())
    assert queue.pending == 0


def test_c_queue_rejects_bad_arguments(loop) -> None:
    if "ThreadsafeQueue" not in C:
        pytest.skip("no C queue on this interpreter")
    cq = C["ThreadsafeQueue"]
    with pytest.raises(TypeError):
        cq(1)
    q = cq()
    with pytest.raises(TypeError):
        q.submit(object(), print, ())
    with pytest.raises(TypeError):
        q.submit(loop, print, [1])
    with pytest.raises(TypeError):
        q.requeue((1, 2))


def test_run_batch_runs_and_settles_the_taken_calls(loop) -> None:
    out: list = []
    f1 = loop.call_soon_threadsafe(out.append, 1)
    f2 = loop.call_soon_threadsafe(lambda: 1 // 0)
    run_batch(loop)
    assert out == [1] and f1.result() is None
    assert isinstance(f2.exception(), ZeroDivisionError)
    assert loop._threadsafe.pending == 0


def test_loop_with_queued_call_referring_to_it_is_collected() -> None:
    lp = uvffi.Loop()
    lp.call_soon_threadsafe(lambda me=lp: me)  # loop -> queue -> call -> loop: a cycle
    w = weakref.ref(lp)
    del lp
    for _ in range(10):
        gc.collect()
        if w() is None:
            break
    assert w() is None


def test_python_queue_close_waits_for_a_wakeup_being_sent(loop, monkeypatch) -> None:
    """The Python queue sends the wakeup after releasing its lock; close() (after which the
    loop may be freed) returns only once that send has returned."""
    import threading

    import uvffi.threadsafe as ts

    queue = ThreadsafeQueue()
    entered, release = threading.Event(), threading.Event()
    real_send = ts.lib.uvffi_loop_tsafe_send

    class Lib:
        def __getattr__(self, name):
            return getattr(ts.lib, name)

        @staticmethod
        def uvffi_loop_tsafe_send(lp):
            entered.set()
            release.wait(10)
            return real_send(lp)

    monkeypatch.setattr(ts, "lib", Lib())
    sender = threading.Thread(target=queue.submit, args=(loop, print, ()))
    sender.start()
    assert entered.wait(10)
    closed = []
    closer = threading.Thread(target=lambda: closed.append(len(queue.close())))
    closer.start()
    closer.join(0.2)
    assert closer.is_alive() and not closed  # still waiting for the sender
    release.set()
    sender.join(10)
    closer.join(10)
    assert closed == [1] and queue._senders == 0
