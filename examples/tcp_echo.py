"""A TCP echo server and a client on one loop (pyuv's classic example): the server
echoes whatever a connection sends until it shuts its side down; the client sends
three lines, prints each echo as it arrives, then shuts down and closes."""

from __future__ import annotations

from typing import List, Optional

import uvffi


def main() -> None:
    loop = uvffi.Loop()
    server = uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))  # any free port

    def on_connection(srv: uvffi.TCP, error: Optional[int]) -> None:
        conn = uvffi.TCP(loop)
        srv.accept(conn)
        print("server: connection from 127.0.0.1")

        def on_read(c: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            if data is None:  # UV_EOF: the client shut its side down
                print("server: client done, closing")
                c.close()
                srv.close()
            else:
                c.write(data)

        conn.start_read(on_read)

    server.listen(on_connection)

    lines = [b"hello\n", b"from uvffi\n", b"bye\n"]
    received: List[bytes] = []
    client = uvffi.TCP(loop)

    def on_echo(c: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:
            print("client: server closed")
            c.close()
            return
        received.append(data)
        text = b"".join(received)
        while b"\n" in text:
            line, text = text.split(b"\n", 1)
            print(f"client: echo {line.decode()!r}")
        received[:] = [text] if text else []
        if not lines:
            c.shutdown(lambda h, e: print("client: shut down"))
        else:
            c.write(lines.pop(0))

    def on_connect(c: uvffi.TCP, error: Optional[int]) -> None:
        print("client: connected" if error is None else f"client: error {error}")
        c.start_read(on_echo)
        c.write(lines.pop(0))

    client.connect(server.getsockname(), on_connect)
    loop.run()
    print("done")


if __name__ == "__main__":
    main()
