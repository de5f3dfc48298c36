"""uvffi's requests, one module per libuv request kind; :mod:`.base` states the
rules they share."""

from .base import Request
from .stream import ConnectRequest, ShutdownRequest, StreamRequest, WriteRequest
from .work import WorkRequest

__all__ = ["Request", "WorkRequest", "StreamRequest", "WriteRequest", "ShutdownRequest", "ConnectRequest"]
