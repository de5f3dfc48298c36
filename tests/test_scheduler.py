"""uvffi.scheduler: Node's set_timeout / set_immediate / next_tick ordering (seed 003)."""

from __future__ import annotations

import gc
import threading
from typing import Any, List

import pytest

import uvffi
from uvffi import scheduler as S
from uvffi.error import LoopClosedError


def test_timeout_runs_with_args(loop: uvffi.Loop) -> None:
    out: List[Any] = []
    t = S.set_timeout(lambda a, b: out.append((a, b)), 1, "a", 2, loop=loop)
    assert isinstance(t, S.Timeout) and t.active and t.has_ref()
    loop.run()
    assert out == [("a", 2)]
    assert not t.active and not t.closed


def test_timeouts_fire_in_delay_then_creation_order(loop: uvffi.Loop) -> None:
    out: List[str] = []
    S.set_timeout(out.append, 20, "20", loop=loop)
    S.set_timeout(out.append, 5, "5a", loop=loop)
    S.set_timeout(out.append, 5, "5b", loop=loop)
    S.set_timeout(out.append, 0, "0", loop=loop)
    loop.run()
    assert out == ["0", "5a", "5b", "20"]


def test_delay_coercion_like_node(loop: uvffi.Loop) -> None:
    assert S.set_timeout(lambda: None, 0, loop=loop).delay == 1
    assert S.set_timeout(lambda: None, -5, loop=loop).delay == 1
    assert S.set_timeout(lambda: None, float("nan"), loop=loop).delay == 1
    assert S.set_timeout(lambda: None, 2**31, loop=loop).delay == 1
    assert S.set_timeout(lambda: None, 7.9, loop=loop).delay == 7
    with pytest.raises(TypeError):
        S.set_timeout(lambda: None, "10", loop=loop)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        S.set_timeout(42, 1, loop=loop)  # type: ignore[arg-type]
    loop.run()


def test_clear_timeout(loop: uvffi.Loop) -> None:
    out: List[int] = []
    t = S.set_timeout(out.append, 1, 1, loop=loop)
    S.clear_timeout(t)
    S.clear_timeout(t)  # twice is fine, as in Node
    S.clear_timeout(None)
    assert t.closed and not t.active
    loop.run()
    assert out == []
    with pytest.raises(TypeError):
        S.clear_timeout(object())  # type: ignore[arg-type]


def test_interval_until_cleared(loop: uvffi.Loop) -> None:
    out: List[int] = []

    def tick() -> None:
        out.append(len(out))
        if len(out) == 3:
            S.clear_interval(iv)

    iv = S.set_interval(tick, 1, loop=loop)
    assert iv.repeat
    loop.run()
    assert out == [0, 1, 2]


def test_unref_timeout_does_not_keep_loop_alive(loop: uvffi.Loop) -> None:
    out: List[str] = []
    t = S.set_timeout(out.append, 1, "ran", loop=loop).unref()
    assert not t.has_ref()
    assert loop.run() is False
    assert out == []
    assert t.ref() is t and t.has_ref()
    loop.run()
    assert out == ["ran"]


def test_ref_from_immediate_brings_timeout_back(loop: uvffi.Loop) -> None:
    # seed 003, "Leaving Timeouts Behind"
    out: List[str] = []
    timer_obj = S.set_timeout(lambda: out.append("will i run?"), loop=loop)
    timer_obj.unref()
    S.set_immediate(lambda: timer_obj.ref(), loop=loop)
    loop.run()
    assert out == ["will i run?"]


def test_refresh_restarts_a_fired_timeout(loop: uvffi.Loop) -> None:
    out: List[int] = []
    t = S.set_timeout(lambda: out.append(1), 1, loop=loop)
    loop.run()
    assert out == [1] and not t.active
    assert t.refresh() is t and t.active
    loop.run()
    assert out == [1, 1]
    t.close()
    t.refresh()  # a cleared timeout stays cleared
    assert not t.active
    loop.run()
    assert out == [1, 1]


def test_immediates_run_in_order_with_args(loop: uvffi.Loop) -> None:
    out: List[Any] = []
    imm = S.set_immediate(out.append, 1, loop=loop)
    S.set_immediate(out.append, 2, loop=loop)
    assert isinstance(imm, S.Immediate) and imm.pending and imm.has_ref()
    loop.run()
    assert out == [1, 2]
    assert not imm.pending


def test_immediate_queued_by_immediate_runs_next_iteration(loop: uvffi.Loop) -> None:
    out: List[str] = []
    iterations: List[int] = []
    p = uvffi.Prepare(loop)
    p.start(lambda h: iterations.append(1))
    p.ref = False

    def first() -> None:
        out.append(f"first@{len(iterations)}")
        S.set_immediate(lambda: out.append(f"second@{len(iterations)}"), loop=loop)

    S.set_immediate(first, loop=loop)
    loop.run()
    p.close()
    assert [s.split("@")[0] for s in out] == ["first", "second"]
    assert int(out[1].split("@")[1]) == int(out[0].split("@")[1]) + 1


def test_clear_immediate(loop: uvffi.Loop) -> None:
    out: List[int] = []
    a = S.set_immediate(out.append, 1, loop=loop)
    S.set_immediate(out.append, 2, loop=loop)
    S.clear_immediate(a)
    S.clear_immediate(a)
    S.clear_immediate(None)
    assert not a.pending
    loop.run()
    assert out == [2]


def test_unref_immediate_does_not_keep_loop_alive(loop: uvffi.Loop) -> None:
    out: List[int] = []
    imm = S.set_immediate(out.append, 1, loop=loop).unref()
    assert not imm.has_ref()
    assert loop.run() is False
    assert out == []
    imm.ref()
    loop.run()
    assert out == [1]


def test_immediate_does_not_block_on_far_timer(loop: uvffi.Loop) -> None:
    out: List[str] = []
    far = S.set_timeout(lambda: out.append("far"), 60_000, loop=loop)

    def imm() -> None:
        out.append("imm")
        far.close()

    S.set_immediate(imm, loop=loop)
    loop.run()  # returns at once: the Idle keeps poll from waiting 60 s
    assert out == ["imm"]


def test_from_poll_phase_immediate_before_timeout_every_time(loop: uvffi.Loop) -> None:
    for _ in range(50):
        out: List[str] = []

        def done(err: Any, out: List[str] = out) -> None:
            S.set_timeout(lambda: out.append("timeout"), 0, loop=loop)
            S.set_immediate(lambda: out.append("immediate"), loop=loop)

        loop.queue_work(lambda: None, done)
        loop.run()
        assert out == ["immediate", "timeout"]


def test_next_tick_runs_after_callback_before_others(loop: uvffi.Loop) -> None:
    out: List[str] = []

    def t1(h: uvffi.Timer) -> None:
        out.append("t1")
        S.next_tick(out.append, "tick1", loop=loop)
        out.append("t1 end")

    def t2(h: uvffi.Timer) -> None:
        out.append("t2")

    # two raw timers due in the same timers phase
    uvffi.Timer(loop).start(t1, 0.001, 0)
    uvffi.Timer(loop).start(t2, 0.001, 0)
    loop.run()
    assert out == ["t1", "t1 end", "tick1", "t2"]


def test_next_tick_after_every_kind_of_callback(loop: uvffi.Loop) -> None:
    out: List[str] = []

    def tick_after(name: str) -> Any:
        def cb(*args: Any) -> None:
            out.append(name)
            S.next_tick(out.append, name + "-tick", loop=loop)
        return cb

    check = uvffi.Check(loop)
    check.start(lambda h: (tick_after("check")(), h.stop()))
    idle = uvffi.Idle(loop)
    idle.start(lambda h: (tick_after("idle")(), h.stop()))
    loop.queue_work(lambda: None, tick_after("work-done"))
    a = uvffi.Async(loop, lambda h: (tick_after("async")(), h.close()))
    a.send()
    t = uvffi.Timer(loop)
    t.start(lambda h: (tick_after("timer")(), h.close(tick_after("close"))), 0.001, 0)
    S.set_immediate(tick_after("immediate"), loop=loop)
    S.set_timeout(tick_after("timeout"), 1, loop=loop)
    loop.call_soon_threadsafe(tick_after("threadsafe"))
    loop.run()
    names = [s for s in out if not s.endswith("-tick")]
    assert set(names) == {"check", "idle", "work-done", "async", "timer", "close", "immediate",
                          "timeout", "threadsafe"}
    for name in names:
        i = out.index(name)
        assert out[i + 1] == name + "-tick", out


def test_next_tick_queued_by_tick_runs_in_same_drain(loop: uvffi.Loop) -> None:
    out: List[str] = []

    def t(h: uvffi.Timer) -> None:
        out.append("timer")
        S.next_tick(lambda: (out.append("tick1"), S.next_tick(out.append, "tick2", loop=loop)), loop=loop)

    uvffi.Timer(loop).start(t, 0.001, 0)
    uvffi.Timer(loop).start(lambda h: out.append("timer2"), 0.001, 0)
    loop.run()
    assert out == ["timer", "tick1", "tick2", "timer2"]


def test_next_tick_outside_callback_runs_before_first_phase(loop: uvffi.Loop) -> None:
    out: List[str] = []
    uvffi.Timer(loop).start(lambda h: out.append("timer"), 0, 0)
    S.set_immediate(out.append, "immediate", loop=loop)
    S.next_tick(out.append, "tick", loop=loop)
    assert out == []
    loop.run()
    assert out[0] == "tick"
    assert sorted(out[1:]) == ["immediate", "timer"]


def test_next_tick_before_immediate_and_timeout_from_poll_phase(loop: uvffi.Loop) -> None:
    out: List[str] = []

    def done(err: Any) -> None:
        S.set_timeout(out.append, 0, "timeout", loop=loop)
        S.set_immediate(out.append, "immediate", loop=loop)
        S.next_tick(out.append, "nextTick", loop=loop)

    loop.queue_work(lambda: None, done)
    loop.run()
    assert out == ["nextTick", "immediate", "timeout"]


def test_next_tick_exception_goes_to_excepthook_and_rest_run(loop: uvffi.Loop) -> None:
    hooked: List[BaseException] = []
    loop.excepthook = lambda t, v, tb: hooked.append(v)  # type: ignore[method-assign]
    out: List[str] = []

    def t(h: uvffi.Timer) -> None:
        S.next_tick(lambda: 1 // 0, loop=loop)
        S.next_tick(out.append, "second", loop=loop)

    uvffi.Timer(loop).start(t, 0, 0)
    loop.run()
    assert len(hooked) == 1 and isinstance(hooked[0], ZeroDivisionError)
    assert out == ["second"]


def test_immediate_exception_goes_to_excepthook_and_rest_run(loop: uvffi.Loop) -> None:
    hooked: List[BaseException] = []
    loop.excepthook = lambda t, v, tb: hooked.append(v)  # type: ignore[method-assign]
    out: List[int] = []
    S.set_immediate(lambda: 1 // 0, loop=loop)
    S.set_immediate(out.append, 2, loop=loop)
    loop.run()
    assert len(hooked) == 1 and out == [2]


def test_base_exception_in_immediate_stops_run_and_rest_run_later(loop: uvffi.Loop) -> None:
    out: List[int] = []

    def boom() -> None:
        raise KeyboardInterrupt

    S.set_immediate(boom, loop=loop)
    S.set_immediate(out.append, 2, loop=loop)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert out == []
    loop.run()
    assert out == [2]


def test_scheduler_handles_are_hidden_and_loop_ends(loop: uvffi.Loop) -> None:
    S.set_immediate(lambda: None, loop=loop)
    t = S.set_timeout(lambda: None, 1, loop=loop)
    assert loop.handles == []
    loop.run()
    assert not loop.alive
    del t
    gc.collect()


def test_default_loop_when_loop_is_none() -> None:
    loop = uvffi.Loop.default_loop()
    out: List[str] = []
    S.set_timeout(out.append, 1, "t")
    S.set_immediate(out.append, "i")
    S.next_tick(out.append, "n")
    loop.run()
    assert out[0] == "n" and sorted(out) == ["i", "n", "t"]


def test_closed_loop_and_wrong_thread(loop: uvffi.Loop) -> None:
    other = uvffi.Loop()
    other.close()
    with pytest.raises(LoopClosedError):
        S.set_timeout(lambda: None, 1, loop=other)
    with pytest.raises(LoopClosedError):
        S.set_immediate(lambda: None, loop=other)
    with pytest.raises(LoopClosedError):
        S.next_tick(lambda: None, loop=other)
    with pytest.raises(TypeError):
        S.next_tick(lambda: None, loop="loop")  # type: ignore[arg-type]

    errors: List[BaseException] = []

    def from_thread() -> None:
        for fn in (lambda: S.next_tick(print, loop=loop), lambda: S.set_immediate(print, loop=loop),
                   lambda: S.set_timeout(print, 1, loop=loop)):
            try:
                fn()
            except RuntimeError as exc:
                errors.append(exc)
        stop.send()

    stop = uvffi.Async(loop, lambda h: h.close())
    uvffi.Timer(loop).start(lambda h: threading.Thread(target=from_thread).start(), 0, 0)
    loop.run()
    assert len(errors) == 3


def test_close_loop_with_pending_scheduler_work() -> None:
    loop = uvffi.Loop()
    out: List[str] = []
    S.set_immediate(out.append, "i", loop=loop)
    t = S.set_timeout(out.append, 1000, "t", loop=loop)
    loop.close()
    assert out == [] and t.closed
