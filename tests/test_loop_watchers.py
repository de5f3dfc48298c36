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
