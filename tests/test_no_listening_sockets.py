"""uvffi opens no listening socket of its own: a program that uses loops, timers,
call_soon_threadsafe, signals, child processes, DNS and the fs functions, and whose run()
has its Ctrl-C wakeup socket installed, has only the listening sockets it made itself
(the kernel's tables, /proc/net/tcp, tcp6 and unix, read for the sockets this process
holds)."""

from __future__ import annotations

import ast
import subprocess
import sys
import textwrap

import pytest

CHILD = r'''
import os, signal, socket, sys, tempfile, threading
import uvffi
from uvffi import dns, fs

def my_listening_sockets():
    """(table, inode) of every listening socket whose inode one of our fds holds."""
    mine = set()
    for fd in os.listdir("/proc/self/fd"):
        try:
            target = os.readlink(f"/proc/self/fd/{fd}")
        except OSError:
            continue
        if target.startswith("socket:["):
            mine.add(target[8:-1])
    found = set()
    for table in ("tcp", "tcp6"):
        with open(f"/proc/net/{table}") as f:
            for line in f.readlines()[1:]:
                cols = line.split()
                if cols[3] == "0A" and cols[9] in mine:  # st 0A: TCP_LISTEN
                    found.add((table, cols[9]))
    with open("/proc/net/unix") as f:
        for line in f.readlines()[1:]:
            cols = line.split()
            if int(cols[3], 16) & 0x10000 and cols[6] in mine:  # __SO_ACCEPTCON: listening
                found.add(("unix", cols[6]))
    return found

def inode(handle):
    return os.readlink(f"/proc/self/fd/{handle.fileno()}")[8:-1]

tmp = tempfile.mkdtemp()
loop = uvffi.Loop()
# the test's own listening sockets, which must be the only ones found
server = uvffi.TCP(loop)
server.bind(("127.0.0.1", 0))
server.listen(lambda *a: None)
unix_server = uvffi.Pipe(loop)
unix_server.bind(os.path.join(tmp, "s"))
unix_server.listen(lambda *a: None)
ours = {("tcp", inode(server)), ("unix", inode(unix_server))}

seen = {}
def look(when):
    seen[when] = my_listening_sockets() - ours

sig = uvffi.Signal(loop)
sig.start(lambda *a: None, signal.SIGUSR1)
uvffi.Process.spawn(loop, ["true"], stdio=[uvffi.StdIO(stream=uvffi.Pipe(loop), flags=uvffi.UV_CREATE_PIPE
                                                                       | uvffi.UV_READABLE_PIPE)],
                    exit_callback=lambda p, *a: p.close())
dns.getaddrinfo(loop, "127.0.0.1", 80, callback=lambda *a: None)
fs.stat(loop, tmp, lambda req: None)
threading.Thread(target=loop.call_soon_threadsafe, args=(look, "in a call_soon_threadsafe callback")).start()

def in_run(t):
    assert loop._wakeup is not None  # the Ctrl-C wakeup socketpair exists during this run
    look("in a callback of a run() with the Ctrl-C wakeup installed")
    sig.close()
    server.close()
    unix_server.close()
uvffi.Timer(loop).start(in_run, 0.2, 0)
assert len(my_listening_sockets() & ours) == 2, "the detector does not see the test's own listening sockets"
loop.run()
look("after run()")
loop.close()
look("after close()")
print(repr(sorted((when, sorted(found)) for when, found in seen.items())))
'''


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads Linux's /proc/net tables")
def test_uvffi_opens_no_listening_socket_of_its_own():
    r = subprocess.run([sys.executable, "-c", textwrap.dedent(CHILD)], capture_output=True, text=True, timeout=60)
    assert r.returncode == 0, r.stderr
    seen = ast.literal_eval(r.stdout)
    assert [when for when, _ in seen] == sorted([
        "in a call_soon_threadsafe callback", "in a callback of a run() with the Ctrl-C wakeup installed",
        "after run()", "after close()"])
    assert all(found == [] for _, found in seen), seen
