"""uvffi's handles, one module per libuv handle kind; :mod:`.base` states the
lifetime rules they share."""

from .async_ import Async
from .base import Handle
from .fs_event import FSEvent
from .fs_poll import FSPoll
from .loop_watchers import Check, Idle, Prepare
from .poll import Poll
from .process import Process, StdIO
from .signal import Signal
from .timer import Timer
from .udp import UDP

__all__ = ["Handle", "Timer", "Prepare", "Check", "Idle", "Async", "Signal", "Poll", "UDP", "FSEvent", "FSPoll",
           "Process", "StdIO"]
