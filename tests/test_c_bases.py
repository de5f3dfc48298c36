"""The C base classes of Handle and Loop (CPython, ``_bases.c``): the plain cases run in C,
everything else reaches the Python implementation, and misuse of their private attributes
raises or is ignored, never crashes."""

from __future__ import annotations

import gc
import threading
import traceback
import weakref

import pytest

import uvffi
from uvffi._core import CBASE, PYPY, C
from uvffi.error import LoopClosedError

pytestmark = pytest.mark.skipif(PYPY, reason="the C bases are CPython's; PyPy's are Python classes")


def test_handle_and_loop_derive_from_the_c_bases() -> None:
    assert issubclass(uvffi.Handle, C["HandleStorage"])
    assert issubclass(uvffi.Loop, C["LoopStorage"])
    if CBASE:
        assert uvffi.Loop.run is C["LoopOps"].__dict__["run"]


def test_new_handle_state_starts_as_the_python_defaults(loop) -> None:
    t = uvffi.Timer.__new__(uvffi.Timer)
    assert (t._ptr, t._loop, t._callback, t._close_cb, t._closed) == (None, None, None, None, False)
    lp = uvffi.Loop.__new__(uvffi.Loop)
    assert (lp._lp, lp._closed, lp._running, lp._threadsafe, lp._scheduler, lp._pending_exc) == (
        None, False, False, None, None, None)


def test_handle_init_in_c_sets_loop_callback_and_pointer(loop) -> None:
    def cb(a: object) -> None:
        pass

    a = uvffi.Async(loop, cb)
    assert a._loop is loop and a._callback is cb and a._ptr is not None and not a._closed
    a.close()


def test_handle_init_with_a_keyword_takes_the_python_path(loop) -> None:
    t = uvffi.Timer(loop, _arg=0)
    assert t._ptr is not None and t.loop is loop
    t.close()


def test_handle_init_errors_come_from_the_python_path(loop) -> None:
    with pytest.raises(TypeError, match="uvffi Loop"):
        uvffi.Timer(object())
    with pytest.raises(TypeError):
        uvffi.Timer()
    with pytest.raises(TypeError):
        uvffi.Timer(loop, None, None)
    t = uvffi.Timer(loop)
    with pytest.raises(RuntimeError, match="already initialised"):
        t.__init__(loop)
    closed = uvffi.Loop()
    closed.close()
    with pytest.raises(LoopClosedError):
        uvffi.Idle(closed)


def call_from_another_thread_while_running(loop, fn) -> None:
    """Run ``fn`` in another thread while ``loop`` runs on this one (inside an Idle callback)."""

    def cb(h: object) -> None:
        th = threading.Thread(target=fn)
        th.start()
        th.join()
        h.close()

    uvffi.Idle(loop).start(cb)
    loop.run()


def test_handle_init_on_another_threads_running_loop_raises(loop) -> None:
    errors: list = []

    def other() -> None:
        try:
            uvffi.Timer(loop)
        except RuntimeError as exc:
            errors.append(exc)

    call_from_another_thread_while_running(loop, other)
    assert len(errors) == 1
    assert loop.handles == []


def test_deleted_or_replaced_private_attributes_raise_or_are_ignored_not_crash(loop) -> None:
    t = uvffi.Timer(loop)
    del t._callback
    with pytest.raises(AttributeError):
        _ = t._callback
    del t._close_cb
    t.close()  # the C close callback finds no close callback: nothing to call
    loop.run()
    assert t.closed
    u = uvffi.Timer(loop)
    first = u._ptr
    del u._ptr  # the cffi pointer is made again from the C handle on the next read
    assert u._ptr == first
    u._ptr = None  # clears the cache only: _ptr is a view of the C handle
    assert u._ptr == first
    u.start(lambda h: None, 10, 0)
    u.stop()
    u.close()
    loop.run()
    assert u.closed and loop.handles == []
    v = uvffi.Timer(loop)
    v._ptr = None
    del v  # the finaliser goes by the C handle too: closed on the loop, no dangling pointer
    gc.collect()
    loop.run(uvffi.RUN_NOWAIT)
    assert loop.handles == []
    lp = uvffi.Loop()
    del lp._closed
    with pytest.raises(AttributeError):
        lp.run(uvffi.RUN_NOWAIT)
    lp._closed = False
    lp.close()


def test_foreign_value_in_ptr_raises_in_python_methods_only(loop) -> None:
    t = uvffi.Timer(loop)
    with pytest.raises(TypeError):
        t._ptr = 12345  # the C storage takes only its own kind of pointer
    t.close()
    loop.run()
    assert t._ptr is None and t.closed


def test_inactive_handle_in_a_cycle_through_its_callback_is_collected(loop) -> None:
    t = uvffi.Timer(loop)
    t.start(lambda h, me=t: None, 10, 0)  # the callback refers to the timer: a cycle
    t.stop()
    w = weakref.ref(t)
    del t
    gc.collect()
    assert w() is None
    loop.run(uvffi.RUN_NOWAIT)  # the graveyard closes it on the loop
    assert loop.handles == []


def test_run_modes_and_keywords_reach_the_python_checks(loop) -> None:
    assert loop.run(mode=uvffi.RUN_NOWAIT) is False
    with pytest.raises(ValueError, match="invalid mode"):
        loop.run(7)
    with pytest.raises(TypeError):
        loop.run("once")
    with pytest.raises(TypeError):
        loop.run(uvffi.RUN_NOWAIT, 1)
    with pytest.raises(TypeError):
        loop.run(bogus=1)


def test_run_of_a_running_loop_raises_in_c_path(loop) -> None:
    seen: list = []

    def cb(h: object) -> None:
        try:
            loop.run(uvffi.RUN_NOWAIT)
        except RuntimeError as exc:
            seen.append(exc)
        h.close()

    uvffi.Idle(loop).start(cb)
    loop.run(uvffi.RUN_NOWAIT)
    assert len(seen) == 1 and "already running" in str(seen[0])
    assert not loop._running


def test_run_of_a_closed_loop_raises() -> None:
    lp = uvffi.Loop()
    lp.close()
    with pytest.raises(LoopClosedError):
        lp.run(uvffi.RUN_NOWAIT)


def test_base_exception_in_a_callback_is_raised_from_the_c_run_with_its_traceback(loop) -> None:
    def boom(h: object) -> None:
        h.close()
        raise KeyboardInterrupt("from the callback")

    uvffi.Idle(loop).start(boom)
    with pytest.raises(KeyboardInterrupt, match="from the callback") as info:
        loop.run(uvffi.RUN_NOWAIT)
    assert "boom" in "".join(traceback.format_tb(info.value.__traceback__))
    assert loop._pending_exc is None and not loop._running
    loop.run()  # the close callback runs; the loop goes on working
    assert loop.handles == []


def test_base_exception_stops_a_default_run_in_another_thread() -> None:
    results: list = []

    def worker() -> None:
        lp = uvffi.Loop()

        def boom(h: object) -> None:
            raise SystemExit(3)

        uvffi.Idle(lp).start(boom)
        try:
            lp.run()
        except SystemExit as exc:
            results.append(exc.code)
        results.append(lp._running)
        lp.close()

    th = threading.Thread(target=worker)
    th.start()
    th.join(30)
    assert results == [3, False]


def test_loop_subclass_overriding_run_gets_every_call_and_super_works() -> None:
    calls: list = []

    class Traced(uvffi.Loop):
        def run(self, mode: int = uvffi.RUN_DEFAULT) -> bool:
            calls.append(mode)
            return super().run(mode)

    lp = Traced()
    assert lp.run(uvffi.RUN_NOWAIT) is False  # super(): the C method's plain case
    assert lp.run() is False  # main thread, default mode: on to the Python method (signal wakeup)
    lp.close()
    assert calls == [uvffi.RUN_NOWAIT, uvffi.RUN_DEFAULT]


def test_handle_subclass_with_its_own_del_still_releases_the_handle(loop) -> None:
    seen: list = []

    class Noted(uvffi.Timer):
        def __del__(self) -> None:
            seen.append("user")

    t = Noted(loop)
    del t
    gc.collect()
    assert seen == ["user"]
    loop.run(uvffi.RUN_NOWAIT)
    assert loop.handles == []


def test_closed_handle_survives_with_only_c_holding_it(loop) -> None:
    closed: list = []
    t = uvffi.Timer(loop)
    t.close(lambda h: closed.append(h._closed))
    w = weakref.ref(t)
    del t
    gc.collect()
    assert w() is not None  # C keeps it until the close callback
    loop.run()
    assert closed == [True]
    gc.collect()
    assert w() is None


def test_close_and_timer_start_are_c_methods_with_python_fallbacks() -> None:
    if not CBASE:
        pytest.skip("UVFFI_NO_CBASE=1: the Python methods only")
    assert uvffi.Timer.close is C["HandleOps"].__dict__["close"]
    assert uvffi.Timer.start is C["timer"].__dict__["start"]


def test_close_with_keyword_or_bad_callback_reaches_the_python_checks(loop) -> None:
    closed: list = []
    t = uvffi.Timer(loop)
    with pytest.raises(TypeError, match="callable"):
        t.close(42)  # type: ignore[arg-type]
    assert not t.closed
    t.close(callback=closed.append)
    loop.run()
    assert closed == [t]
    with pytest.raises(uvffi.error.HandleClosedError):
        t.close()


def test_timer_start_with_keywords_or_odd_numbers_reaches_the_python_path(loop) -> None:
    fired: list = []
    t = uvffi.Timer(loop)
    t.start(callback=fired.append, timeout=0, repeat=0)
    loop.run()
    t.start(fired.append, 0.0, False)  # a bool repeat: the Python conversion
    loop.run()
    assert fired == [t, t]
    with pytest.raises(TypeError):
        t.start(fired.append, 0)  # type: ignore[call-arg]
    t.close()
    with pytest.raises(uvffi.error.HandleClosedError):
        t.start(fired.append, 0, 0)


def test_timer_start_and_close_from_another_thread_while_running_raise(loop) -> None:
    errors: list = []
    t = uvffi.Timer(loop)

    def other() -> None:
        for call in (lambda: t.start(print, 1, 0), t.close):
            try:
                call()
            except RuntimeError as exc:
                errors.append(exc)

    call_from_another_thread_while_running(loop, other)
    assert len(errors) == 2 and not t.closed and not t.active
    t.close()
    loop.run()


def test_async_send_is_a_c_method_and_closed_sends_raise(loop) -> None:
    if CBASE:
        assert uvffi.Async.send is C["async"].__dict__["send"]
    fired: list = []
    a = uvffi.Async(loop, lambda h: (fired.append(h), h.close()))
    a.send()
    loop.run()
    assert fired == [a]
    with pytest.raises(uvffi.error.HandleClosedError):
        a.send()
    with pytest.raises(TypeError):
        a.send(1)  # type: ignore[call-arg]
