"""Thread stress: many loops in many threads, many senders at one loop, and a
large queue_work batch with cancels in flight. (call_soon_threadsafe is covered
with its own module.)"""

from __future__ import annotations

import os
import threading
import time

import uvffi
from uvffi import errno

SECONDS = float(os.environ.get("UVFFI_STRESS_SECONDS", "1.5"))


def test_eight_threads_each_with_its_own_loop():
    results: dict[int, tuple] = {}
    errors: list[BaseException] = []

    def worker(n: int) -> None:
        try:
            loop = uvffi.Loop()
            fired = [0]
            done: list = []

            def tick(t: uvffi.Timer) -> None:
                fired[0] += 1
                if fired[0] == 200:
                    t.close()

            uvffi.Timer(loop).start(tick, 0.001, 0.001)
            for _ in range(20):
                loop.queue_work(lambda: sum(range(1000)), done.append)
            idle_runs = [0]

            def idle(h: uvffi.Idle) -> None:
                idle_runs[0] += 1
                if idle_runs[0] == 500:
                    h.close()

            uvffi.Idle(loop).start(idle)
            loop.run()
            loop.close()
            results[n] = (fired[0], done, idle_runs[0])
        except BaseException as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors, errors
    assert sorted(results) == list(range(8))
    for fired, done, idle_runs in results.values():
        assert fired == 200 and done == [None] * 20 and idle_runs == 500


def test_eight_threads_hammering_async_send():
    loop = uvffi.Loop()
    lock = threading.Lock()
    seq = [0]           # sends completed so far
    observed = [-1]     # seq seen at the start of the latest callback
    callbacks = [0]
    stop_senders = threading.Event()
    sent_by = [0] * 8
    errors: list[BaseException] = []

    def on_async(a: uvffi.Async) -> None:
        callbacks[0] += 1
        with lock:
            observed[0] = seq[0]

    a = uvffi.Async(loop, on_async)

    def sender(n: int) -> None:
        try:
            while not stop_senders.is_set():
                with lock:
                    seq[0] += 1
                    a.send()
                sent_by[n] += 1
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=sender, args=(n,)) for n in range(8)]
    deadline = time.monotonic() + SECONDS + 30

    def check(t: uvffi.Timer) -> None:
        if time.monotonic() > deadline:
            loop.stop()
        elif stop_senders.is_set() and not any(th.is_alive() for th in threads) and observed[0] == seq[0]:
            t.close()
            a.close()

    def end_sending(t: uvffi.Timer) -> None:
        stop_senders.set()
        t.close()

    uvffi.Timer(loop).start(check, 0.01, 0.01)
    uvffi.Timer(loop).start(end_sending, SECONDS, 0)
    for t in threads:
        t.start()
    loop.run()
    stop_senders.set()
    for t in threads:
        t.join(10)
    loop.close()
    assert not errors, errors
    total = sum(sent_by)
    assert total == seq[0] and total > 0
    # The last send was followed by a callback that saw it.
    assert observed[0] == seq[0]
    assert 1 <= callbacks[0] <= total


def test_ten_thousand_work_items_with_cancels_in_flight(loop):
    n = 10_000
    statuses: dict[int, list] = {i: [] for i in range(n)}
    cancelled: set[int] = set()
    ran = [0]
    count_lock = threading.Lock()

    def work() -> None:
        time.sleep(0.0002)
        with count_lock:
            ran[0] += 1

    reqs = []
    for i in range(n):
        reqs.append(loop.queue_work(work, statuses[i].append))
        # Cancel every other one while the pool is working through the queue:
        # some already run or ran (cancel() False), the rest are cancelled.
        j = i - 20
        if j >= 0 and j % 2 == 0 and reqs[j].cancel():
            cancelled.add(j)
    del reqs
    loop.run()
    for i, st in statuses.items():
        assert len(st) == 1, (i, st)
        if i in cancelled:
            assert st == [errno.UV_ECANCELED]
        else:
            assert st == [None]
    assert ran[0] == n - len(cancelled)
    assert cancelled  # some were still queued


def test_async_closed_while_threads_send():
    # Senders race the close: every send either wakes the loop or raises
    # HandleClosedError; nothing touches the freed libuv handle.
    from uvffi.error import HandleClosedError

    for _ in range(20):
        loop = uvffi.Loop()
        a = uvffi.Async(loop, lambda h: None)
        outcomes: list[str] = []
        go = threading.Event()

        def sender(a: uvffi.Async = a, go: threading.Event = go, outcomes: list[str] = outcomes) -> None:
            go.wait()
            for _ in range(2000):
                try:
                    a.send()
                except HandleClosedError:
                    outcomes.append("closed")
                    return
            outcomes.append("done")

        threads = [threading.Thread(target=sender) for _ in range(4)]
        for t in threads:
            t.start()
        go.set()
        loop.run(uvffi.RUN_NOWAIT)
        a.close()
        loop.close()
        for t in threads:
            t.join(10)
        assert len(outcomes) == 4 and set(outcomes) <= {"closed", "done"}
        assert a.closed
