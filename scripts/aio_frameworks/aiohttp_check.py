"""scripts/aio-frameworks: an aiohttp server and client on one uvffi.aio loop, over loopback.

Plain GETs, a 1 MiB POST echoed back, a 1 MiB streamed response, 50 concurrent requests on a
connection pool, a WebSocket echo, and a request to a closed port (the connection error). Prints
one line per check; exits 1 on the first that fails."""

from __future__ import annotations

import asyncio
import hashlib
import os
import socket
import sys

import aiohttp
from aiohttp import web

import uvffi.aio

BIG = os.urandom(1 << 20)


async def hello(request: web.Request) -> web.Response:
    return web.Response(text=f"hello {request.query.get('n', '')}")


async def echo(request: web.Request) -> web.Response:
    return web.Response(body=await request.read())


async def stream(request: web.Request) -> web.StreamResponse:
    resp = web.StreamResponse()
    await resp.prepare(request)
    for i in range(0, len(BIG), 65536):
        await resp.write(BIG[i:i + 65536])
    await resp.write_eof()
    return resp


async def ws(request: web.Request) -> web.WebSocketResponse:
    sock = web.WebSocketResponse()
    await sock.prepare(request)
    async for msg in sock:
        if msg.type == aiohttp.WSMsgType.TEXT:
            await sock.send_str("echo:" + msg.data)
        elif msg.type == aiohttp.WSMsgType.BINARY:
            await sock.send_bytes(msg.data[::-1])
    return sock


def check(name: str, ok: bool, detail: str = "") -> None:
    print(f"aiohttp: {'ok  ' if ok else 'FAIL'} {name}{': ' + detail if detail and not ok else ''}", flush=True)
    if not ok:
        sys.exit(1)


async def main() -> None:
    loop = asyncio.get_running_loop()
    check("the running loop is uvffi.aio's", isinstance(loop, uvffi.aio.Loop), repr(loop))
    app = web.Application(client_max_size=4 << 20)
    app.add_routes([web.get("/hello", hello), web.post("/echo", echo), web.get("/stream", stream),
                    web.get("/ws", ws)])
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    base = f"http://127.0.0.1:{port}"
    try:
        async with aiohttp.ClientSession() as session:
            async with session.get(f"{base}/hello", params={"n": "1"}) as r:
                check("GET", r.status == 200 and await r.text() == "hello 1", str(r.status))
            async with session.post(f"{base}/echo", data=BIG) as r:
                body = await r.read()
                check("POST 1 MiB echoed", hashlib.sha256(body).digest() == hashlib.sha256(BIG).digest(),
                      f"{len(body)} bytes")
            async with session.get(f"{base}/stream") as r:
                body = await r.read()
                check("1 MiB streamed response", body == BIG, f"{len(body)} bytes")

            async def one(i: int) -> str:
                async with session.get(f"{base}/hello", params={"n": str(i)}) as r:
                    return await r.text()

            texts = await asyncio.gather(*(one(i) for i in range(50)))
            check("50 concurrent requests", texts == [f"hello {i}" for i in range(50)])
            async with session.ws_connect(f"{base}/ws") as wsc:
                await wsc.send_str("abc")
                m1 = await wsc.receive(timeout=10)
                await wsc.send_bytes(b"xyz")
                m2 = await wsc.receive(timeout=10)
                check("WebSocket echo", m1.data == "echo:abc" and m2.data == b"zyx", f"{m1.data!r} {m2.data!r}")
            with socket.socket() as s:
                s.bind(("127.0.0.1", 0))
                closed = s.getsockname()[1]
            try:
                async with session.get(f"http://127.0.0.1:{closed}/"):
                    pass
            except aiohttp.ClientConnectorError:
                check("connection refused raises ClientConnectorError", True)
            else:
                check("connection refused raises ClientConnectorError", False, "no error")
    finally:
        await runner.cleanup()
    print("aiohttp: all checks passed", flush=True)


if __name__ == "__main__":
    uvffi.aio.run(asyncio.wait_for(main(), 60))
