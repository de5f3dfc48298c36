"""Seed 003, "Leaving Timeouts Behind": an unref'd Timeout does not keep the
loop alive; ``ref()`` called from an immediate brings it back to life.
"""

from __future__ import annotations

from uvffi import Loop
from uvffi.scheduler import set_immediate, set_timeout


def main() -> None:
    timer_obj = set_timeout(lambda: print("will i run?"))

    # if left alone, this statement will keep the above
    # timeout from running, since the timeout will be the only
    # thing keeping the program from exiting
    timer_obj.unref()

    # we can bring it back to life by calling ref() inside
    # an immediate
    set_immediate(lambda: timer_obj.ref())
    Loop.default_loop().run()

    # Without the immediate, the loop ends at once and the timeout never runs.
    ran = []
    lone = set_timeout(lambda: ran.append(True))
    lone.unref()
    Loop.default_loop().run()
    print(f"an unref'd timeout alone: ran={bool(ran)}, still pending={lone.active}")


if __name__ == "__main__":
    main()
