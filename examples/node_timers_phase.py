"""Seed 003, "timers": a timer's delay is a threshold, not an exact time.

A 100 ms timeout is scheduled, then an "asynchronous file read" that takes
95 ms (here a ``queue_work`` job) whose callback busy-waits 10 ms. The loop
waits in poll for the earliest timer; the read completes at ~95 ms and its
callback runs in the poll phase; only after it returns does the loop wrap
around to the timers phase, so the timeout reports about 105 ms.
"""

from __future__ import annotations

import time
from typing import Any, Callable, Optional

from uvffi import Loop
from uvffi.scheduler import set_timeout


def some_async_operation(callback: Callable[[Optional[int]], Any]) -> None:
    """Assume this takes 95 ms to complete (fs.readFile in the original)."""
    Loop.default_loop().queue_work(lambda: time.sleep(0.095), callback)


def main() -> None:
    timeout_scheduled = time.monotonic()

    def on_timeout() -> None:
        delay = (time.monotonic() - timeout_scheduled) * 1000
        print(f"{delay:.0f}ms have passed since I was scheduled")

    set_timeout(on_timeout, 100)

    def on_read(error: Optional[int]) -> None:
        start_callback = time.monotonic()
        # do something that will take 10 ms...
        while time.monotonic() - start_callback < 0.010:
            pass
        print("file read callback done")

    # do some_async_operation which takes 95 ms to complete
    some_async_operation(on_read)
    Loop.default_loop().run()


if __name__ == "__main__":
    main()
