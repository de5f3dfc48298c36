"""Watch a directory with ``uvffi.fs.FSEvent`` while a timer changes it: every 50 ms the
timer takes the next step (create ``notes.txt``, append to it, rename it to
``done.txt``) and the watcher records what each step made it see; after the last step's
events the watcher and the timer close and the loop ends.

The callback gets ``(handle, filename, events, error)``: ``filename`` relative to the
watched directory and ``events`` ``UV_RENAME`` (an entry appeared, went or was renamed:
both names of a rename are reported) and/or ``UV_CHANGE`` (its data or attributes
changed). The kernel may merge events that repeat (two quick writes can give one
``UV_CHANGE``), so a step is printed as the set of files it touched with the kinds of
event each got, not as a count of callbacks. A step's events have all arrived before the
next step: the loop reads them in the poll phase that follows the timer callback."""

from __future__ import annotations

import os
import tempfile
from typing import Callable, Dict, List, Optional, Tuple

import uvffi
from uvffi import fs


def event_names(events: int) -> str:
    """``UV_CHANGE | UV_RENAME`` -> ``"change rename"``."""
    names = [name for flag, name in ((fs.UV_CHANGE, "change"), (fs.UV_RENAME, "rename")) if events & flag]
    return " ".join(names)


def main() -> None:
    loop = uvffi.Loop()
    with tempfile.TemporaryDirectory() as directory:
        notes, done = os.path.join(directory, "notes.txt"), os.path.join(directory, "done.txt")

        def create() -> None:
            with open(notes, "wb") as f:
                f.write(b"first line\n")

        def append() -> None:
            with open(notes, "ab") as f:
                f.write(b"second line\n")

        steps: List[Tuple[str, Callable[[], None]]] = [
            ("create notes.txt", create),
            ("append to notes.txt", append),
            ("rename notes.txt to done.txt", lambda: os.rename(notes, done)),
        ]
        # what the last step must show before the watcher stops
        last_step = {"notes.txt": fs.UV_RENAME, "done.txt": fs.UV_RENAME}
        seen: Dict[str, int] = {}  # filename -> the event kinds since the current step
        watcher = fs.FSEvent(loop)
        timer = uvffi.Timer(loop)
        guard = uvffi.Timer(loop)

        def report() -> None:
            for filename in sorted(seen):
                print(f"  {filename}: {event_names(seen[filename])}")
            seen.clear()

        def on_event(handle: fs.FSEvent, filename: Optional[str], events: int, error: Optional[int]) -> None:
            if error is not None:
                print(f"watcher: error {error}")
                return
            seen[filename or ""] = seen.get(filename or "", 0) | events
            if not steps and all(seen.get(name, 0) & kind for name, kind in last_step.items()):
                report()
                handle.close()  # the fixed set of events is in: stop watching
                timer.close()
                guard.close()

        def on_timer(handle: uvffi.Timer) -> None:
            report()  # what the previous step made the watcher see
            if not steps:
                return
            what, do = steps.pop(0)
            print(f"timer: {what}")
            do()
            if not steps:
                handle.stop()

        def give_up(handle: uvffi.Timer) -> None:  # only if an expected event never came
            print("guard: gave up waiting for events")
            report()
            for h in (watcher, timer, handle):
                h.close()

        watcher.start(directory, 0, on_event)
        print(f"watching a temporary directory (watcher active: {watcher.active})")
        timer.start(on_timer, 0.05, 0.05)
        guard.start(give_up, 10.0, 0)
        guard.ref = False  # only the watcher and the timer keep the loop running
        loop.run()
        print(f"done (watcher closed: {watcher.closed})")
    loop.close()


if __name__ == "__main__":
    main()
