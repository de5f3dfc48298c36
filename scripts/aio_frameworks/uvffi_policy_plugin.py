"""pytest plugin for scripts/aio-frameworks: every asyncio loop made through the event loop policy
(``asyncio.new_event_loop()``, ``asyncio.Runner()`` without a loop factory, which is how anyio's
``("asyncio", {...})`` backend makes its loop) is a ``uvffi.aio`` loop. It counts them, and says
so at the end, so a run that never touched uvffi cannot pass for one that did."""

from __future__ import annotations

import asyncio
import warnings
from typing import Any

import uvffi.aio

MADE = {"loops": 0}


class CountingPolicy(uvffi.aio.EventLoopPolicy):
    """uvffi.aio's policy, counting the loops it makes."""

    def new_event_loop(self) -> asyncio.AbstractEventLoop:
        loop: asyncio.AbstractEventLoop = super().new_event_loop()
        assert isinstance(loop, uvffi.aio.Loop)
        MADE["loops"] += 1
        return loop


def _install() -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        if not isinstance(asyncio.get_event_loop_policy(), CountingPolicy):
            asyncio.set_event_loop_policy(CountingPolicy())


def pytest_configure(config: Any) -> None:
    _install()


def pytest_runtest_setup(item: Any) -> None:
    _install()  # a test that reset the policy does not send the next ones to asyncio's loop


def pytest_terminal_summary(terminalreporter: Any) -> None:
    terminalreporter.write_line(f"uvffi-policy: {MADE['loops']} uvffi.aio loops were made")
