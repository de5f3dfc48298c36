"""A 'modal' loop (seed 000): a second loop, run from inside a callback of the
first, pauses the first until some action occurs (here: a thread "presses
Return" after a moment, through ``call_soon_threadsafe`` on the modal loop).
"""

from __future__ import annotations

import threading
import time
from typing import List

import uvffi


def main() -> None:
    loop = uvffi.Loop()
    ticks: List[int] = []

    def ask_user() -> str:
        """Run a modal loop until the 'user' answers; the main loop is paused meanwhile."""
        modal = uvffi.Loop()
        answer: List[str] = []
        waiting = uvffi.Timer(modal)  # keeps the modal loop alive until the answer comes

        def got_answer(text: str) -> None:
            answer.append(text)
            waiting.close()

        def user() -> None:
            time.sleep(0.05)
            modal.call_soon_threadsafe(got_answer, "yes")

        waiting.start(lambda h: None, 3600.0, 0)
        threading.Thread(target=user).start()
        print("modal: waiting for the user to press Return...")
        modal.run()
        modal.close()
        return answer[0]

    def on_tick(timer: uvffi.Timer) -> None:
        ticks.append(len(ticks) + 1)
        n = ticks[-1]
        print(f"main: tick {n}")
        if n == 2:
            before = len(ticks)
            print(f"modal: the user answered {ask_user()!r}")
            print(f"main: ticks while the modal loop ran: {len(ticks) - before}")
        if n == 4:
            timer.close()

    uvffi.Timer(loop).start(on_tick, 0.01, 0.01)
    loop.run()
    loop.close()
    print("main: done")


if __name__ == "__main__":
    main()
