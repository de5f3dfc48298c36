"""uvffi's handles, one module per libuv handle kind; :mod:`.base` states the
lifetime rules they share."""

from .async_ import Async
from .base import Handle
from .fs_event import FSEvent
from .fs_poll import FSPoll
from .loop_watchers import Check, Idle, Prepare
from .pipe import Pipe
from .poll import Poll
from .process import Process, StdIO
from .signal import Signal
from .stream import Stream, pipe, socketpair
from .tcp import TCP
from .timer import Timer
from .tty import TTY
from .udp import UDP

__all__ = ["Handle", "Timer", "Prepare", "Check", "Idle", "Async", "Signal", "Poll", "UDP", "FSEvent", "FSPoll",
           "Process", "StdIO", "Stream", "TCP", "Pipe", "TTY", "socketpair", "pipe"]
