from __future__ import annotations

import asyncio
import gc
import signal
from typing import Iterator

import pytest

import uvffi
import uvffi.aio

# A shell without job control starts background commands with SIGINT ignored, and the
# children of the tests (which send SIGINT and expect KeyboardInterrupt) would inherit
# that: give this process Python's own handler, which exec resets to the default.
if signal.getsignal(signal.SIGINT) is signal.SIG_IGN:
    signal.signal(signal.SIGINT, signal.default_int_handler)


@pytest.fixture
def loop() -> Iterator[uvffi.Loop]:
    """A fresh loop, closed after the test."""
    lp = uvffi.Loop()
    yield lp
    if not lp.closed:
        lp.close()
    gc.collect()


@pytest.fixture
def aloop() -> Iterator[uvffi.aio.Loop]:
    """A fresh uvffi.aio loop, the thread's current event loop during the test, closed after it."""
    lp = uvffi.aio.new_event_loop()
    asyncio.set_event_loop(lp)
    yield lp
    asyncio.set_event_loop(None)
    if not lp.is_closed():
        lp.close()
    gc.collect()
