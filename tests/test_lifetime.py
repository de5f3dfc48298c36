"""Handle lifetimes: what keeps a handle alive, what frees it, and no crash either way."""

from __future__ import annotations

import gc
import weakref

import pytest

import uvffi
from uvffi.error import HandleClosedError


def test_active_timer_fires_though_every_reference_is_dropped(loop):
    seen = []

    def start():
        uvffi.Timer(loop).start(lambda h: seen.append(type(h).__name__), 0.001, 0)

    start()
    gc.collect()
    loop.run()
    assert seen == ["Timer"]


def test_active_check_survives_dropped_references(loop):
    seen = []

    def start():
        uvffi.Check(loop).start(lambda h: (seen.append(1), h.close()))

    start()
    gc.collect()
    idle = uvffi.Idle(loop)
    idle.start(lambda h: h.close() if seen else None)
    loop.run()
    assert seen == [1]


def test_inactive_unreferenced_handle_is_collected(loop):
    ref = weakref.ref(uvffi.Timer(loop))
    gc.collect()
    assert ref() is None
    loop.run()  # the abandoned libuv handle is closed here
    assert loop.handles == []


def test_inactive_handle_in_a_reference_cycle_is_collected(loop):
    t = uvffi.Check(loop)
    t.me = t
    t.start(lambda h: None)
    t.stop()
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None


def test_fired_one_shot_timer_is_released(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 0, 0)
    loop.run()
    ref = weakref.ref(t)
    del t
    gc.collect()
    assert ref() is None


def test_closing_handle_lives_until_its_close_callback(loop):
    closed = []

    def close_it():
        uvffi.Timer(loop).close(lambda h: closed.append(type(h).__name__))

    close_it()
    gc.collect()
    loop.run()
    assert closed == ["Timer"]


def test_close_callback_runs_exactly_once(loop):
    closed = []
    t = uvffi.Timer(loop)
    t.close(closed.append)
    with pytest.raises(HandleClosedError):
        t.close(closed.append)
    loop.run()
    loop.run()
    assert closed == [t]


def test_handle_closed_inside_its_own_callback(loop):
    seen = []

    def cb(h):
        h.close(lambda h: seen.append("closed"))
        seen.append("cb")

    t = uvffi.Timer(loop)
    t.start(cb, 0, 0.001)
    loop.run()
    assert seen == ["cb", "closed"]


def test_many_dropped_inactive_handles_are_freed(loop):
    for _ in range(2000):
        uvffi.Timer(loop)
        uvffi.Idle(loop)
    gc.collect()
    loop.run()
    assert loop.handles == []


def test_handles_subclass_and_take_attributes(loop):
    class MyTimer(uvffi.Timer):
        def __init__(self, loop, tag):
            super().__init__(loop)
            self.tag = tag

    seen = []
    t = MyTimer(loop, "x")
    t.extra = 5
    t.start(lambda h: seen.append((h.tag, h.extra)), 0, 0)
    loop.run()
    assert seen == [("x", 5)]


def test_loops_subclass_and_take_attributes():
    class MyLoop(uvffi.Loop):
        pass

    with MyLoop() as loop:
        loop.data = 1
        assert loop.data == 1


def test_dropping_a_loop_with_inactive_handles_frees_it():
    loop = uvffi.Loop()
    uvffi.Timer(loop)
    ref = weakref.ref(loop)
    del loop
    for _ in range(3):  # PyPy finalizes in order: the timer in one collection, its loop in the next
        gc.collect()
    assert ref() is None


def test_handle_of_closed_loop_raises_not_crashes():
    loop = uvffi.Loop()
    t = uvffi.Timer(loop)
    loop.close()
    for op in (lambda: t.start(lambda h: None, 0, 0), t.stop, t.close, lambda: setattr(t, "ref", False)):
        with pytest.raises(HandleClosedError):
            op()
    assert t.closed and not t.active and not t.ref
