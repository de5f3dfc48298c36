"""``python -m uvffi``: the versions, and one loop iteration traced phase by phase."""

from __future__ import annotations

import sys
from typing import List

from . import LIBUV_VERSION, Check, Idle, Loop, Prepare, Timer, __version__


def trace_iteration() -> List[str]:
    """Run one loop iteration with a handle in every phase; return the phases seen, in order."""
    seen: List[str] = []
    with Loop() as loop:
        timer, idle, prepare, check = Timer(loop), Idle(loop), Prepare(loop), Check(loop)

        def on_timer(h: Timer) -> None:
            seen.append("timers    Timer callback (a due timer)")

        def on_idle(h: Idle) -> None:
            seen.append("idle      Idle callback (while it is active, poll does not block)")

        def on_prepare(h: Prepare) -> None:
            seen.append("prepare   Prepare callback (right before poll)")
            h.stop()

        def on_check(h: Check) -> None:
            seen.append("poll      (waited for I/O, returned at once: an Idle was active)")
            seen.append("check     Check callback (right after poll)")
            for handle in (timer, idle, prepare, check):
                handle.close(lambda handle: seen.append(f"close     close callback of {type(handle).__name__}"))

        timer.start(on_timer, 0, 0)
        idle.start(on_idle)
        prepare.start(on_prepare)
        check.start(on_check)
        loop.run()
    return seen


def main() -> int:
    print(f"uvffi {__version__}, libuv {LIBUV_VERSION}, Python {sys.version.split()[0]}")
    print("One iteration of the loop, phase by phase:")
    for line in trace_iteration():
        print("  " + line)
    return 0


if __name__ == "__main__":
    sys.exit(main())
