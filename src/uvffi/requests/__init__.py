"""uvffi's requests, one module per libuv request kind; :mod:`.base` states the
rules they share."""

from .base import Request
from .fs import FSRequest
from .udp_send import UDPSendRequest
from .work import WorkRequest

__all__ = ["FSRequest", "Request", "WorkRequest", "UDPSendRequest"]
