"""uvffi.dns with a callback: pyuv's callback(result, errorno), errors without hangs,
numeric hosts, the thread rules, cancellation on close."""

from __future__ import annotations

import os
import socket
import threading

import pytest

import uvffi
from uvffi import dns
from uvffi.errno import UV_EAI_NONAME, UV_ECANCELED


def _lookup(loop, fn, *args, **kw):
    seen = []
    req = fn(loop, *args, callback=lambda result, errorno: seen.append((result, errorno)), **kw)
    loop.run()
    assert len(seen) == 1
    return req, seen[0]


def test_getaddrinfo_async_agrees_with_sync(loop):
    sync = dns.getaddrinfo(loop, "127.0.0.1", 80, socket.AF_INET, socket.SOCK_STREAM)
    req, (result, errorno) = _lookup(loop, dns.getaddrinfo, "127.0.0.1", 80, socket.AF_INET,
                                     socket.SOCK_STREAM)
    assert isinstance(req, dns.GAIRequest)
    assert errorno is None and result == sync
    assert result[0].sockaddr == ("127.0.0.1", 80)


def test_getnameinfo_async_agrees_with_sync(loop):
    flags = socket.NI_NUMERICHOST | socket.NI_NUMERICSERV
    sync = dns.getnameinfo(loop, ("127.0.0.1", 8080), flags)
    req, (result, errorno) = _lookup(loop, dns.getnameinfo, ("127.0.0.1", 8080), flags)
    assert isinstance(req, dns.GNIRequest)
    assert errorno is None and result == sync == ("127.0.0.1", "8080")


def test_ipv6_numeric_host_resolves(loop):
    _, (result, errorno) = _lookup(loop, dns.getaddrinfo, "::1", 53, socket.AF_INET6, socket.SOCK_DGRAM)
    assert errorno is None and result[0].sockaddr[:2] == ("::1", 53)


def test_numeric_host_resolves_without_the_resolver(loop):
    # AI_NUMERICHOST forbids any name lookup: only the numeric parse can answer.
    _, (result, errorno) = _lookup(loop, dns.getaddrinfo, "127.0.0.1", 80, socket.AF_INET,
                                   socket.SOCK_STREAM, 0, socket.AI_NUMERICHOST)
    assert errorno is None and result[0].sockaddr == ("127.0.0.1", 80)


def test_name_with_numerichost_flag_is_an_error_not_a_lookup(loop):
    _, (result, errorno) = _lookup(loop, dns.getaddrinfo, "localhost", 80, 0, 0, 0, socket.AI_NUMERICHOST)
    assert result is None and errorno == UV_EAI_NONAME


def test_bad_host_gives_an_error_not_a_hang(loop):
    timer = uvffi.Timer(loop)
    timer.start(lambda h: loop.stop(), 20.0, 0)
    timer.ref = False
    _, (result, errorno) = _lookup(loop, dns.getaddrinfo, "no-such-host.invalid", 80)
    assert result is None and errorno is not None and errorno < 0


def test_error_is_not_raised_out_of_run(loop):
    dns.getaddrinfo(loop, "bad host name", 80, flags=socket.AI_NUMERICHOST, callback=lambda r, e: None)
    loop.run()  # nothing raised


def test_callback_runs_on_the_loop_thread(loop):
    threads = []
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda r, e: threads.append(threading.get_ident()))
    loop.run()
    assert threads == [threading.get_ident()]


def test_submit_from_another_thread_raises_while_loop_runs(loop):
    errors = []
    started = threading.Event()

    def other():
        started.wait()
        try:
            dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda r, e: None)
        except RuntimeError as exc:
            errors.append(exc)
        finally:
            done.send()

    done = uvffi.Async(loop, lambda h: h.close())
    t = threading.Thread(target=other)
    t.start()
    uvffi.Timer(loop).start(lambda h: started.set(), 0, 0)
    loop.run()
    t.join()
    assert len(errors) == 1


def test_close_cancels_queued_lookups():
    loop = uvffi.Loop()
    block = threading.Event()
    for _ in range(int(os.environ.get("UV_THREADPOOL_SIZE", "4"))):
        loop.queue_work(lambda: block.wait(5))
    got = []
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda r, e: got.append((r, e)))
    dns.getnameinfo(loop, ("127.0.0.1", 80), 0, lambda r, e: got.append((r, e)))
    threading.Timer(0.3, block.set).start()
    loop.close()
    assert got == [(None, UV_ECANCELED)] * 2


def test_many_async_lookups_all_complete(loop):
    got = []
    for port in range(100):
        dns.getaddrinfo(loop, "127.0.0.1", port, socket.AF_INET, socket.SOCK_STREAM,
                        callback=lambda r, e: got.append(r[0].sockaddr[1]))
    loop.run()
    assert sorted(got) == list(range(100))


def test_bad_address_raises_before_submitting(loop):
    with pytest.raises((TypeError, ValueError)):
        dns.getnameinfo(loop, ("not an ip", 80), 0, lambda r, e: None)
    assert not loop.alive
