"""Seed 003, ``process.nextTick()``: not part of the loop's phases. Its queue
runs as soon as the current operation completes, whatever the phase, so a
next-tick callback always comes before timers and immediates queued at the
same time, and next ticks queued by the main program run before the loop's
first phase.
"""

from __future__ import annotations

from typing import Optional

from uvffi import Loop
from uvffi.scheduler import next_tick, set_immediate, set_timeout


def main() -> None:
    loop = Loop.default_loop()

    def on_read(error: Optional[int]) -> None:
        set_timeout(lambda: print("io: timeout"), 0)
        set_immediate(lambda: print("io: immediate"))
        next_tick(lambda: print("io: nextTick"))
        print("io: callback returns")

    loop.queue_work(lambda: None, on_read)
    next_tick(lambda name: print(f"main: nextTick, {name}"), "with an argument")
    print("main: program done, the loop starts")
    loop.run()


if __name__ == "__main__":
    main()
