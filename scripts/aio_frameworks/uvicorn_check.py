"""scripts/aio-frameworks: a Starlette app served by uvicorn on a uvffi.aio loop, queried over
loopback by httpx (on the same loop) and by urllib (from a thread, a client that is not asyncio).

uvicorn is given ``loop="none"`` and serves on a socket bound here (127.0.0.1, an ephemeral port);
its ``Server.serve()`` runs in ``uvffi.aio.run``. Prints one line per check; exits 1 on the first
that fails."""

from __future__ import annotations

import asyncio
import json
import socket
import sys
import urllib.request
from typing import AsyncIterator

import httpx
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, PlainTextResponse, Response, StreamingResponse
from starlette.routing import Route

import uvffi.aio

LIFESPAN = {"startup": 0, "shutdown": 0}


async def root(request: Request) -> Response:
    return PlainTextResponse("hello from starlette")


async def info(request: Request) -> Response:
    loop = asyncio.get_running_loop()
    return JSONResponse({"uvffi": isinstance(loop, uvffi.aio.Loop), "q": request.query_params.get("q")})


async def upload(request: Request) -> Response:
    body = await request.body()
    return JSONResponse({"size": len(body), "sum": sum(body) % 65521})


async def stream(request: Request) -> Response:
    async def chunks() -> AsyncIterator[bytes]:
        for i in range(100):
            yield f"{i}\n".encode()
            await asyncio.sleep(0)
    return StreamingResponse(chunks(), media_type="text/plain")


def lifespan_app() -> Starlette:
    from contextlib import asynccontextmanager

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        LIFESPAN["startup"] += 1
        yield
        LIFESPAN["shutdown"] += 1

    return Starlette(routes=[Route("/", root), Route("/info", info), Route("/upload", upload, methods=["POST"]),
                             Route("/stream", stream)], lifespan=lifespan)


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"uvicorn: {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)
    if not ok:
        sys.exit(1)


async def main() -> None:
    check("the running loop is uvffi.aio's", isinstance(asyncio.get_running_loop(), uvffi.aio.Loop))
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    config = uvicorn.Config(lifespan_app(), loop="none", lifespan="on", log_level="warning")
    server = uvicorn.Server(config)
    serving = asyncio.ensure_future(server.serve(sockets=[sock]))
    for _ in range(500):
        if server.started or serving.done():
            break
        await asyncio.sleep(0.01)
    check("uvicorn started", server.started and LIFESPAN["startup"] == 1, str(serving))
    base = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=base, timeout=10) as client:
            r = await client.get("/")
            check("GET / (httpx)", r.status_code == 200 and r.text == "hello from starlette", r.text)
            r = await client.get("/info", params={"q": "x"})
            check("the app runs on uvffi.aio", r.json() == {"uvffi": True, "q": "x"}, r.text)
            payload = bytes(range(256)) * 4096
            r = await client.post("/upload", content=payload)
            check("POST 1 MiB", r.json() == {"size": len(payload), "sum": sum(payload) % 65521}, r.text)
            r = await client.get("/stream")
            check("streamed response", r.text == "".join(f"{i}\n" for i in range(100)), r.text[:80])
            rs = await asyncio.gather(*(client.get("/info", params={"q": str(i)}) for i in range(30)))
            check("30 concurrent requests", [x.json()["q"] for x in rs] == [str(i) for i in range(30)])
            r = await client.get("/missing")
            check("404", r.status_code == 404, str(r.status_code))

        def blocking_get() -> str:
            with urllib.request.urlopen(f"{base}/info?q=thread", timeout=10) as resp:
                return resp.read().decode()

        body = await asyncio.get_running_loop().run_in_executor(None, blocking_get)
        check("GET from a thread (urllib)", json.loads(body)["q"] == "thread", body)
    finally:
        server.should_exit = True
        await asyncio.wait_for(serving, 15)
    check("uvicorn shut down (lifespan shutdown ran)", LIFESPAN["shutdown"] == 1)
    print("uvicorn: all checks passed", flush=True)


if __name__ == "__main__":
    uvffi.aio.run(asyncio.wait_for(main(), 60))
