"""uvffi.Poll: libuv's uv_poll_t, pyuv's Poll(loop, fd) with start(events, callback(handle, events, error))."""

from __future__ import annotations

import gc
import os
import socket
import tempfile

import pytest

import uvffi
from uvffi.error import HandleClosedError, LoopClosedError, PollError


@pytest.fixture
def pair():
    a, b = socket.socketpair()
    a.setblocking(False)
    b.setblocking(False)
    yield a, b
    a.close()
    b.close()


def test_readable_when_the_peer_writes(loop, pair):
    a, b = pair
    seen = []

    def cb(handle, events, error):
        seen.append((events & uvffi.UV_READABLE, error, a.recv(16)))
        handle.close()

    p = uvffi.Poll(loop, a.fileno())
    p.start(uvffi.UV_READABLE, cb)
    b.send(b"ping")
    loop.run()
    assert seen == [(uvffi.UV_READABLE, None, b"ping")]


def test_writable_at_once_on_an_idle_socket(loop, pair):
    seen = []

    def cb(handle, events, error):
        seen.append(events)
        handle.close()

    uvffi.Poll(loop, pair[0]).start(uvffi.UV_WRITABLE, cb)
    loop.run()
    assert seen == [uvffi.UV_WRITABLE]


def test_accepts_an_object_with_fileno(loop, pair):
    p = uvffi.Poll(loop, pair[0])
    assert p.fileno() == pair[0].fileno()
    p.close()


def test_stop_ends_the_callbacks_and_the_loop(loop, pair):
    calls = []

    def cb(handle, events, error):
        calls.append(events)
        handle.stop()

    p = uvffi.Poll(loop, pair[0])
    p.start(uvffi.UV_WRITABLE, cb)
    loop.run()  # returns: the stopped poll keeps nothing alive
    assert calls == [uvffi.UV_WRITABLE]
    assert not p.active
    p.close()
    loop.run()


def test_start_again_changes_the_events_watched(loop, pair):
    a, b = pair
    seen = []

    def readable(handle, events, error):
        seen.append("readable")
        handle.close()

    def writable(handle, events, error):
        seen.append("writable")
        handle.start(uvffi.UV_READABLE, readable)
        b.send(b"x")

    uvffi.Poll(loop, a).start(uvffi.UV_WRITABLE, writable)
    loop.run()
    assert seen == ["writable", "readable"]


def test_a_dropped_started_poll_keeps_working(loop, pair):
    a, b = pair
    seen = []

    def cb(handle, events, error):
        seen.append(events)
        handle.close()

    uvffi.Poll(loop, a).start(uvffi.UV_READABLE, cb)
    gc.collect()
    b.send(b"x")
    loop.run()
    assert seen == [uvffi.UV_READABLE]


def test_bad_fd_arguments_raise_before_libuv(loop):
    with pytest.raises(ValueError):
        uvffi.Poll(loop, -1)
    with pytest.raises(TypeError):
        uvffi.Poll(loop, "3")  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        uvffi.Poll(loop, True)  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        uvffi.Poll(loop)  # type: ignore[call-arg]


def test_a_closed_fd_raises_poll_error(loop):
    r, w = os.pipe()
    os.close(r)
    os.close(w)
    with pytest.raises(PollError):
        uvffi.Poll(loop, r)


def test_a_regular_file_cannot_be_polled(loop):
    with tempfile.TemporaryFile() as f:
        with pytest.raises(PollError) as info:
            p = uvffi.Poll(loop, f.fileno())
            p.start(uvffi.UV_READABLE, lambda *a: None)
        assert info.value.args[0] == uvffi.errno.UV_EPERM


def test_two_polls_on_one_fd_raise_eexist(loop, pair):
    p = uvffi.Poll(loop, pair[0])
    p.start(uvffi.UV_READABLE, lambda *a: None)
    with pytest.raises(PollError) as info:
        q = uvffi.Poll(loop, pair[0])
        q.start(uvffi.UV_READABLE, lambda *a: None)
    assert info.value.args[0] == uvffi.errno.UV_EEXIST
    p.close()


def test_bad_events_or_callback_raise(loop, pair):
    p = uvffi.Poll(loop, pair[0])
    with pytest.raises(ValueError):
        p.start(0, lambda *a: None)
    with pytest.raises(ValueError):
        p.start(1 << 10, lambda *a: None)
    with pytest.raises(TypeError):
        p.start(uvffi.UV_READABLE, 42)  # type: ignore[arg-type]
    p.close()


def test_a_closed_poll_raises_handle_closed(loop, pair):
    p = uvffi.Poll(loop, pair[0])
    p.close()
    with pytest.raises(HandleClosedError):
        p.start(uvffi.UV_READABLE, lambda *a: None)
    with pytest.raises(HandleClosedError):
        p.fileno()
    loop.run()


def test_a_poll_on_a_closed_loop_raises():
    lp = uvffi.Loop()
    lp.close()
    a, b = socket.socketpair()
    with pytest.raises(LoopClosedError):
        uvffi.Poll(lp, a)
    a.close()
    b.close()


def test_poll_methods_refuse_a_handle_of_another_kind(loop):
    t = uvffi.Timer(loop)
    with pytest.raises(TypeError):
        uvffi.Poll.start(t, uvffi.UV_READABLE, lambda *a: None)  # type: ignore[arg-type]
    t.close()


def test_callback_exception_goes_to_the_excepthook_and_the_loop_goes_on(loop, pair):
    errors = []
    loop.excepthook = lambda typ, value, tb: errors.append(typ)

    def cb(handle, events, error):
        handle.close()
        raise ZeroDivisionError

    uvffi.Poll(loop, pair[0]).start(uvffi.UV_WRITABLE, cb)
    loop.run()
    assert errors == [ZeroDivisionError]
