"""uvffi.aio: an asyncio event loop on libuv, on CPython and PyPy.

``uvffi.aio.run(main())`` runs a coroutine on a :class:`Loop`; ``uvffi.aio.install()``
makes every new asyncio loop a uvffi one; ``import uvffi.aio as uvloop`` gives a uvloop
program the names it uses (``new_event_loop``, ``run``, ``EventLoopPolicy``,
``install``, ``Loop``). ``loop.uv_loop`` is the :class:`uvffi.Loop` underneath, for
raw uvffi handles running beside the coroutines.
"""

from __future__ import annotations

from .loop import Loop
from .policy import EventLoopPolicy, install, new_event_loop, run

__all__ = ["Loop", "new_event_loop", "run", "EventLoopPolicy", "install"]
