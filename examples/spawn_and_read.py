"""Spawn a child process and talk to it through pipes: the parent writes lines to the
child's stdin, closes it, and reads the child's stdout and stderr until each ends; the
exit callback reports the status. The child (another Python) upper-cases what it reads
and counts the lines on stderr.

Each stdio entry is a ``uvffi.StdIO``: ``UV_CREATE_PIPE`` makes a new pipe whose
parent end is the (unopened) ``uvffi.Pipe`` given; ``UV_READABLE_PIPE`` and
``UV_WRITABLE_PIPE`` are from the child's point of view. Read to the end (``UV_EOF``):
a child may write one line in several writes."""

from __future__ import annotations

import sys
from typing import Callable, Dict, List, Optional, Tuple

import uvffi
from uvffi.errno import UV_EOF

CHILD = """
import sys
n = 0
for line in sys.stdin:
    sys.stdout.write(line.upper())
    n += 1
sys.stderr.write("child: %d lines\\n" % n)
sys.exit(3)
"""


def main() -> None:
    loop = uvffi.Loop()
    stdin, stdout, stderr = uvffi.Pipe(loop), uvffi.Pipe(loop), uvffi.Pipe(loop)
    child_reads = uvffi.UV_CREATE_PIPE | uvffi.UV_READABLE_PIPE
    child_writes = uvffi.UV_CREATE_PIPE | uvffi.UV_WRITABLE_PIPE
    received: Dict[str, List[bytes]] = {"stdout": [], "stderr": []}
    ended: List[str] = []
    exits: List[Tuple[int, int]] = []

    def on_exit(proc: uvffi.Process, exit_status: int, term_signal: int) -> None:
        exits.append((exit_status, term_signal))
        proc.close()

    proc = uvffi.Process.spawn(
        loop, [sys.executable, "-c", CHILD],
        stdio=[uvffi.StdIO(stream=stdin, flags=child_reads),
               uvffi.StdIO(stream=stdout, flags=child_writes),
               uvffi.StdIO(stream=stderr, flags=child_writes)],
        exit_callback=on_exit)
    print(f"parent: spawned a child (pid > 0: {proc.pid > 0})")

    def reader(name: str) -> Callable[[uvffi.Pipe, Optional[bytes], Optional[int]], None]:
        def on_read(handle: uvffi.Pipe, data: Optional[bytes], error: Optional[int]) -> None:
            if data is not None:
                received[name].append(data)  # one line may come in several reads
                return
            if error == UV_EOF:
                ended.append(name)
            handle.close()
        return on_read

    stdout.start_read(reader("stdout"))
    stderr.start_read(reader("stderr"))
    stdin.writelines([b"hello\n", b"from the parent\n"])
    stdin.shutdown(lambda handle, error: handle.close())  # the child's stdin ends here
    loop.run()  # until the child exited and both pipes ended (their order varies)
    loop.close()
    for name in ("stdout", "stderr"):
        for line in b"".join(received[name]).decode().splitlines():
            print(f"parent: {name}: {line}")
        print(f"parent: {name} ended: {name in ended}")
    print(f"parent: the child exited with status {exits[0][0]} (signal {exits[0][1]})")


if __name__ == "__main__":
    main()
