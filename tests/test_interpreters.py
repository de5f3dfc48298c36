"""What differs between interpreters and libuv builds: CPython's C-API trampolines or PyPy's
extern "Python" hooks, the pinned libuv or an older system one."""

from __future__ import annotations

import contextlib
import gc
import platform
import re
import sys
import threading
import weakref

import pytest

import uvffi
from uvffi import errno, ffi, lib
from uvffi.error import require_libuv

PYPY = platform.python_implementation() == "PyPy"


def test_the_trampolines_match_the_interpreter():
    assert bool(lib.uvffi_is_pypy()) is PYPY
    assert uvffi._core.PYPY is PYPY
    if PYPY:  # every callback goes through the extern "Python" hooks
        assert "uvffi._core.pypy" in sys.modules


def test_c_holds_no_object_once_everything_closed(loop):
    """Whatever kept objects alive for C (Py_INCREF, or PyPy's keep dict) lets go of them."""
    seen = []
    timer, check, idle = uvffi.Timer(loop), uvffi.Check(loop), uvffi.Idle(loop)
    handles = [timer, check, idle, uvffi.Async(loop, seen.append)]

    def close_all(h):
        seen.append(h)
        for x in handles:
            x.close()

    timer.start(seen.append, 0, 0.001)
    check.start(seen.append)
    idle.start(close_all)
    handles[3].send()
    work = loop.queue_work(lambda: None, seen.append)
    refs = [weakref.ref(x) for x in handles + [work]]
    loop.run()
    assert idle in seen and None in seen  # the idle callback closed everything; done_cb(None)
    del timer, check, idle, work
    handles.clear()
    seen.clear()
    for _ in range(3):  # PyPy finalizes in dependency order, one step per collection
        gc.collect()
    assert [r() for r in refs] == [None] * len(refs)
    if PYPY:

        assert loop._kept == {}  # PyPy: the objects C keeps live in their loop's dict


def test_base_exception_from_a_hook_stops_the_loop(loop):
    def cb(h):
        raise KeyboardInterrupt

    uvffi.Timer(loop).start(cb, 0, 0.001)
    with pytest.raises(KeyboardInterrupt):
        loop.run()


def test_feature_newer_than_the_linked_libuv_raises_clearly():
    linked = re.escape(uvffi.LIBUV_VERSION)
    with pytest.raises(NotImplementedError, match=rf"needs libuv >= 99\.0\.0, .*libuv {linked}"):
        require_libuv((99, 0, 0), "loop.example()")
    require_libuv((1, 44, 0), "a feature of libuv 1.44")  # Debian 12's libuv has it: no error


def test_metrics_glue_follows_the_libuv_it_was_built_with(loop):
    out = ffi.new("uint64_t[3]")
    err = lib.uvffi_metrics_info(loop._lp, out)
    if lib.UV_VERSION_HEX >= 0x012D00:  # uv_metrics_info came in libuv 1.45
        assert err == 0
    else:
        assert err == errno.UV_ENOSYS


def interrupted_hook(hook, *args):
    """Call a PyPy hook as C would, with Ctrl-C landing on its first line (PyPy runs a pending
    signal handler at the next bytecode): return what cffi hands to the hook's onerror."""
    from uvffi._core import pypy as _pypy

    real = _pypy._resolve
    calls = []

    def resolve_then_interrupt(value):
        calls.append(value)
        if len(calls) == 1:
            raise KeyboardInterrupt
        return real(value)

    _pypy._resolve = resolve_then_interrupt
    try:
        try:
            hook(*args)
        except KeyboardInterrupt:
            typ, exc, tb = sys.exc_info()
    finally:
        _pypy._resolve = real
    return typ, exc, tb.tb_next  # cffi's traceback starts at the hook's frame


def hook_args(loop, timer):
    """The values C passes a hook on PyPy for ``timer``: its cffi handle's value, its loop's,
    and the C handle's address (0, unchecked, on CPython, where none is registered)."""
    keep, loop_keep = ffi.new_handle(timer), ffi.new_handle(loop)
    value, pyloop = int(ffi.cast("uintptr_t", keep)), int(ffi.cast("uintptr_t", loop_keep))
    h = int(ffi.cast("uintptr_t", timer._ptr)) if PYPY else 0
    return (keep, loop_keep), value, pyloop, h


def test_an_interrupted_hooks_onerror_routes_ctrl_c_and_leaves_the_work_to_the_next_call(loop):
    """A keep hook interrupted on its first line: onerror routes the KeyboardInterrupt (the
    loop stops, run() re-raises) and returns None, which cffi turns into the hook's 0: C
    calls the hook again."""
    from uvffi._core import pypy as _pypy

    timer = uvffi.Timer(loop)
    alive, value, pyloop, h = hook_args(loop, timer)
    assert _pypy._onerror(*interrupted_hook(_pypy._uvffi_py_keep, pyloop, value, h)) is None
    assert loop._pending_exc.__class__ is KeyboardInterrupt
    loop._pending_exc = None


def test_keep_hook_called_again_after_an_interruption_keeps_the_object(loop):
    from uvffi._core import pypy as _pypy

    timer = uvffi.Timer(loop)
    alive, value, pyloop, h = hook_args(loop, timer)
    interrupted_hook(_pypy._uvffi_py_keep, pyloop, value, h)
    assert _pypy._uvffi_py_keep(pyloop, value, h) == 1
    assert loop._kept[value] is timer
    assert _pypy._uvffi_py_release(pyloop, value) == 1
    assert value not in loop._kept


@pytest.mark.parametrize("kept", [0, 1], ids=["unkept", "kept"])
def test_closed_hook_called_again_after_an_interruption_closes_and_calls_back_once(loop, kept):
    """Kept (C held the object, as for every closing handle): the same hook also ends the
    keep, and a call after the one that finished finds nothing left to do."""
    from uvffi._core import pypy as _pypy

    closed = []
    timer = uvffi.Timer(loop)
    alive, value, pyloop, h = hook_args(loop, timer)
    if kept:
        loop._kept[value] = timer
    ptr = timer._ptr
    timer._close_cb = closed.append
    interrupted_hook(_pypy._uvffi_py_closed, pyloop, value, kept)
    assert closed == [] and (value in loop._kept) == bool(kept)
    assert _pypy._uvffi_py_closed(pyloop, value, kept) == 1
    assert value not in loop._kept
    assert _pypy._uvffi_py_closed(pyloop, value, kept) == 1  # idempotent: C may call more than once
    assert closed == [timer] and timer.closed
    if PYPY:  # Python storage (on CPython's C storage, _ptr is a view of the C handle)
        assert timer._ptr is None
    timer._closed = False  # the libuv handle is still open: let the loop close it
    if PYPY:
        timer._ptr = ptr
    timer.close()
    loop.run()


def test_done_hook_calls_done_cb_once_however_often_c_calls_it(loop):
    from uvffi._core import pypy as _pypy

    done = []
    req = loop.queue_work(lambda: None, done.append)
    loop.run()
    assert done == [None] and not req.pending
    alive = ffi.new_handle(req)
    value = int(ffi.cast("uintptr_t", alive))
    assert _pypy._uvffi_py_done(value, 0, 0) == 1
    assert _pypy._uvffi_py_done(value, 0, 1) == 1
    assert done == [None]


def test_done_hook_returns_0_when_done_cb_raises_so_c_calls_again(loop):
    """A done_cb's exception is routed (the excepthook), and the hook's 0 makes C call
    _salvage next, which finds nothing left to do and does not call done_cb again."""
    from uvffi._core import pypy as _pypy

    calls, seen = [], []

    def done_cb(err):
        calls.append(err)
        raise ValueError("from done_cb")

    loop.excepthook = lambda t, v, tb: seen.append(v)
    req = loop.queue_work(lambda: None)
    req._done_box = [done_cb]
    alive = ffi.new_handle(req)
    value = int(ffi.cast("uintptr_t", alive))
    req._loop = loop
    assert _pypy._uvffi_py_done(value, 0, 0) == 0
    assert _pypy._uvffi_py_done(value, 0, 1) == 1
    assert calls == [None] and [type(v) for v in seen] == [ValueError]
    loop.run()


@contextlib.contextmanager
def interrupt_twice(hook):
    """Ctrl-C twice in a row, as a signal storm can deliver it: a KeyboardInterrupt raised at
    the first line of the next call of PyPy hook ``hook`` that C makes (its first call of
    ``_resolve``), then another at the first line of the onerror that cffi calls next (its
    first call of ``_try_resolve``); cffi prints both and returns the hook's error value.
    Yields the interruptions still to come (empty once both happened)."""
    from uvffi._core import pypy as _pypy

    real_resolve, real_try = _pypy._resolve, _pypy._try_resolve
    left = ["hook", "onerror"]

    def resolve(value):
        if left[:1] == ["hook"] and sys._getframe(1).f_code is hook.__code__:
            left.pop(0)
            raise KeyboardInterrupt
        return real_resolve(value)

    def try_resolve(value):
        if left[:1] == ["onerror"]:
            left.pop(0)
            raise KeyboardInterrupt
        return real_try(value)

    _pypy._resolve, _pypy._try_resolve = resolve, try_resolve
    try:
        yield left
    finally:
        _pypy._resolve, _pypy._try_resolve = real_resolve, real_try


pypy_only = pytest.mark.skipif(not PYPY, reason="PyPy's extern \"Python\" hooks: CPython's core is C")
cffi_prints = pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")  # the two Ctrl-Cs


@pypy_only
@cffi_prints
def test_done_cb_runs_when_ctrl_c_lands_in_the_done_hook_and_in_its_onerror(loop):
    from uvffi._core import pypy as _pypy

    done = []
    req = loop.queue_work(lambda: None, done.append)
    with interrupt_twice(_pypy._uvffi_py_done) as left:
        loop.run()
    assert left == []  # both interruptions happened
    assert done == [None] and not req.pending


@pypy_only
@cffi_prints
def test_close_callback_runs_when_ctrl_c_lands_in_the_closed_hook_and_in_its_onerror(loop):
    from uvffi._core import pypy as _pypy

    closed = []
    timer = uvffi.Timer(loop)
    timer.close(closed.append)
    with interrupt_twice(_pypy._uvffi_py_closed) as left:
        loop.run()
    assert left == []
    assert closed == [timer] and timer.closed and timer._ptr is None


@pypy_only
@cffi_prints
def test_started_handle_is_kept_when_ctrl_c_lands_in_the_keep_hook_and_in_its_onerror(loop):
    from uvffi._core import pypy as _pypy

    timer = uvffi.Timer(loop)
    timer.start(lambda t: None, 10, 10)  # Timer.start holds the object itself: no keep hook
    timer.stop()
    assert timer not in loop._kept.values()
    with interrupt_twice(_pypy._uvffi_py_keep) as left:
        timer.again()  # C's keep, through the hook
    assert left == []
    assert timer in loop._kept.values()
    timer.close()
    loop.run()


@pypy_only
@cffi_prints
def test_finished_request_is_released_when_ctrl_c_lands_in_the_release_hook_and_in_its_onerror(loop):
    from uvffi._core import pypy as _pypy

    req = loop.queue_work(lambda: None)
    assert req in loop._kept.values()
    with interrupt_twice(_pypy._uvffi_py_release) as left:
        loop.run()
    assert left == []
    assert req not in loop._kept.values()


@pypy_only
def test_ctrl_c_landing_in_the_done_hook_is_raised_by_run_and_done_cb_still_runs(loop):
    from uvffi._core import pypy as _pypy

    done = []
    loop.queue_work(lambda: None, done.append)
    with interrupt_twice(_pypy._uvffi_py_done) as left:
        left.remove("onerror")  # the first interruption only: onerror routes it
        with pytest.raises(KeyboardInterrupt):
            loop.run()
    assert left == []
    assert done == [None]


@pypy_only
@cffi_prints
def test_phase_batch_interrupted_twice_runs_the_rest_of_its_phase_and_nothing_twice(loop):
    """Ctrl-C before the batch hook's first callback (and again in its onerror): that
    callback is skipped, as a hop per handle would skip it, and C's next call of the hook
    runs the phase's other callbacks, each once."""
    from uvffi._core import pypy as _pypy

    seen = []
    checks = [uvffi.Check(loop) for _ in range(3)]
    for c in checks:
        c.start(lambda h: seen.append(checks.index(h)))
    with interrupt_twice(_pypy._uvffi_py_batch) as left:  # RUN_NOWAIT: no Idle needed
        loop.run(uvffi.RUN_NOWAIT)
    assert left == []
    assert seen == [1, 0]  # the newest runs first: its callback was the one interrupted
    loop.run(uvffi.RUN_NOWAIT)
    assert seen == [1, 0, 2, 1, 0]
    for h in checks:
        h.close()
    loop.run()


@pypy_only
def test_a_hold_whose_start_never_ran_ends_when_the_handle_closes(loop):
    """Timer.start holds the object in _kept before its C call (C then keeps it without a
    hook); Ctrl-C landing between the two leaves it held, not kept by C: its close ends that."""
    from uvffi._core import pypy as _pypy

    timer = uvffi.Timer(loop)
    assert timer not in loop._kept.values()  # no hold left from its creation
    assert _pypy.hold(timer) is False
    assert timer in loop._kept.values() and not timer.active
    closed = []
    timer.close(closed.append)
    loop.run()
    assert closed == [timer] and timer not in loop._kept.values()


@pypy_only
@pytest.mark.parametrize("kind", ["timer", "check"])
def test_a_start_refused_in_c_leaves_no_hold(kind):
    """A start from another thread while the loop runs raises, and leaves the object unheld."""
    loop = uvffi.Loop()
    handle = uvffi.Timer(loop) if kind == "timer" else uvffi.Check(loop)
    started = threading.Event()
    uvffi.Prepare(loop).start(lambda p: (started.set(), p.close()))
    stopper = uvffi.Async(loop, lambda a: a.close())
    runner = threading.Thread(target=loop.run)
    runner.start()
    try:
        assert started.wait(10)
        with pytest.raises(RuntimeError):
            if kind == "timer":
                handle.start(lambda t: None, 1, 0)
            else:
                handle.start(lambda c: None)
    finally:
        stopper.send()
        runner.join(10)
    assert handle not in loop._kept.values() and not handle.active
    handle.close()
    loop.run()
    loop.close()
