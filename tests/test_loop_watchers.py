"""Prepare, Check and Idle: once per iteration, in their phase."""

from __future__ import annotations

import pytest

import uvffi
from uvffi.error import HandleClosedError


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
def test_watcher_callback_gets_the_handle_each_iteration(loop, cls):
    seen = []
    w = cls(loop)
    w.start(seen.append)
    keep = uvffi.Idle(loop)  # keeps poll from blocking so Check runs too
    keep.start(lambda h: None)
    for _ in range(3):
        loop.run(uvffi.RUN_NOWAIT)
    assert seen == [w, w, w]
    w.close()
    keep.close()
    loop.run()


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
def test_stopped_watcher_is_not_called(loop, cls):
    seen = []
    w = cls(loop)
    w.start(seen.append)
    w.stop()
    loop.run(uvffi.RUN_NOWAIT)
    assert seen == []
    assert not w.active


def test_phases_run_in_libuv_order(loop):
    order = []
    t, i, p, c = uvffi.Timer(loop), uvffi.Idle(loop), uvffi.Prepare(loop), uvffi.Check(loop)
    t.start(lambda h: order.append("timer"), 0, 0)
    i.start(lambda h: order.append("idle"))
    p.start(lambda h: order.append("prepare"))

    def on_check(h):
        order.append("check")
        for handle in (t, i, p, c):
            handle.close()

    c.start(on_check)
    loop.run()
    assert order == ["timer", "idle", "prepare", "check"]


def test_active_idle_keeps_the_loop_spinning(loop):
    n = []

    def cb(h):
        n.append(1)
        if len(n) == 100:
            h.stop()

    uvffi.Idle(loop).start(cb)
    loop.run()
    assert len(n) == 100


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
def test_non_callable_raises_type_error(loop, cls):
    with pytest.raises(TypeError):
        cls(loop).start("nope")


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
def test_start_on_closed_watcher_raises(loop, cls):
    w = cls(loop)
    w.close()
    with pytest.raises(HandleClosedError):
        w.start(lambda h: None)


# -- several watchers of one phase (on PyPy one hook runs a phase's callbacks: trampoline.c) --

def _watchers(loop, cls, n, cb):
    ws = [cls(loop) for _ in range(n)]
    for w in ws:
        w.start(cb)
    return ws


def _one_iteration(loop, *handles):
    """One non-blocking iteration (an Idle keeps the check phase from waiting), then close all."""
    keep = uvffi.Idle(loop)
    keep.start(lambda h: None)
    loop.run(uvffi.RUN_NOWAIT)
    keep.close()
    for h in handles:
        if not h.closed:
            h.close()
    loop.run()


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
@pytest.mark.parametrize("how", ["stop", "close"])
def test_watcher_stopped_by_an_earlier_callback_of_its_phase_is_not_called(loop, cls, how):
    """libuv runs the newest watcher first and skips one stopped (or closed) during the phase."""
    seen = []
    ws = []

    def cb(h):
        seen.append(ws.index(h))
        if h is ws[3]:
            getattr(ws[1], how)()

    ws.extend(_watchers(loop, cls, 4, cb))
    _one_iteration(loop, *ws)
    assert seen == [3, 2, 0]


@pytest.mark.parametrize("cls", [uvffi.Prepare, uvffi.Check, uvffi.Idle])
def test_watcher_started_or_restarted_during_its_phase_waits_for_the_next_iteration(loop, cls):
    seen = []
    ws = []
    late = cls(loop)

    def cb(h):
        seen.append(ws.index(h) if h in ws else "late")
        if h is ws[2]:
            ws[0].stop()
            ws[0].start(cb)  # restarted: libuv puts it back at the front, not in this phase
            late.start(cb)

    ws.extend(_watchers(loop, cls, 3, cb))
    _one_iteration(loop, late, *ws)
    assert seen == [2, 1]


def test_phases_of_many_watchers_keep_libuv_order(loop):
    seen = []
    made = {}

    def cb(h):
        name = type(h).__name__
        seen.append((name, made[name].index(h)))

    for cls in (uvffi.Check, uvffi.Prepare, uvffi.Idle):
        made[cls.__name__] = _watchers(loop, cls, 3, cb)
    _one_iteration(loop, *[w for ws in made.values() for w in ws])
    assert seen == [(k, i) for k in ("Idle", "Prepare", "Check") for i in (2, 1, 0)]


def test_next_tick_from_a_watcher_runs_before_the_next_watcher_of_its_phase(loop):
    from uvffi import scheduler

    seen = []

    def cb(h):
        i = ws.index(h)
        seen.append(i)
        scheduler.next_tick(seen.append, f"tick{i}", loop=loop)

    ws = _watchers(loop, uvffi.Check, 3, cb)
    _one_iteration(loop, *ws)
    assert seen == [2, "tick2", 1, "tick1", 0, "tick0"]


def test_watcher_exceptions_go_to_the_excepthook_and_the_phase_goes_on(loop):
    seen, errors = [], []
    loop.excepthook = lambda t, v, tb: errors.append(v)

    def cb(h):
        seen.append(ws.index(h))
        raise ValueError(ws.index(h))

    ws = _watchers(loop, uvffi.Check, 3, cb)
    _one_iteration(loop, *ws)
    assert seen == [2, 1, 0] and [e.args for e in errors] == [(2,), (1,), (0,)]


def test_keyboard_interrupt_in_a_watcher_stops_the_loop_after_its_phase(loop):
    """As for one hop per handle: the phase's other callbacks still run, then run() raises."""
    seen = []

    def cb(h):
        seen.append(ws.index(h))
        if h is ws[1]:
            raise KeyboardInterrupt

    ws = _watchers(loop, uvffi.Check, 3, cb)
    keep = uvffi.Idle(loop)
    keep.start(lambda h: None)
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert seen == [2, 1, 0]
    for h in ws + [keep]:
        h.close()
    loop.run()
