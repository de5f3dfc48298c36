"""Seed 003, ``setImmediate()`` vs ``setTimeout()`` from the main module: the
order of the two is not determined (it depends on how fast the process gets
to the loop's first timers phase); both always run.
"""

from __future__ import annotations

from uvffi import Loop
from uvffi.scheduler import set_immediate, set_timeout


def main() -> None:
    set_timeout(lambda: print("timeout"), 0)
    set_immediate(lambda: print("immediate"))
    Loop.default_loop().run()


if __name__ == "__main__":
    main()
