"""Ctrl-C while run() blocks in poll raises KeyboardInterrupt promptly."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

CHILD = r"""
import sys, time, uvffi
loop = uvffi.Loop()
uvffi.Timer(loop).start(lambda h: None, 60, 0)   # a far timer: poll blocks
sys.stdout.write("ready\n"); sys.stdout.flush()
try:
    loop.run()
except KeyboardInterrupt:
    sys.stdout.write("interrupted\n"); sys.stdout.flush()
    sys.exit(0)
sys.exit(3)
"""


def test_sigint_interrupts_a_blocked_run_long_before_the_timer():
    proc = subprocess.Popen([sys.executable, "-c", CHILD], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout.readline().strip() == "ready"
        time.sleep(0.2)  # let it enter poll
        sent = time.monotonic()
        proc.send_signal(signal.SIGINT)
        out = proc.stdout.readline().strip()
        took = time.monotonic() - sent
        assert out == "interrupted"
        assert proc.wait(timeout=5) == 0
        assert took < 5  # the only timer is 60 s away: without the wakeup fd, run() waits for it
    finally:
        if proc.poll() is None:
            proc.kill()


def test_previous_wakeup_fd_is_restored_after_run(loop):
    import socket

    import uvffi

    r, w = socket.socketpair()
    w.setblocking(False)
    old = signal.set_wakeup_fd(w.fileno())
    try:
        uvffi.Timer(loop).start(lambda h: None, 0.001, 0)
        loop.run()
        assert signal.set_wakeup_fd(w.fileno()) == w.fileno()
    finally:
        signal.set_wakeup_fd(old)
        r.close()
        w.close()
