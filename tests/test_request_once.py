"""Issue 16 (D1): a KeyboardInterrupt landing in a request's done bookkeeping (between
``_finish()`` and the user's callback) loses no callback: ``run()`` raises it, and the
callback runs exactly once, with the result if ``_done`` had computed it, else with
``UV_EINTR`` (fs, dns) -- on CPython (``_c/req.c`` calls ``_salvage``) and PyPy alike.

Each test injects one KeyboardInterrupt, as a signal handler raising at that bytecode would."""

from __future__ import annotations

import os
import socket
from typing import Any, Callable, List

import pytest

import uvffi
from uvffi import dns, errno
from uvffi import fs as uvfs
from uvffi.requests import fs as fs_req
from uvffi.requests.base import Request
from uvffi.requests.stream import ConnectRequest, ShutdownRequest, WriteRequest
from uvffi.requests.udp_send import UDPSendRequest


def once_then(real: Callable[..., Any], before: bool = False) -> Callable[..., Any]:
    """``real`` that raises KeyboardInterrupt once: after doing its work (or, with
    ``before``, instead of it); later calls just do the work."""
    left = [1]

    def wrapper(*args: Any) -> Any:
        if before and left:
            left.pop()
            raise KeyboardInterrupt
        r = real(*args)
        if left:
            left.pop()
            raise KeyboardInterrupt
        return r

    return wrapper


def interrupt_finish_of(monkeypatch: pytest.MonkeyPatch, cls: type) -> None:
    """``cls._finish`` (the first step of ``_done``) raises once after doing its work."""
    monkeypatch.setattr(cls, "_finish", once_then(Request._finish))


def interrupt_before(monkeypatch: pytest.MonkeyPatch, module: Any, name: str) -> None:
    """``module.name`` (the once-helper that takes and calls the callback) raises once
    before its work: an interrupt right before the callback is taken. (Absent in a
    module that has no such helper: nothing is then interrupted.)"""
    monkeypatch.setattr(module, name, once_then(getattr(module, name, None), before=True), raising=False)


def run_interrupted(loop: uvffi.Loop) -> None:
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    loop.run()  # whatever is left (closes)


# -- fs ---------------------------------------------------------------------------------

def test_fs_stat_callback_survives_an_interrupt_after_finish(loop, tmp_path, monkeypatch):
    """Interrupted before the result was read: the callback gets ``UV_EINTR``."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    got: List[Any] = []
    interrupt_finish_of(monkeypatch, fs_req.FSRequest)
    uvfs.stat(loop, str(path), lambda r: got.append((r.result, r.error)))
    run_interrupted(loop)
    assert got == [(None, errno.UV_EINTR)]


def test_fs_stat_callback_survives_an_interrupt_in_building_the_result(loop, tmp_path):
    """The result-building function ran but ``_done`` was interrupted before storing it."""
    path = tmp_path / "f"
    path.write_bytes(b"x")
    got: List[Any] = []
    req = uvfs.stat(loop, str(path), lambda r: got.append((r.result, r.error)))
    req._finish_fn = once_then(req._finish_fn)
    run_interrupted(loop)
    assert got == [(None, errno.UV_EINTR)]


def test_fs_stat_callback_gets_the_result_when_interrupted_just_before_the_call(loop, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"xyz")
    got: List[Any] = []
    interrupt_before(monkeypatch, fs_req, "call_attr_once")
    uvfs.stat(loop, str(path), lambda r: got.append((r.result.st_size, r.error)))
    run_interrupted(loop)
    assert got == [(3, None)]


def test_fs_read_callback_survives_an_interrupt_after_finish(loop, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    fd = os.open(str(path), os.O_RDONLY)
    try:
        got: List[Any] = []
        interrupt_finish_of(monkeypatch, fs_req.FSRequest)
        uvfs.read(loop, fd, 5, 0, lambda r: got.append((r.result, r.error)))
        run_interrupted(loop)
        assert got == [(None, errno.UV_EINTR)]
    finally:
        os.close(fd)


def test_fs_read_callback_gets_the_bytes_when_interrupted_just_before_the_call(loop, tmp_path, monkeypatch):
    path = tmp_path / "f"
    path.write_bytes(b"hello")
    fd = os.open(str(path), os.O_RDONLY)
    try:
        got: List[Any] = []
        interrupt_before(monkeypatch, fs_req, "call_attr_once")
        uvfs.read(loop, fd, 5, 0, lambda r: got.append((r.result, r.error)))
        run_interrupted(loop)
        assert got == [(b"hello", None)]
    finally:
        os.close(fd)


def test_fs_failed_request_interrupted_after_finish_keeps_its_error(loop, tmp_path, monkeypatch):
    got: List[Any] = []
    interrupt_finish_of(monkeypatch, fs_req.FSRequest)
    uvfs.stat(loop, str(tmp_path / "missing"), lambda r: got.append((r.result, r.error)))
    run_interrupted(loop)
    assert got == [(None, errno.UV_ENOENT)]


# -- dns --------------------------------------------------------------------------------

def test_getaddrinfo_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    got: List[Any] = []
    interrupt_finish_of(monkeypatch, dns.GAIRequest)
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda res, err: got.append((res, err)))
    run_interrupted(loop)
    assert got == [(None, errno.UV_EINTR)]


def test_getaddrinfo_callback_survives_an_interrupt_in_building_the_result(loop, monkeypatch):
    got: List[Any] = []
    monkeypatch.setattr(dns.GAIRequest, "_result", once_then(dns.GAIRequest._result))
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda res, err: got.append((res, err)))
    run_interrupted(loop)
    assert got == [(None, errno.UV_EINTR)]


def test_getaddrinfo_callback_gets_the_result_when_interrupted_just_before_the_call(loop, monkeypatch):
    got: List[Any] = []
    interrupt_before(monkeypatch, dns, "call_attr_once_with")
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda res, err: got.append((res, err)))
    run_interrupted(loop)
    assert len(got) == 1 and got[0][1] is None and got[0][0][0].sockaddr[:2] == ("127.0.0.1", 80)


def test_getnameinfo_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    got: List[Any] = []
    interrupt_finish_of(monkeypatch, dns.GNIRequest)
    dns.getnameinfo(loop, ("127.0.0.1", 80), callback=lambda res, err: got.append((res, err)))
    run_interrupted(loop)
    assert got == [(None, errno.UV_EINTR)]


def test_getnameinfo_callback_gets_the_result_when_interrupted_just_before_the_call(loop, monkeypatch):
    got: List[Any] = []
    interrupt_before(monkeypatch, dns, "call_attr_once_with")
    dns.getnameinfo(loop, ("127.0.0.1", 80), socket.NI_NUMERICHOST | socket.NI_NUMERICSERV,
                    callback=lambda res, err: got.append((res, err)))
    run_interrupted(loop)
    assert got == [(("127.0.0.1", "80"), None)]


# -- a stream write ---------------------------------------------------------------------

def pipe_pair(loop: uvffi.Loop):
    a_fd, b_fd = uvffi.socketpair()
    a, b = uvffi.Pipe(loop), uvffi.Pipe(loop)
    a.open(a_fd)
    b.open(b_fd)
    return a, b


def test_stream_write_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    a, b = pipe_pair(loop)
    got: List[Any] = []

    def written(handle, error):
        got.append((handle, error))
        a.close()
        b.close()

    interrupt_finish_of(monkeypatch, WriteRequest)
    req = a.write(b"data", written)
    run_interrupted(loop)
    assert got == [(a, None)] and req.handle is None and not req.pending


def test_stream_shutdown_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    a, b = pipe_pair(loop)
    got: List[Any] = []

    def shut(handle, error):
        got.append((handle, error))
        a.close()
        b.close()

    interrupt_finish_of(monkeypatch, ShutdownRequest)
    a.shutdown(shut)
    run_interrupted(loop)
    assert got == [(a, None)]


def test_tcp_connect_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    server, client = uvffi.TCP(loop), uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))
    server.listen(lambda h, err: None)
    got: List[Any] = []

    def connected(handle, error):
        got.append((handle, error))
        client.close()
        server.close()

    interrupt_finish_of(monkeypatch, ConnectRequest)
    client.connect(server.getsockname(), connected)
    run_interrupted(loop)
    assert got == [(client, None)]


# -- a UDP send -------------------------------------------------------------------------

def test_udp_send_callback_survives_an_interrupt_after_finish(loop, monkeypatch):
    rx, tx = uvffi.UDP(loop), uvffi.UDP(loop)
    rx.bind(("127.0.0.1", 0))
    tx.bind(("127.0.0.1", 0))
    got: List[Any] = []

    def sent(handle, error):
        got.append((handle, error))
        rx.close()
        tx.close()

    interrupt_finish_of(monkeypatch, UDPSendRequest)
    tx.send(rx.getsockname(), b"ping", sent)
    run_interrupted(loop)
    assert got == [(tx, None)]


# -- no second call ---------------------------------------------------------------------

def test_a_raising_callback_is_not_called_again_by_the_salvage(loop, tmp_path):
    """The callback's own exception makes C call ``_salvage``, which must not repeat it."""
    calls: List[Any] = []
    seen: List[Any] = []
    loop.excepthook = lambda t, v, tb: seen.append(v)

    def cb(r):
        calls.append(r.error)
        raise ValueError("from the callback")

    uvfs.stat(loop, str(tmp_path), cb)
    loop.run()
    assert calls == [None] and [type(v) for v in seen] == [ValueError]


def test_salvage_after_a_completed_done_does_nothing(loop, tmp_path):
    got: List[Any] = []
    req = uvfs.stat(loop, str(tmp_path), lambda r: got.append(r.error))
    loop.run()
    req._salvage(0)
    req._salvage(-4)
    assert got == [None] and req.error is None
