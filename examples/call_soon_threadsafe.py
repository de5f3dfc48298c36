"""``loop.call_soon_threadsafe()``: other threads hand functions to the loop
thread (Node's tick, seed 002: a locked queue swapped out per wakeup) and get
a ``concurrent.futures.Future`` back.
"""

from __future__ import annotations

import threading
from concurrent.futures import Future
from typing import Any, List

import uvffi


def main() -> None:
    loop = uvffi.Loop()
    loop_thread = threading.get_ident()
    seen: List[str] = []
    keep = uvffi.Timer(loop)  # the internal async is unref'd: keep the loop running
    keep.start(lambda h: None, 3600.0, 0)

    def on_loop(name: str, i: int) -> str:
        assert threading.get_ident() == loop_thread
        seen.append(f"{name}:{i}")
        return f"{name}:{i} ran on the loop thread"

    def worker(name: str, out: "List[Future[Any]]") -> None:
        for i in range(3):
            out.append(loop.call_soon_threadsafe(on_loop, name, i))

    futures: List["Future[Any]"] = []
    threads = [threading.Thread(target=worker, args=(n, futures)) for n in ("a", "b")]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    failing = loop.call_soon_threadsafe(lambda: 1 // 0)
    loop.call_soon_threadsafe(keep.close)
    loop.run()
    for name in ("a", "b"):
        print(f"calls from thread {name} ran in order: {[s for s in seen if s[0] == name]}")
    print(sorted(f.result() for f in futures)[0])
    print(f"an exception goes to the future: {failing.exception()!r}")
    loop.close()
    try:
        loop.call_soon_threadsafe(print)
    except uvffi.error.LoopClosedError as exc:
        print(f"on a closed loop: LoopClosedError({exc})")


if __name__ == "__main__":
    main()
