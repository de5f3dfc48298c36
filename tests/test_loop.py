"""Loop: running, modes, time, errors from callbacks, re-entrancy, closing."""

from __future__ import annotations

import threading
import time

import pytest

import uvffi
from uvffi.error import HandleClosedError, LoopClosedError


def test_run_with_nothing_to_do_returns_false(loop):
    assert loop.run() is False


def test_run_nowait_returns_true_while_handles_are_active(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 10, 0)
    assert loop.run(uvffi.RUN_NOWAIT) is True
    t.close()


def test_run_mode_constants_match_pyuv_names():
    assert (uvffi.UV_RUN_DEFAULT, uvffi.UV_RUN_ONCE, uvffi.UV_RUN_NOWAIT) == (0, 1, 2)
    assert uvffi.RUN_ONCE == uvffi.UV_RUN_ONCE


@pytest.mark.parametrize("bad", [3, -1])
def test_bad_run_mode_raises_value_error(loop, bad):
    with pytest.raises(ValueError):
        loop.run(bad)


def test_non_int_run_mode_raises_type_error(loop):
    with pytest.raises(TypeError):
        loop.run("once")


def test_now_is_in_milliseconds_and_update_time_advances_it(loop):
    before = loop.now()
    time.sleep(0.02)
    loop.update_time()
    assert isinstance(before, int)
    assert loop.now() - before >= 19


def test_stop_ends_run_after_the_current_iteration(loop):
    n = []

    def cb(h):
        n.append(1)
        loop.stop()

    i = uvffi.Idle(loop)
    i.start(cb)
    loop.run()
    assert n == [1]
    i.close()


def test_alive_reflects_active_referenced_handles(loop):
    assert not loop.alive
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 1, 0)
    assert loop.alive
    t.ref = False
    assert not loop.alive
    t.close()


def test_unreferenced_handle_does_not_keep_run_going(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 100, 0)
    t.ref = False
    assert t.ref is False
    assert loop.run() is False
    t.close()


def test_get_timeout_is_in_seconds(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 5, 0)
    loop.run(uvffi.RUN_NOWAIT)
    assert 4.9 < loop.get_timeout() <= 5.0
    t.close()


def test_fileno_is_the_backend_fd(loop):
    assert loop.fileno() >= 0


def test_default_loop_is_a_singleton():
    assert uvffi.Loop.default_loop() is uvffi.Loop.default_loop()
    assert uvffi.Loop.default_loop().default


def test_exception_in_callback_goes_to_excepthook_and_loop_goes_on(loop):
    hooked, later = [], []
    loop.excepthook = lambda typ, value, tb: hooked.append((typ, str(value), tb is not None))

    def bad(h):
        raise ValueError("boom")

    uvffi.Timer(loop).start(bad, 0, 0)
    uvffi.Timer(loop).start(lambda h: later.append(1), 0.005, 0)
    loop.run()
    assert hooked == [(ValueError, "boom", True)]
    assert later == [1]


def test_default_excepthook_prints_traceback_to_stderr(loop, capsys):
    def bad(h):
        raise ValueError("printed")

    uvffi.Timer(loop).start(bad, 0, 0)
    loop.run()
    err = capsys.readouterr().err
    assert "Traceback" in err and "ValueError: printed" in err


def test_raising_excepthook_is_reported_and_loop_goes_on(loop, capsys):
    def hook(t, v, tb):
        raise RuntimeError("hook failed")

    loop.excepthook = hook
    after = []
    uvffi.Timer(loop).start(lambda h: 1 / 0, 0, 0)
    uvffi.Timer(loop).start(lambda h: after.append(1), 0.002, 0)
    loop.run()
    assert after == [1]
    assert "hook failed" in capsys.readouterr().err


@pytest.mark.parametrize("exc", [KeyboardInterrupt, SystemExit])
def test_base_exception_in_callback_stops_loop_and_is_reraised(loop, exc):
    later = []

    def bad(h):
        raise exc()

    uvffi.Timer(loop).start(bad, 0, 0)
    t = uvffi.Timer(loop)
    t.start(lambda h: later.append(1), 0.05, 0)
    with pytest.raises(exc):
        loop.run()
    assert later == []
    assert t.active


def test_loop_is_usable_after_a_base_exception(loop):
    uvffi.Timer(loop).start(lambda h: (_ for _ in ()).throw(KeyboardInterrupt), 0, 0)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    seen = []
    uvffi.Timer(loop).start(seen.append, 0, 0)
    loop.run()
    assert len(seen) == 1


def test_reentrant_run_of_same_loop_raises_runtime_error(loop):
    errors = []

    def cb(h):
        with pytest.raises(RuntimeError):
            loop.run()
        errors.append("raised")

    uvffi.Timer(loop).start(cb, 0, 0)
    loop.run()
    assert errors == ["raised"]


def test_running_another_loop_from_a_callback_works(loop):
    inner = uvffi.Loop()
    seen = []

    def outer_cb(h):
        uvffi.Timer(inner).start(lambda h2: seen.append("inner"), 0.001, 0)
        inner.run()
        seen.append("outer")

    uvffi.Timer(loop).start(outer_cb, 0, 0)
    loop.run()
    inner.close()
    assert seen == ["inner", "outer"]


def test_other_threads_run_while_loop_blocks(loop):
    ticks = []
    stop = threading.Event()

    def ticker():
        while not stop.is_set():
            ticks.append(1)
            time.sleep(0.001)

    th = threading.Thread(target=ticker)
    th.start()
    uvffi.Timer(loop).start(lambda h: None, 0.1, 0)
    loop.run()
    stop.set()
    th.join()
    assert len(ticks) >= 10


def test_handles_lists_open_handles(loop):
    t, c = uvffi.Timer(loop), uvffi.Check(loop)
    assert set(map(id, loop.handles)) == {id(t), id(c)}
    t.close()
    loop.run()
    assert [id(h) for h in loop.handles] == [id(c)]


def test_walk_calls_back_with_every_handle(loop):
    t = uvffi.Timer(loop)
    seen = []
    loop.walk(seen.append)
    assert seen == [t]


def test_close_closes_every_handle_and_runs_close_callbacks():
    loop = uvffi.Loop()
    closed = []
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 100, 0)
    a = uvffi.Async(loop, lambda h: None)
    a.close(closed.append)
    c = uvffi.Check(loop)
    loop.close()
    assert closed == [a]
    assert t.closed and c.closed
    with pytest.raises(HandleClosedError):
        t.start(lambda h: None, 0, 0)


def test_closed_loop_raises_on_use():
    loop = uvffi.Loop()
    loop.close()
    loop.close()  # closing again does nothing
    with pytest.raises(LoopClosedError):
        loop.run()
    with pytest.raises(LoopClosedError):
        uvffi.Timer(loop)
    with pytest.raises(LoopClosedError):
        loop.queue_work(lambda: None)
    with pytest.raises(LoopClosedError):
        loop.now()


def test_context_manager_closes_the_loop():
    with uvffi.Loop() as loop:
        uvffi.Timer(loop).start(lambda h: None, 0, 0)
    assert loop.closed


def test_close_from_inside_run_raises(loop):
    errors = []
    uvffi.Timer(loop).start(lambda h: errors.append(pytest.raises(RuntimeError, loop.close)), 0, 0)
    loop.run()
    assert len(errors) == 1


def test_handle_of_wrong_type_of_loop_raises_type_error():
    with pytest.raises(TypeError):
        uvffi.Timer(object())


def test_non_threadsafe_call_from_another_thread_raises(loop):
    t = uvffi.Timer(loop)
    result = []

    def other():
        try:
            t.start(lambda h: None, 0, 0)
        except RuntimeError as e:
            result.append(str(e))
        a.send()

    def on_async(h):
        h.close()
        keep.close()

    a = uvffi.Async(loop, on_async)
    keep = uvffi.Timer(loop)
    keep.start(lambda h: None, 30, 0)
    threads = []
    uvffi.Timer(loop).start(lambda h: threads.append(threading.Thread(target=other)) or threads[0].start(), 0, 0)
    loop.run()
    threads[0].join()
    assert result and "another thread" in result[0]
    assert not t.active
