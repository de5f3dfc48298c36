"""Regression tests for crashes, hangs and leaks found by the reliability work
(tests/test_stateful.py, scripts/asan, scripts/soak). Each one that could hang
runs in a child process with a timeout, so a regression fails instead of
blocking the suite."""

from __future__ import annotations

import subprocess
import sys
import textwrap


def run_child(code: str, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run ``code`` in a fresh interpreter; a hang or a crash fails the caller."""
    proc = subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=timeout, check=False)
    assert proc.returncode == 0, f"child exited {proc.returncode}:\n{proc.stdout}\n{proc.stderr}"
    return proc


def test_close_with_work_in_flight_does_not_deadlock():
    # Loop.close() used to close the internal prepare handle that releases the GIL
    # before poll, then run the loop for the queued work: the pool thread waited
    # for the GIL held by the loop thread, for ever.
    proc = run_child("""
        import uvffi
        for i in range(20):
            loop = uvffi.Loop()
            done = []
            for _ in range(5):
                loop.queue_work(lambda: None, done.append)
            loop.close()
            assert done == [None] * 5, done
        print("ok")
    """)
    assert proc.stdout.strip() == "ok"


def test_close_runs_done_callbacks_that_queue_more_work():
    proc = run_child("""
        import uvffi
        loop = uvffi.Loop()
        seen = []
        def done(err):
            seen.append(err)
            if len(seen) < 3:
                loop.queue_work(lambda: None, done)
        loop.queue_work(lambda: None, done)
        loop.close()
        assert seen == [None, None, None], seen
        print("ok")
    """)
    assert proc.stdout.strip() == "ok"


def test_subclass_del_without_super_does_not_leave_a_dangling_pointer():
    # C borrows an inactive handle's Python object; a subclass __del__ that did not
    # call super().__del__() left C pointing at freed memory: loop.handles and
    # Loop.close() then crashed the interpreter.
    proc = run_child("""
        import gc, uvffi
        loop = uvffi.Loop()
        deleted = []
        class T(uvffi.Timer):
            def __del__(self):
                deleted.append(1)
        class C(uvffi.Check):
            def __del__(self):
                deleted.append(2)
                super().__del__()
        for _ in range(100):
            T(loop); C(loop)
        gc.collect()
        junk = [object() for _ in range(10000)]
        assert loop.handles == [], loop.handles
        loop.run()
        loop.close()
        assert sorted(set(deleted)) == [1, 2] and len(deleted) == 200
        print("ok")
    """)
    assert proc.stdout.strip() == "ok"


def test_huge_timeout_is_a_value_error(loop):
    import pytest

    import uvffi

    t = uvffi.Timer(loop)
    with pytest.raises(ValueError):
        t.start(lambda h: None, 1e30, 0)
    with pytest.raises(ValueError):
        t.start(lambda h: None, 0, 1e30)
    with pytest.raises(ValueError):
        t.repeat = 1e30
    t.start(lambda h: None, 1e9, 0)  # large but representable: fine
    assert t.active


def test_init_twice_is_refused():
    # A second __init__ orphaned the first libuv handle, still pointing at the
    # object: loop.handles crashed once the object was collected.
    proc = run_child("""
        import gc, uvffi
        loop = uvffi.Loop()
        for cls in (uvffi.Timer, uvffi.Check, uvffi.Prepare, uvffi.Idle, uvffi.Signal):
            h = cls(loop)
            try:
                h.__init__(loop)
            except RuntimeError:
                pass
            else:
                raise AssertionError("second __init__ accepted")
        a = uvffi.Async(loop, lambda a: None)
        try:
            a.__init__(loop, lambda a: None)
        except RuntimeError:
            pass
        else:
            raise AssertionError("second Async.__init__ accepted")
        a.close()
        del h, a
        gc.collect()
        junk = [object() for _ in range(10000)]
        loop.run()
        assert loop.handles == [], loop.handles
        loop.close()
        print("ok")
    """)
    assert proc.stdout.strip() == "ok"


def test_loop_init_twice_is_refused(loop):
    import pytest

    with pytest.raises(RuntimeError):
        loop.__init__()
    assert not loop.closed and loop.handles == []


def test_threads_sharing_a_loop_that_no_thread_runs():
    # cffi releases the GIL around every call: four threads starting and stopping
    # timers on one (not running) loop corrupted libuv's timer heap (segfault).
    proc = run_child("""
        import threading, uvffi
        loop = uvffi.Loop()
        def worker():
            ts = [uvffi.Timer(loop) for _ in range(50)]
            for i in range(20000):
                t = ts[i % 50]
                t.start(lambda h: None, 10 + (i % 7), 0)
                if i % 3:
                    t.stop()
                t.ref = bool(i % 2)
        threads = [threading.Thread(target=worker) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        loop.close()
        print("ok")
    """, timeout=120)
    assert proc.stdout.strip() == "ok"
