"""Async coalescing (seed 001): all Async handles of a loop share one eventfd;
``send()`` sets the handle's ``pending`` flag and writes to it only if it was
clear. Many sends before the loop wakes give one callback; a send after the
callback gives another.
"""

from __future__ import annotations

import threading
from typing import List

import uvffi


def main() -> None:
    loop = uvffi.Loop()
    calls: List[int] = []
    a = uvffi.Async(loop, lambda h: calls.append(1))

    # Many sends from another thread before the loop wakes up...
    def many_sends() -> None:
        for _ in range(1000):
            a.send()

    t = threading.Thread(target=many_sends)
    t.start()
    t.join()
    loop.run(uvffi.RUN_ONCE)
    print(f"1000 sends before the loop woke -> {len(calls)} callback")

    # ...a send after the callback ran gives another one.
    a.send()
    loop.run(uvffi.RUN_ONCE)
    print(f"1 send after that callback -> {len(calls)} callbacks in all")

    # Sends racing with a running loop: at least one callback, never more than sends.
    a.close()
    calls.clear()
    done = threading.Event()

    def on_async(handle: uvffi.Async) -> None:
        calls.append(1)
        if done.is_set():
            handle.close()

    b = uvffi.Async(loop, on_async)

    def sender() -> None:
        for _ in range(10000):
            b.send()
        done.set()
        try:
            b.send()  # wakes the loop once more if it already saw every other send
        except uvffi.error.HandleClosedError:
            pass  # the callback saw done and closed the handle first

    t = threading.Thread(target=sender)
    t.start()
    loop.run()
    t.join()
    print(f"10001 sends while the loop ran -> between 1 and 10001 callbacks: {1 <= len(calls) <= 10001}")
    loop.close()


if __name__ == "__main__":
    main()
