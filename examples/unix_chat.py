"""A chat over a unix socket: a server relays each line a member sends to the other
members. Two members join (alice, bob), talk, and leave; the server stops when the
room is empty. The socket lives in a temporary directory."""

from __future__ import annotations

import os
import tempfile
from typing import Dict, List, Optional

import uvffi


def main() -> None:
    loop = uvffi.Loop()
    path = os.path.join(tempfile.mkdtemp(), "chat.sock")
    server = uvffi.Pipe(loop)
    server.bind(path)
    members: List[uvffi.Pipe] = []

    def on_connection(srv: uvffi.Pipe, error: Optional[int]) -> None:
        conn = uvffi.Pipe(loop)
        srv.accept(conn)
        members.append(conn)

        def on_read(c: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
            if data is None:
                members.remove(c)
                c.close()
                for other in members:
                    other.write(b"server: a member left\n")
                if not members:
                    print("server: room empty, closing")
                    srv.close()
                return
            for other in members:
                if other is not c:
                    other.write(data)

        conn.start_read(on_read)

    server.listen(on_connection)

    script: Dict[str, List[bytes]] = {
        "alice": [b"alice: hi bob\n", b"alice: see you\n"],
        "bob": [b"bob: hi alice\n", b"bob: bye\n"],
    }
    clients: Dict[str, uvffi.Pipe] = {}

    def join(name: str) -> None:
        client = uvffi.Pipe(loop)
        clients[name] = client

        def on_read(c: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
            if data is None:
                c.close()
                return
            for line in data.decode().splitlines():
                print(f"{name} hears: {line}")
                # answer each line heard with the next line of the script, or leave
                if script[name]:
                    c.write(script[name].pop(0))
                else:
                    print(f"{name} leaves")
                    c.close()

        def on_connect(c: uvffi.Pipe, error: Optional[int]) -> None:
            print(f"{name} joined")
            c.start_read(on_read)
            if name == "bob":  # both are in: bob opens the conversation
                def open_talk(t: uvffi.Timer) -> None:
                    t.close()
                    c.write(script["bob"].pop(0))

                uvffi.Timer(loop).start(open_talk, 0.05, 0)

        client.connect(path, on_connect)

    def bob_joins(t: uvffi.Timer) -> None:
        t.close()
        join("bob")

    join("alice")
    uvffi.Timer(loop).start(bob_joins, 0.05, 0)
    loop.run()
    # libuv removed the socket file when the server closed
    os.rmdir(os.path.dirname(path))
    print("done")


if __name__ == "__main__":
    main()
