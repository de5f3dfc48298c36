"""One loop per thread (seed 000's 'standard model'): each thread owns a loop
and runs it; results travel back to the main loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import threading
from typing import Dict, List

import uvffi

N_THREADS = 3
N_TICKS = 5


def main() -> None:
    main_loop = uvffi.Loop()
    results: Dict[str, List[int]] = {}
    finished: List[str] = []
    waiting = uvffi.Timer(main_loop)  # keeps the main loop running until every thread reported

    def report(name: str, ticks: List[int], ident: int) -> None:
        assert threading.get_ident() == main_ident
        results[name] = ticks
        finished.append(name)
        if len(finished) == N_THREADS:
            waiting.close()

    def thread_main(name: str) -> None:
        loop = uvffi.Loop()  # this thread's own loop
        ticks: List[int] = []

        def on_timer(timer: uvffi.Timer) -> None:
            ticks.append(len(ticks) + 1)
            if len(ticks) == N_TICKS:
                timer.close()

        uvffi.Timer(loop).start(on_timer, 0.001, 0.001)
        loop.run()
        loop.close()
        main_loop.call_soon_threadsafe(report, name, ticks, threading.get_ident())

    main_ident = threading.get_ident()
    waiting.start(lambda h: None, 3600.0, 0)
    threads = [threading.Thread(target=thread_main, args=(f"thread-{i}",)) for i in range(N_THREADS)]
    for t in threads:
        t.start()
    main_loop.run()
    for t in threads:
        t.join()
    main_loop.close()
    for name in sorted(results):
        print(f"{name}: its own loop ran {len(results[name])} timer callbacks: {results[name]}")
    print(f"main: {len(results)} loops ran in {len(results)} threads")


if __name__ == "__main__":
    main()
