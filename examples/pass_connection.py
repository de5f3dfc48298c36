"""Pass TCP connections to a worker loop over an IPC pipe.

The main loop accepts connections on a loopback server and hands each one to a worker:
another thread running its own loop, connected to the main loop by an IPC pipe (a
socketpair, ``uvffi.Pipe(loop, ipc=True)`` on each end). The main loop sends a
connection with ``ipc.write(data, send_handle=conn)`` and closes its own copy once the
write is done; the worker's read callback sees ``pending_handle_type() == UV_TCP`` and
``accept``s it into a TCP handle of its own loop, then serves it: it answers each
greeting and closes. Three clients (on the main loop) connect and print the answers.
Every handle is used only on its own loop's thread.
"""

from __future__ import annotations

import threading
from typing import List, Optional

import uvffi


def worker(fd: int, log: List[str]) -> None:
    """The worker thread: its own loop, the IPC pipe's far end, and the connections it gets."""
    loop = uvffi.Loop()
    ipc = uvffi.Pipe(loop, ipc=True)
    ipc.open(fd)

    def serve(conn: uvffi.TCP) -> None:
        def on_read(c: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            if data is None:
                c.close()
                return
            c.write(b"worker thread answers: " + data)
            c.shutdown(lambda h, err: h.close())

        conn.start_read(on_read)

    def on_ipc(pipe: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
        if data is None:  # the main loop closed its end: no more connections
            log.append("worker: the IPC pipe ended, stopping")
            pipe.close()
            return
        while pipe.pending_handle_type() == uvffi.UV_TCP:
            conn = uvffi.TCP(loop)
            pipe.accept(conn)
            on_worker = threading.current_thread() is not threading.main_thread()
            log.append(f"worker: got a connection, served on the worker thread: {on_worker}")
            serve(conn)

    ipc.start_read(on_ipc)
    loop.run()
    loop.close()


def main() -> None:
    loop = uvffi.Loop()
    ours, theirs = uvffi.socketpair()
    ipc = uvffi.Pipe(loop, ipc=True)
    ipc.open(ours)
    log: List[str] = []
    thread = threading.Thread(target=worker, args=(theirs, log))
    thread.start()

    server = uvffi.TCP(loop)
    server.bind(("127.0.0.1", 0))
    clients = 3
    handed: List[uvffi.TCP] = []

    def on_connection(srv: uvffi.TCP, error: Optional[int]) -> None:
        conn = uvffi.TCP(loop)
        srv.accept(conn)
        # The socket travels with the byte; our copy is closed once the write is done.
        ipc.write(b".", lambda h, err: conn.close(), send_handle=conn)
        handed.append(conn)
        if len(handed) == clients:
            srv.close()

    server.listen(on_connection)
    answers: List[str] = []

    def client(n: int) -> None:
        c = uvffi.TCP(loop)
        chunks: List[bytes] = []

        def on_read(h: uvffi.TCP, data: Optional[bytes], error: Optional[int]) -> None:
            if data is not None:
                chunks.append(data)
                return
            answers.append(b"".join(chunks).decode())
            h.close()
            if len(answers) == clients:
                ipc.close()  # the worker's read sees the end and its loop finishes

        def on_connect(h: uvffi.TCP, error: Optional[int]) -> None:
            h.write(f"hello from client {n}".encode())
            h.start_read(on_read)

        c.connect(server.getsockname(), on_connect)

    for n in range(clients):
        client(n)
    loop.run()
    thread.join()
    loop.close()
    print(f"main: handed {len(handed)} connections to the worker")
    for line in sorted(answers):
        print(f"client: {line}")
    for line in log:
        print(line)


if __name__ == "__main__":
    main()
