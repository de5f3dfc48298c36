"""uvffi.aio.Loop: add_signal_handler / remove_signal_handler, and Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from typing import Any, List

import pytest

import uvffi.aio


def test_signal_handler_runs_in_the_loop_with_its_args(aloop: uvffi.aio.Loop) -> None:
    got: List[Any] = []
    fut = aloop.create_future()

    def handler(tag: str) -> None:
        got.append((tag, threading.get_ident()))
        fut.set_result(None)

    aloop.add_signal_handler(signal.SIGUSR1, handler, "usr1")
    try:
        aloop.call_soon(os.kill, os.getpid(), signal.SIGUSR1)
        aloop.run_until_complete(fut)
    finally:
        assert aloop.remove_signal_handler(signal.SIGUSR1) is True
    assert got == [("usr1", threading.get_ident())]


def test_a_signal_wakes_a_loop_waiting_with_nothing_else_to_do(aloop: uvffi.aio.Loop) -> None:
    fut = aloop.create_future()
    aloop.add_signal_handler(signal.SIGUSR1, fut.set_result, "woken")

    def later() -> None:
        time.sleep(0.05)
        os.kill(os.getpid(), signal.SIGUSR1)

    t = threading.Thread(target=later)
    t.start()
    try:
        # no timers, no ready callbacks: the loop waits in libuv until the signal
        assert aloop.run_until_complete(fut) == "woken"
    finally:
        t.join()
        aloop.remove_signal_handler(signal.SIGUSR1)


def test_remove_signal_handler_restores_the_default_disposition(aloop: uvffi.aio.Loop) -> None:
    aloop.add_signal_handler(signal.SIGUSR2, lambda: None)
    assert signal.getsignal(signal.SIGUSR2) not in (signal.SIG_DFL, signal.SIG_IGN)
    assert aloop.remove_signal_handler(signal.SIGUSR2) is True
    assert signal.getsignal(signal.SIGUSR2) == signal.SIG_DFL
    assert aloop.remove_signal_handler(signal.SIGUSR2) is False


def test_remove_sigint_handler_restores_default_int_handler(aloop: uvffi.aio.Loop) -> None:
    previous = signal.getsignal(signal.SIGINT)
    try:
        aloop.add_signal_handler(signal.SIGINT, lambda: None)
        assert aloop.remove_signal_handler(signal.SIGINT) is True
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
    finally:
        signal.signal(signal.SIGINT, previous)


def test_add_signal_handler_with_an_invalid_signal_raises_value_error(aloop: uvffi.aio.Loop) -> None:
    with pytest.raises(ValueError):
        aloop.add_signal_handler(0, lambda: None)
    with pytest.raises(ValueError):
        aloop.add_signal_handler(signal.NSIG + 10, lambda: None)
    with pytest.raises(TypeError):
        aloop.add_signal_handler("SIGUSR1", lambda: None)  # type: ignore[arg-type]


def test_add_signal_handler_for_sigkill_raises_runtime_error(aloop: uvffi.aio.Loop) -> None:
    with pytest.raises(RuntimeError):
        aloop.add_signal_handler(signal.SIGKILL, lambda: None)
    with pytest.raises(RuntimeError):
        aloop.add_signal_handler(signal.SIGSTOP, lambda: None)
    assert signal.set_wakeup_fd(-1) == -1  # nothing left installed by the failed calls


def test_add_signal_handler_refuses_a_coroutine_function(aloop: uvffi.aio.Loop) -> None:
    async def coro() -> None:
        pass

    with pytest.raises(TypeError):
        aloop.add_signal_handler(signal.SIGUSR1, coro)


def test_add_signal_handler_off_the_main_thread_raises_runtime_error(aloop: uvffi.aio.Loop) -> None:
    errors: List[BaseException] = []

    def other() -> None:
        try:
            aloop.add_signal_handler(signal.SIGUSR1, lambda: None)
        except BaseException as exc:
            errors.append(exc)

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert len(errors) == 1 and isinstance(errors[0], RuntimeError)


def test_close_removes_the_signal_handlers() -> None:
    lp = uvffi.aio.new_event_loop()
    lp.add_signal_handler(signal.SIGUSR1, lambda: None)
    lp.close()
    assert signal.getsignal(signal.SIGUSR1) == signal.SIG_DFL
    assert signal.set_wakeup_fd(-1) == -1


CTRL_C_CHILD = r"""
import asyncio, sys, uvffi.aio

async def main():
    sys.stdout.write("ready\n"); sys.stdout.flush()
    await asyncio.sleep(60)   # a far timer: the loop waits in libuv

try:
    %s
except KeyboardInterrupt:
    sys.stdout.write("interrupted\n"); sys.stdout.flush()
    sys.exit(0)
sys.exit(3)
"""


def _ctrl_c(statement: str) -> None:
    proc = subprocess.Popen([sys.executable, "-c", CTRL_C_CHILD % statement], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)  # let it reach the wait
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "interrupted"
        assert proc.wait(timeout=30) == 0  # well before the 60 s timer
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_ctrl_c_stops_uvffi_aio_run_with_keyboard_interrupt() -> None:
    _ctrl_c("uvffi.aio.run(main())")


def test_ctrl_c_stops_run_until_complete_with_keyboard_interrupt() -> None:
    _ctrl_c("uvffi.aio.new_event_loop().run_until_complete(main())")


SIGINT_HANDLER_CHILD = r"""
import asyncio, signal, sys, uvffi.aio

loop = uvffi.aio.new_event_loop()
fut = loop.create_future()
loop.add_signal_handler(signal.SIGINT, fut.set_result, "handled")
sys.stdout.write("ready\n"); sys.stdout.flush()
result = loop.run_until_complete(asyncio.wait_for(fut, 60))   # waits in libuv
loop.remove_signal_handler(signal.SIGINT)
restored = signal.getsignal(signal.SIGINT) is signal.default_int_handler
loop.close()
sys.stdout.write(f"{result} {restored}\n"); sys.stdout.flush()
"""


def test_a_sigint_handler_replaces_keyboard_interrupt_and_is_restored() -> None:
    proc = subprocess.Popen([sys.executable, "-c", SIGINT_HANDLER_CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.3)
        proc.send_signal(signal.SIGINT)
        assert proc.stdout.readline().strip() == "handled True"
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
