"""Seed 003, ``setImmediate()`` vs ``setTimeout()`` inside an I/O cycle: the
immediate always runs first. The file is read in libuv's thread pool; its
completion callback runs in the poll phase, the check phase (immediates)
follows, and timers only come round in the next iteration.
"""

from __future__ import annotations

from typing import Optional

from uvffi import Loop
from uvffi.scheduler import set_immediate, set_timeout


def read_file(path: str) -> bytes:
    with open(path, "rb") as f:
        return f.read()


def main() -> None:
    loop = Loop.default_loop()

    def on_read(error: Optional[int]) -> None:
        set_timeout(lambda: print("timeout"), 0)
        set_immediate(lambda: print("immediate"))

    loop.queue_work(lambda: read_file(__file__), on_read)  # fs.readFile(__filename, ...)
    loop.run()


if __name__ == "__main__":
    main()
