"""Two loops used for synchronisation (seed 000, "Using two loops for synchronization").

A thread-pool worker must have a function run on the main thread and wait for
its result. Instead of a condition variable, the worker:

1. creates a new event loop in the worker thread;
2. associates an Async with this new loop;
3. passes this handle to the main thread through the main loop's Async's ``data``;
4. runs the new loop, which blocks because the Async keeps it alive;
5. the main thread's Async callback calls the function, then ``send()``s the
   worker's Async;
6. that Async's callback closes the handle itself, the private loop has nothing
   left, ``run()`` returns and the worker goes on.
"""

from __future__ import annotations

import threading
from typing import Any, Callable, Optional

import uvffi

MAIN_THREAD = threading.get_ident()


def custom_function() -> int:
    """The function that has to run on the main thread."""
    print(f"custom_function: on the main thread: {threading.get_ident() == MAIN_THREAD}")
    return 42


class Request:
    """What the worker hands to the main loop: the function, its private Async, the result."""

    def __init__(self, fn: Callable[[], Any], reply: uvffi.Async) -> None:
        self.fn = fn
        self.reply = reply
        self.result: Any = None


def main() -> None:
    loop = uvffi.Loop.default_loop()

    def on_main_async(handle: uvffi.Async) -> None:
        req: Optional[Request] = handle.data  # type: ignore[attr-defined]
        assert req is not None
        print("main: async callback, running the function for the worker")
        req.result = req.fn()
        print("main: signalling the worker's private loop")
        req.reply.send()

    main_async = uvffi.Async(loop, on_main_async)
    main_async.data = None  # type: ignore[attr-defined]

    def blocking_call() -> None:
        # 1. a new event loop in the worker thread
        private = uvffi.Loop()

        def on_reply(handle: uvffi.Async) -> None:
            # 6. close the handle itself: the private loop's refcount drops to zero
            print("worker: private async fired, closing it")
            handle.close()

        # 2. an Async associated with the new loop
        reply = uvffi.Async(private, on_reply)
        req = Request(custom_function, reply)
        # 3. hand it to the main thread through the main loop's Async's data
        print("worker: handing a private Async to the main loop, running the private loop")
        main_async.data = req  # type: ignore[attr-defined]
        main_async.send()
        # 4. run the new loop: it blocks while the Async keeps it alive
        private.run()
        print(f"worker: private loop returned, the function gave {req.result}")
        private.close()

    def work_done(error: Optional[int]) -> None:
        print(f"main: work done (error={error})")
        main_async.close()

    print("main: queue_work(blocking_call)")
    loop.queue_work(blocking_call, work_done)
    loop.run()


if __name__ == "__main__":
    main()
