"""The CPython fast paths (uvffi._ffi.fast) take plain arguments and decline the rest,
so that the ordinary path raises exactly as before."""

from __future__ import annotations

import pytest

import uvffi
from uvffi._ffi import PYPY, fast
from uvffi.error import HandleClosedError

pytestmark = pytest.mark.skipif(PYPY, reason="the fast paths are CPython's; PyPy uses cffi only")


def test_fast_paths_are_installed_on_cpython() -> None:
    assert {"handle_new", "timer_start", "watcher_start", "handle_stop", "handle_close", "run",
            "work_queue"} <= set(fast)


def test_fast_timer_start_accepts_plain_numbers_and_declines_others(loop) -> None:
    t = uvffi.Timer(loop)
    def cb(h: object) -> None:
        pass

    t._callback = cb  # what Timer.start does after the C call: keep the callable alive
    assert fast["timer_start"](t._ptr, cb, 0.5, 0) is None
    assert t.active
    for timeout in ("1", None, True, float("nan"), float("inf"), -1, 10**30):
        assert fast["timer_start"](t._ptr, cb, timeout, 0) is NotImplemented
    assert fast["timer_start"](None, cb, 0, 0) is NotImplemented
    assert fast["timer_start"](t._ptr, 42, 0, 0) is NotImplemented
    assert fast["handle_stop"](t._ptr) is None
    assert not t.active
    t.close()


def test_fast_paths_decline_pointers_of_the_wrong_type(loop) -> None:
    t = uvffi.Timer(loop)
    assert fast["timer_start"](loop._lp, t.close, 0, 0) is NotImplemented
    assert fast["handle_close"](loop._lp) is NotImplemented
    assert fast["run"](t._ptr, uvffi.RUN_NOWAIT) is NotImplemented
    assert fast["handle_new"](t._ptr, 1, t, None) is NotImplemented
    assert fast["work_queue"](t._ptr, t) is NotImplemented
    c = uvffi.Check(loop)
    assert fast["watcher_start"](t._ptr, print) is NotImplemented  # a timer is no loop watcher
    assert fast["timer_start"](c._ptr, print, 0, 0) is NotImplemented  # a check is no timer


def test_declined_arguments_raise_as_the_ordinary_path_does(loop) -> None:
    t = uvffi.Timer(loop)
    with pytest.raises(TypeError):
        t.start(lambda h: None, "1", 0)
    with pytest.raises(ValueError):
        t.start(lambda h: None, float("nan"), 0)
    with pytest.raises(ValueError, match="too large"):
        t.start(lambda h: None, 10**30, 0)
    with pytest.raises(TypeError):
        t.start(42, 0, 0)
    t.start(lambda h: None, True, 0)  # a bool is an int: 1 second, as before
    assert t.active
    t.close()
    with pytest.raises(HandleClosedError):
        t.start(lambda h: None, 0, 0)
    with pytest.raises(HandleClosedError):
        t.stop()
    with pytest.raises(HandleClosedError):
        t.close()


def test_closing_handle_started_again_reports_closed(loop) -> None:
    t = uvffi.Timer(loop)
    ptr = t._ptr
    t.close()
    # The Python object knows it is closed; the C guard agrees while libuv closes it.
    assert fast["timer_start"](ptr, t.close, 0, 0) == uvffi.lib.UVFFI_ECLOSED
    loop.run()
    assert t._ptr is None


def test_work_queued_from_a_late_phase_still_completes_in_run_default(loop) -> None:
    """Work queued from a callback is handed to the pool in the prepare phase; queued after
    it (check phase) with nothing else left alive, run(RUN_DEFAULT) must still go on until
    done_cb has run."""
    out = []
    idle = uvffi.Idle(loop)  # keeps the first poll from blocking, so the check runs
    idle.start(lambda h: None)

    def check_cb(h: uvffi.Check) -> None:
        h.stop()
        idle.stop()
        loop.queue_work(lambda: out.append("work"), lambda err: out.append(("done", err)))

    c = uvffi.Check(loop)
    c.start(check_cb)
    loop.run()
    assert out == ["work", ("done", None)]


def test_work_queued_in_run_nowait_is_submitted_before_run_returns(loop) -> None:
    out = []
    queued = []

    def idle_cb(h: uvffi.Idle) -> None:
        h.stop()
        queued.append(loop.queue_work(lambda: out.append("work"), lambda err: out.append("done")))

    i = uvffi.Idle(loop)
    i.start(idle_cb)
    assert loop.run(uvffi.RUN_NOWAIT) is True  # the work keeps the loop alive
    assert queued[0].pending
    loop.run()
    assert out == ["work", "done"]
    assert not queued[0].pending


def test_many_work_items_queued_in_one_callback_run_in_order_and_all_complete(loop) -> None:
    done = []

    def idle_cb(h: uvffi.Idle) -> None:
        h.stop()
        for k in range(50):
            loop.queue_work(lambda: None, lambda err, k=k: done.append(k))

    i = uvffi.Idle(loop)
    i.start(idle_cb)
    loop.run()
    assert sorted(done) == list(range(50))
