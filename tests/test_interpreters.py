"""What differs between interpreters and libuv builds: CPython's C-API trampolines or PyPy's
extern "Python" hooks, the pinned libuv or an older system one."""

from __future__ import annotations

import gc
import platform
import re
import sys
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


def test_ctrl_c_at_a_hooks_first_line_still_closes_and_stops(loop):
    """Hooks interrupted before they did their work: the keep-alive is still taken, the close
    callback still runs (C frees the handle right after), and the loop stops with
    KeyboardInterrupt, re-raised from run()."""
    from uvffi._core import pypy as _pypy

    closed = []
    timer = uvffi.Timer(loop)
    keep, loop_keep = ffi.new_handle(timer), ffi.new_handle(loop)  # what C holds on PyPy
    value, pyloop = int(ffi.cast("uintptr_t", keep)), int(ffi.cast("uintptr_t", loop_keep))
    h = int(ffi.cast("uintptr_t", timer._ptr)) if PYPY else 0  # 0: unchecked (CPython registers none)
    _pypy._onerror(*interrupted_hook(_pypy._uvffi_py_keep, pyloop, value, h))
    assert loop._kept[value] is timer
    assert loop._pending_exc.__class__ is KeyboardInterrupt  # routed: the loop stops, run() re-raises
    loop._pending_exc = None
    _pypy._uvffi_py_release(pyloop, value)
    assert value not in loop._kept

    ptr = timer._ptr
    timer._close_cb = closed.append
    _pypy._onerror(*interrupted_hook(_pypy._uvffi_py_closed, value))
    assert closed == [timer] and timer.closed
    if PYPY:  # Python storage (on CPython's C storage, _ptr is a view of the C handle)
        assert timer._ptr is None
    assert loop._pending_exc.__class__ is KeyboardInterrupt
    loop._pending_exc = None
    timer._closed = False  # the libuv handle is still open: let the loop close it
    if PYPY:
        timer._ptr = ptr
    timer.close()
    loop.run()
