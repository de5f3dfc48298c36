"""Timer: pyuv's units (seconds), repeat, again, due_in, bad input."""

from __future__ import annotations

import math

import pytest

import uvffi
from uvffi.error import HandleClosedError, TimerError


def test_one_shot_timer_fires_once_with_the_handle(loop):
    seen = []
    t = uvffi.Timer(loop)
    t.start(seen.append, 0.001, 0)
    loop.run()
    assert seen == [t]
    assert not t.active


def test_timeout_is_in_seconds(loop):
    t = uvffi.Timer(loop)
    fired = []
    t.start(lambda h: fired.append(loop.now()), 0.05, 0)
    start = loop.now()
    loop.run()
    assert fired[0] - start >= 49


def test_repeating_timer_fires_until_stopped(loop):
    count = []

    def cb(h):
        count.append(1)
        if len(count) == 3:
            h.stop()

    t = uvffi.Timer(loop)
    t.start(cb, 0, 0.001)
    loop.run()
    assert len(count) == 3
    assert not t.active


def test_repeat_property_is_in_seconds(loop):
    t = uvffi.Timer(loop)
    t.repeat = 0.25
    assert t.repeat == 0.25


def test_again_restarts_a_repeating_timer(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 10, 0.5)
    t.again()
    assert t.active
    assert 0.4 < t.due_in <= 0.5
    t.close()


def test_again_on_a_never_started_timer_raises_timer_error(loop):
    t = uvffi.Timer(loop)
    with pytest.raises(TimerError):
        t.again()


def test_due_in_counts_down_in_seconds(loop):
    t = uvffi.Timer(loop)
    t.start(lambda h: None, 2.0, 0)
    assert 1.9 < t.due_in <= 2.0
    t.stop()
    assert t.due_in == 0.0


def test_restart_replaces_callback(loop):
    seen = []
    t = uvffi.Timer(loop)
    t.start(lambda h: seen.append("old"), 0, 0)
    t.start(lambda h: seen.append("new"), 0, 0)
    loop.run()
    assert seen == ["new"]


@pytest.mark.parametrize("bad", [-1, -0.001, math.nan, math.inf])
def test_bad_timeouts_raise_value_error(loop, bad):
    t = uvffi.Timer(loop)
    with pytest.raises(ValueError):
        t.start(lambda h: None, bad, 0)
    with pytest.raises(ValueError):
        t.start(lambda h: None, 0, bad)


@pytest.mark.parametrize("bad", ["1", None, [1]])
def test_non_numeric_timeouts_raise_type_error(loop, bad):
    with pytest.raises(TypeError):
        uvffi.Timer(loop).start(lambda h: None, bad, 0)


def test_non_callable_raises_type_error(loop):
    with pytest.raises(TypeError):
        uvffi.Timer(loop).start(42, 0, 0)


def test_start_after_close_raises_handle_closed_error(loop):
    t = uvffi.Timer(loop)
    t.close()
    with pytest.raises(HandleClosedError):
        t.start(lambda h: None, 0, 0)
    loop.run()
    with pytest.raises(HandleClosedError):
        t.stop()


def test_timer_closed_by_another_timer_in_same_phase_does_not_fire(loop):
    seen = []
    a, b = uvffi.Timer(loop), uvffi.Timer(loop)
    a.start(lambda h: (seen.append("a"), b.close()), 0.001, 0)
    b.start(lambda h: seen.append("b"), 0.001, 0)
    loop.run()
    assert seen == ["a"]


def test_sub_millisecond_timeout_becomes_one_millisecond_with_pyuvs_warning(loop):
    t = uvffi.Timer(loop)
    with pytest.warns(RuntimeWarning, match="sub-millisecond accuracy, setting timeout to 1ms"):
        t.start(lambda h: None, 0.0001, 0)
    assert t.due_in == 0.001
    with pytest.warns(RuntimeWarning, match="setting repeat to 1ms"):
        t.repeat = 0.0005
    assert t.repeat == 0.001
    t.close()
