"""Shared pieces of the tests/test_aio_transports_*.py files: a fresh uvffi.aio loop, a runner
with a generous timeout (a hang fails instead of blocking the suite), and recording protocols."""

from __future__ import annotations

import asyncio
import shutil
import ssl
import subprocess
from pathlib import Path
from typing import Any, Awaitable, List, Optional, Tuple, TypeVar

import pytest

T = TypeVar("T")


def run(loop: asyncio.AbstractEventLoop, coro: Awaitable[T], timeout: float = 30.0) -> T:
    """Run ``coro`` on ``loop``; a hang becomes a TimeoutError, not a stuck suite."""
    return loop.run_until_complete(asyncio.wait_for(coro, timeout))


class Recorder(asyncio.Protocol):
    """A protocol that records its calls: ``events`` in order, ``data`` received, and futures
    for ``made`` and ``lost`` (the latter's result is the exception passed, or None)."""

    def __init__(self, eof_keeps_open: bool = False) -> None:
        loop = asyncio.get_event_loop()
        self.events: List[str] = []
        self.data = bytearray()
        self.transport: Any = None
        self.eof_keeps_open = eof_keeps_open
        self.made: "asyncio.Future[None]" = loop.create_future()
        self.lost: "asyncio.Future[Optional[BaseException]]" = loop.create_future()
        self.eof: "asyncio.Future[None]" = loop.create_future()

    def connection_made(self, transport: Any) -> None:
        self.events.append("made")
        self.transport = transport
        self.made.set_result(None)

    def data_received(self, data: bytes) -> None:
        if not self.events or self.events[-1] != "data":
            self.events.append("data")
        self.data += data

    def eof_received(self) -> bool:
        self.events.append("eof")
        self.eof.set_result(None)
        return self.eof_keeps_open

    def pause_writing(self) -> None:
        self.events.append("pause_writing")

    def resume_writing(self) -> None:
        self.events.append("resume_writing")

    def connection_lost(self, exc: Optional[BaseException]) -> None:
        self.events.append("lost")
        self.lost.set_result(exc)


class EchoServer(asyncio.Protocol):
    """Echoes what it receives; closes at EOF once the echo is written."""

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def data_received(self, data: bytes) -> None:
        self.transport.write(data)

    def eof_received(self) -> bool:
        return False


def self_signed_cert(directory: Path) -> Tuple[Path, Path]:
    """A self-signed certificate for localhost / 127.0.0.1, made with the openssl command."""
    openssl = shutil.which("openssl")
    if openssl is None:  # pragma: no cover - openssl is on PATH wherever the suite runs
        pytest.fail("the openssl command is needed to make the test certificate")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run([openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out", str(cert),
                    "-days", "2", "-subj", "/CN=localhost", "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"],
                   check=True, capture_output=True, timeout=120)
    return cert, key


def ssl_contexts(directory: Path) -> Tuple[ssl.SSLContext, ssl.SSLContext]:
    """(server context, client context) trusting the self-signed certificate."""
    cert, key = self_signed_cert(directory)
    server = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server.load_cert_chain(str(cert), str(key))
    client = ssl.create_default_context(cafile=str(cert))
    return server, client
