"""uvffi's requests, one module per libuv request kind; :mod:`.base` states the
rules they share."""

from .base import Request
from .fs import FSRequest
from .stream import ConnectRequest, ShutdownRequest, StreamRequest, WriteRequest
from .udp_send import UDPSendRequest
from .work import WorkRequest

__all__ = ["FSRequest", "Request", "WorkRequest", "UDPSendRequest", "StreamRequest", "WriteRequest", "ShutdownRequest",
           "ConnectRequest"]
