"""Beyond pyuv: loop configuration and metrics, the raw loop, fork."""

from __future__ import annotations

import os
import signal
from typing import List

import pytest

import uvffi
from uvffi.error import LoopClosedError, UVError
from uvffi.metrics import LOOP_BLOCK_SIGNAL, METRICS_IDLE_TIME, FeatureUnavailableError, LoopMetrics

# -- configuration and metrics ---------------------------------------------

def test_idle_time_metrics(loop: uvffi.Loop) -> None:
    assert loop.metrics_idle_time() == 0
    loop.enable_idle_time_metrics()
    # poll waits for the timer; on a loaded machine (or under ASan) the 20 ms may pass
    # before the poll starts, and then it does not wait: a few tries, one must wait
    for _ in range(20):
        uvffi.Timer(loop).start(lambda h: None, 0.02, 0)
        loop.run()
        if loop.metrics_idle_time() > 0:
            break
    assert loop.metrics_idle_time() > 0


def test_metrics_info(loop: uvffi.Loop) -> None:
    if min(uvffi.lib.UV_VERSION_HEX, uvffi.lib.uv_version()) < 0x012D00:
        # a system libuv older than 1.45 has no uv_metrics_info: a clear error instead
        with pytest.raises(FeatureUnavailableError, match=r"needs libuv >= 1\.45"):
            loop.metrics_info()
        return
    m0 = loop.metrics_info()
    assert isinstance(m0, LoopMetrics) and m0.loop_count == 0
    a = uvffi.Async(loop, lambda h: h.close())
    a.send()
    loop.run()
    m = loop.metrics_info()
    assert m.loop_count >= 1
    assert m.events >= 1  # the eventfd behind the async
    assert m.events_waiting >= 0
    assert m == (m.loop_count, m.events, m.events_waiting)


def test_configure(loop: uvffi.Loop) -> None:
    loop.configure(METRICS_IDLE_TIME)
    loop.block_signal(signal.SIGPROF)
    loop.configure(LOOP_BLOCK_SIGNAL, signal.SIGPROF)
    with pytest.raises(UVError):
        loop.block_signal(signal.SIGUSR1)  # libuv blocks only SIGPROF: EINVAL
    with pytest.raises(TypeError):
        loop.configure(LOOP_BLOCK_SIGNAL)
    with pytest.raises(TypeError):
        loop.configure(METRICS_IDLE_TIME, 1)
    with pytest.raises(ValueError):
        loop.configure(12345)
    uvffi.Timer(loop).start(lambda h: None, 0, 0)
    loop.run()


def test_feature_unavailable_error_is_clear() -> None:
    from uvffi import errno, metrics

    # what the glue's UV_ENOSYS (a libuv older than the feature) turns into
    with pytest.raises(FeatureUnavailableError, match=r"needs libuv >= 1.45, but uvffi is linked against libuv"):
        metrics._raise(errno.UV_ENOSYS, "metrics_info()", "1.45")
    with pytest.raises(UVError) as info:
        metrics._raise(errno.UV_EINVAL, "x", "1.0")
    assert not isinstance(info.value, FeatureUnavailableError)
    err = FeatureUnavailableError(errno.UV_ENOSYS, "m")
    assert isinstance(err, NotImplementedError) and isinstance(err, UVError)
    if uvffi.lib.UV_VERSION_HEX < 0x012D00:  # a system libuv without uv_metrics_info
        with uvffi.Loop() as lp, pytest.raises(FeatureUnavailableError, match="1.45"):
            lp.metrics_info()


def test_metrics_on_closed_loop_raise() -> None:
    lp = uvffi.Loop()
    lp.close()
    for call in (lp.metrics_info, lp.metrics_idle_time, lp.enable_idle_time_metrics, lp.fork):
        with pytest.raises(LoopClosedError):
            call()


# -- the raw loop -------------------------------------------------------------

def test_pointer_and_address(loop: uvffi.Loop) -> None:
    ptr = loop.pointer
    assert uvffi.ffi.typeof(ptr) is uvffi.ffi.typeof("uv_loop_t *")
    assert int(uvffi.ffi.cast("uintptr_t", ptr)) == loop.address != 0
    # other cffi code can call libuv on it
    assert uvffi.lib.uv_now(ptr) == loop.now()


def test_from_pointer_runs_handles_and_never_frees_the_loop() -> None:
    owner = uvffi.Loop()
    out: List[str] = []
    owner_timer = uvffi.Timer(owner)  # the owner's inactive handle must survive the wrapper
    for raw in (owner.address, owner.pointer):
        wrapper = uvffi.Loop.from_pointer(raw)
        assert wrapper.address == owner.address
        uvffi.Timer(wrapper).start(lambda h: out.append("wrapper timer"), 0, 0)
        assert wrapper.run() is False
        uvffi.Timer(wrapper)  # an open, inactive handle for close() to close
        wrapper.close()
        assert wrapper.closed
    assert out == ["wrapper timer"] * 2
    # the owner still works, its handle was left alone
    assert not owner_timer.closed
    owner_timer.start(lambda h: out.append("owner timer"), 0, 0)
    owner.run()
    assert out[-1] == "owner timer"
    assert owner.handles == [owner_timer]
    owner.close()


def test_from_pointer_bad_input() -> None:
    with pytest.raises(ValueError):
        uvffi.Loop.from_pointer(0)
    with pytest.raises(ValueError):
        uvffi.Loop.from_pointer(uvffi.ffi.NULL)
    with pytest.raises(TypeError):
        uvffi.Loop.from_pointer("0x1234")  # type: ignore[arg-type]


# -- fork -------------------------------------------------------------------

@pytest.mark.skipif(not hasattr(os, "fork"), reason="no os.fork on this platform")
def test_loop_keeps_working_in_forked_child() -> None:
    from uvffi.scheduler import set_immediate, set_timeout

    loop = uvffi.Loop()
    uvffi.Timer(loop).start(lambda h: None, 0, 0)
    loop.run()  # the loop has been used (its epoll fd exists) before the fork
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child
        code = 1
        try:
            out: List[str] = []
            uvffi.Timer(loop).start(lambda h: out.append("timer"), 0.001, 0)
            a = uvffi.Async(loop, lambda h: (out.append("async"), h.close()))
            a.send()
            set_immediate(out.append, "immediate", loop=loop)
            set_timeout(out.append, 1, "timeout", loop=loop)
            loop.queue_work(lambda: None, lambda err: out.append("work"))
            fut = loop.call_soon_threadsafe(out.append, "threadsafe")
            loop.run()
            assert fut.done()
            os.write(w, ",".join(sorted(out)).encode())
            code = 0
        finally:
            os._exit(code)
    os.close(w)
    _, status = os.waitpid(pid, 0)
    data = os.read(r, 1000).decode()
    os.close(r)
    assert os.WIFEXITED(status) and os.WEXITSTATUS(status) == 0
    assert data == "async,immediate,threadsafe,timeout,timer,work"
    # the parent's loop is untouched
    uvffi.Timer(loop).start(lambda h: None, 0, 0)
    loop.run()
    loop.close()


def test_explicit_fork_call(loop: uvffi.Loop) -> None:
    loop.fork()  # harmless in the same process: the backend is re-created
    out: List[int] = []
    uvffi.Timer(loop).start(lambda h: out.append(1), 0, 0)
    loop.run()
    assert out == [1]
