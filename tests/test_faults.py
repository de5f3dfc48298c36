"""Faults: exceptions from every kind of callback, BaseExceptions, Ctrl-C during a
blocked run() and during a long work_cb, fork with a live loop. The process stays
consistent and the loop stays usable."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

import uvffi


def collect_errors(loop):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(value)
    return seen


def test_exception_in_close_callback_goes_to_excepthook(loop):
    seen = collect_errors(loop)
    t = uvffi.Timer(loop)
    t.close(lambda h: 1 / 0)
    loop.run()
    assert [type(e) for e in seen] == [ZeroDivisionError]
    assert t.closed and loop.handles == []


def test_exception_in_done_cb_goes_to_excepthook(loop):
    seen = collect_errors(loop)
    loop.queue_work(lambda: None, lambda err: {}["missing"])
    loop.run()
    assert [type(e) for e in seen] == [KeyError]


def test_excepthook_raising_an_exception_is_reported_and_the_loop_goes_on(loop, capsys):
    def hook(typ, value, tb):
        raise RuntimeError("hook broke")

    loop.excepthook = hook
    fired = []
    uvffi.Timer(loop).start(lambda t: 1 / 0, 0, 0)
    uvffi.Timer(loop).start(lambda t: fired.append(1), 0.001, 0)
    loop.run()
    assert fired == [1]
    assert "hook broke" in capsys.readouterr().err


def test_excepthook_raising_base_exception_stops_run(loop):
    def hook(typ, value, tb):
        raise KeyboardInterrupt

    loop.excepthook = hook
    uvffi.Timer(loop).start(lambda t: 1 / 0, 0, 0)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    loop.excepthook = lambda *a: None
    fired = []
    uvffi.Timer(loop).start(lambda t: fired.append(1), 0, 0)
    loop.run()
    assert fired == [1]


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_base_exception_from_callbacks_stops_run_and_loop_stays_usable(loop, exc):
    def boom(*args):
        raise exc

    later = []
    uvffi.Timer(loop).start(boom, 0, 0)
    uvffi.Timer(loop).start(lambda t: later.append(1), 0.001, 0)
    with pytest.raises(exc):
        loop.run()
    loop.run()
    assert later == [1]
    # from a done_cb and from a close callback too
    loop.queue_work(lambda: None, boom)
    with pytest.raises(exc):
        loop.run()
    uvffi.Check(loop).close(boom)
    with pytest.raises(exc):
        loop.run()
    # (the fired timer may still be referenced by the traceback pytest keeps)
    assert not any(isinstance(h, uvffi.Check) or h.active for h in loop.handles)


def test_base_exception_from_close_callback_during_loop_close():
    # Every close callback runs; the BaseException then ends close()'s wait for pool
    # work (the loop stays open, closing); close() again finishes, done_cb once.
    loop = uvffi.Loop()
    closed = []
    uvffi.Timer(loop).start(lambda t: None, 10, 0)
    t2 = uvffi.Timer(loop)

    def cb(h):
        closed.append(h)
        raise KeyboardInterrupt

    t2.close(cb)
    loop.queue_work(lambda: time.sleep(0.05), closed.append)
    with pytest.raises(KeyboardInterrupt):
        loop.close()
    assert not loop.closed and len(closed) == 1
    loop.close()
    assert loop.closed and len(closed) == 2 and closed[1] is None


def child(code: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-c", textwrap.dedent(code)], stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE, text=True)


def test_ctrl_c_during_a_long_work_cb():
    proc = child("""
        import sys, time, uvffi
        loop = uvffi.Loop()
        done = []
        loop.queue_work(lambda: time.sleep(2), done.append)
        print("ready", flush=True)
        t0 = time.monotonic()
        try:
            loop.run()
        except KeyboardInterrupt:
            print("interrupted", round(time.monotonic() - t0, 2), flush=True)
        loop.close()          # waits for the work, runs done_cb
        assert done == [None], done
        print("closed", flush=True)
    """)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        out, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err
        lines = out.split()
        assert lines[0] == "interrupted" and float(lines[1]) < 1.9  # before the work ended
        assert lines[-1] == "closed"
    finally:
        if proc.poll() is None:
            proc.kill()


@pytest.mark.skipif(not hasattr(os, "fork"), reason="no fork on this platform")
def test_fork_with_a_live_loop():
    proc = child("""
        import os, uvffi
        loop = uvffi.Loop()
        fired = []
        uvffi.Timer(loop).start(lambda t: fired.append("before"), 0, 0)
        loop.run()
        keep = uvffi.Timer(loop)
        keep.start(lambda t: None, 100, 0)
        a = uvffi.Async(loop, lambda h: (fired.append("async"), h.close(), keep.close()))
        pid = os.fork()
        if pid == 0:
            done = []
            uvffi.Timer(loop).start(lambda t: done.append("child"), 0.001, 0)
            loop.queue_work(lambda: None, done.append)
            a.send()
            loop.run()
            loop.close()
            os._exit(0 if done == ["child", None] or done == [None, "child"] else 3)
        _, status = os.waitpid(pid, 0)
        assert os.waitstatus_to_exitcode(status) == 0, status
        a.send()
        loop.run()
        loop.close()
        assert fired == ["before", "async"], fired
        print("ok", flush=True)
    """)
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert out.strip() == "ok"
