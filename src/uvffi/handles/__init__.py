"""uvffi's handles, one module per libuv handle kind; :mod:`.base` states the
lifetime rules they share."""

from .async_ import Async
from .base import Handle
from .loop_watchers import Check, Idle, Prepare
from .pipe import Pipe
from .poll import Poll
from .signal import Signal
from .stream import Stream, pipe, socketpair
from .tcp import TCP
from .timer import Timer
from .tty import TTY

__all__ = ["Handle", "Timer", "Prepare", "Check", "Idle", "Async", "Signal", "Poll", "Stream", "TCP", "Pipe", "TTY",
           "socketpair", "pipe"]
