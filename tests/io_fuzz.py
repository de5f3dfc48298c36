"""The I/O fuzz campaign: every I/O method of uvffi (TCP, Pipe, TTY, UDP, Poll, Process and
StdIO, the Stream methods, the fs and dns functions) called with bad input: wrong types,
closed and closing handles, handles of another loop, huge and negative numbers, objects
that are not buffers, addresses of the wrong family or shape, None. Each call must return
or raise an ``Exception`` (not ``SystemError``, which means C left an error unset or set
one wrongly, nor a ``UVError`` ``UV_EFAULT``: a bad pointer handed to a system call); anything
else, a crash above all, fails the campaign.

The table (:data:`METHODS`) names each method with one valid value per argument and the
pool of bad values for it. The systematic pass calls every method on every state of its
receiver once with the valid arguments, then once per bad value of each argument with
the others valid; a random pass (``--random N``) then draws every argument at once.

Run as a program it fuzzes in this process, writing each call to ``--log`` before making
it (one ``write(2)``: the line is on disk whatever happens next), so that the parent of
a process that died can name the call that killed it. ``tests/test_io_fuzz.py`` runs it
in chunks; ``scripts/fuzz_io`` runs a longer campaign.

Only loopback and temporary directories are touched: addresses are 127.0.0.1 and ::1,
names are never looked up in DNS, paths are relative to a scratch directory that is the
working directory, and fds 0-2 are put back (on /dev/null) after every call so that no
call on a small int can reach a socket libuv owns.
"""

from __future__ import annotations

import argparse
import array
import collections
import gc
import itertools
import math
import os
import pathlib
import random
import socket
import sys
import tempfile
import traceback
from typing import Any, Callable, Dict, Iterator, List, Optional, Sequence, Tuple

import uvffi
from uvffi import dns, fs
from uvffi.errno import UV_EFAULT

Factory = Callable[["Ctx"], Any]


class Ctx:
    """One batch's world: two loops (the second is 'another loop'), a scratch
    directory (the working directory), a listening socket for connected TCP
    streams, and the handles made for the batch."""

    names = itertools.count(1)  # across batches: the scratch directory outlives a Ctx

    def __init__(self, scratch: str) -> None:
        self.scratch = scratch
        self.loop = uvffi.Loop()
        self.loop.excepthook = lambda *args: None  # type: ignore[method-assign]
        self.loop2 = uvffi.Loop()
        self.closed_loop = uvffi.Loop()
        self.closed_loop.close()
        self.listener = socket.socket()
        self.listener.bind(("127.0.0.1", 0))
        self.listener.listen(64)
        self.objects: Dict[str, Any] = {}

    def name(self, stem: str) -> str:
        """A new relative name in the scratch directory."""
        return f"{stem}{next(self.names)}"

    def shared(self, key: str, make: Factory) -> Any:
        """The batch's one object named ``key``, made by ``make`` at its first use."""
        if key not in self.objects:
            self.objects[key] = make(self)
        return self.objects[key]

    def file(self) -> str:
        """A new regular file (its relative path)."""
        p = self.name("f")
        with open(p, "wb") as f:
            f.write(b"0123456789" * 10)
        return p

    def dir(self) -> str:
        """A new directory with one file in it (its relative path)."""
        p = self.name("d")
        os.mkdir(p)
        with open(os.path.join(p, "x"), "wb"):
            pass
        return p

    def fd(self) -> int:
        """An fd of a new regular file, read-write."""
        return os.open(self.file(), os.O_RDWR)

    def sockfd(self) -> int:
        """One end of a new unix socketpair (the other end is left to the sweep)."""
        a, b = socket.socketpair()
        b.detach()
        return a.detach()

    def tcpfd(self) -> int:
        """A connected TCP socket's fd (its peer, accepted, is left to the sweep)."""
        s = socket.create_connection(self.listener.getsockname())
        self.listener.accept()[0].detach()
        return s.detach()

    def close(self) -> None:
        """Kill the batch's children, close both loops (and what is open on them)."""
        for lp in (self.loop, self.loop2):
            for h in lp.handles:
                if isinstance(h, uvffi.Process) and not h.closed:
                    try:
                        h.kill(9)
                    except uvffi.error.UVError:
                        pass
            while True:  # a close callback's BaseException ends close() early: again finishes it
                try:
                    lp.close()
                    break
                except Stop:
                    pass
        self.listener.close()
        self.objects.clear()


def cb(*args: Any) -> None:
    """A valid callback (of any arity)."""


def raising_cb(*args: Any) -> None:
    """A callback that raises an Exception (the loop's excepthook takes it)."""
    raise ValueError("a callback that raises")


class Stop(BaseException):
    """What :func:`stopping_cb` raises: like Ctrl-C's KeyboardInterrupt, a BaseException
    out of a callback stops the loop and is raised again by ``run()`` (or ``close()``)."""


def stopping_cb(*args: Any) -> None:
    """A callback that raises :class:`Stop`."""
    raise Stop()


def meddling_cb(*args: Any) -> None:
    """A callback that closes (or cancels) what it is called for, then calls it with bad
    input: every callback's state must survive what its callback does to it."""
    target = args[0] if args else None
    for name, call_args in (("close", ()), ("cancel", ()), ("write", (None,)), ("start_read", (1,)),
                            ("send", (("::1", 70000), b"x")), ("stop", ()), ("kill", (2 ** 64,))):
        fn = getattr(target, name, None)
        if fn is not None:
            try:
                fn(*call_args)
            except Exception:  # noqa: BLE001 - any exception is a pass
                pass


class NotABuffer:
    """An object with every dunder a buffer, path or fd might be looked up by, all wrong."""

    def __index__(self) -> int:
        raise RuntimeError("__index__ raises")

    def __fspath__(self) -> Any:
        return 42

    def fileno(self) -> Any:
        """Not an int."""
        return "not an int"

    def __len__(self) -> int:
        return -1 & 0x7FFFFFFF

    def __iter__(self) -> Iterator[Any]:
        raise RuntimeError("__iter__ raises")


def _noncontiguous() -> memoryview:
    return memoryview(bytearray(b"abcdefgh"))[::2]


def _released() -> memoryview:
    m = memoryview(b"abc")
    m.release()
    return m


def V(value: Any) -> Factory:
    """A constant valid value."""
    return lambda c: value


_PIPE_IN: int = uvffi.UV_CREATE_PIPE | uvffi.UV_READABLE_PIPE

# -- the pools of bad values ---------------------------------------------------------

# For every argument: values no argument of any I/O method accepts as a valid one of
# its own kind (and none that names a live fd, a real path or a routable address).
GENERIC: List[Tuple[str, Factory]] = [
    ("None", lambda c: None),
    ("1.5", lambda c: 1.5),
    ("nan", lambda c: math.nan),
    ("inf", lambda c: math.inf),
    ("2**100", lambda c: 2 ** 100),
    ("-2**100", lambda c: -(2 ** 100)),
    ("object()", lambda c: object()),
    ("NotABuffer()", lambda c: NotABuffer()),
    ("[]", lambda c: []),
    ("[None]", lambda c: [None]),
    ("{}", lambda c: {}),
    ("complex", lambda c: 1j),
    ("released memoryview", lambda c: _released()),
    ("the loop", lambda c: c.loop),
    ("a closed loop", lambda c: c.closed_loop),
    ("a closed Timer", lambda c: _closed(c, uvffi.Timer(c.loop))),
    ("a TCP of another loop", lambda c: uvffi.TCP(c.loop2)),
    ("type", lambda c: int),
]

POOLS: Dict[str, List[Tuple[str, Factory]]] = {
    "int": [(repr(v), V(v)) for v in
            (0, 1, -1, True, 255, 256, 65536, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 32, 2 ** 63, -(2 ** 63) - 1,
             2 ** 64)],
    # fds that are never open: closing or writing to them can hurt nothing
    "fd": [(repr(v), V(v)) for v in
           (-1, -2, 1_000_000, 2 ** 31 - 1, 2 ** 31, -(2 ** 31) - 1, 2 ** 63, 2 ** 64)] + [
        ("an fd never opened", lambda c: _closed_fd()),
        ("False", lambda c: False),
        ("'0'", lambda c: "0"),
        ("a file's fd given to a socket method", lambda c: c.fd()),
        ("a directory's fd", lambda c: os.open(c.dir(), os.O_RDONLY)),
        ("/dev/null's fd", lambda c: os.open(os.devnull, os.O_RDWR)),
        ("an object whose fileno() is a str", lambda c: NotABuffer()),
        # fds of the wrong kind for the method (non-blocking: an fs.read of one returns at once)
        ("a UDP socket's fd", lambda c: _nonblocking(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))),
        ("an unconnected TCP socket's fd", lambda c: _nonblocking(socket.socket())),
        ("a listening TCP socket's fd", lambda c: _nonblocking(_listening(socket.socket()))),
        ("a listening unix socket's fd", lambda c: _nonblocking(_listening(socket.socket(socket.AF_UNIX), c))),
        ("a pipe's read end", lambda c: _nonblocking_fd(os.pipe()[0])),
    ],
    "size": [(repr(v), V(v)) for v in
             (0, -1, 1, 2 ** 31 - 1, 2 ** 31, 2 ** 32 + 1, 2 ** 63, -(2 ** 63) - 1, True)],
    "float": [(repr(v), V(v)) for v in
              (-1.0, 0.0, 1e-12, 1e300, -1e300, 2 ** 63, -5, True)],
    "bool": [("0", lambda c: 0), ("1", lambda c: 1), ("'yes'", lambda c: "yes"), ("b''", lambda c: b"")],
    "callback": [("a callable that raises", lambda c: raising_cb), ("lambda: 0 (wrong arity)", lambda c: lambda: 0),
                 ("a callback raising a BaseException", lambda c: stopping_cb),
                 ("a callback that closes its handle and pokes it", lambda c: meddling_cb),
                 ("1", lambda c: 1), ("'cb'", lambda c: "cb")],
    "data": [
        ("str", lambda c: "text"), ("b''", lambda c: b""), ("bytearray", lambda c: bytearray(b"ab")),
        ("memoryview", lambda c: memoryview(b"abcd")), ("non-contiguous view", lambda c: _noncontiguous()),
        ("array('d')", lambda c: array.array("d", [1.5, 2.5])), ("[b'a', 'b']", lambda c: [b"a", "b"]),
        ("[b'a', None]", lambda c: [b"a", None]), ("(b'a',) * 2000", lambda c: (b"a",) * 2000),
        ("[bytearray(), memoryview]", lambda c: [bytearray(), memoryview(b"x")]), ("int 5", lambda c: 5),
        ("a generator", lambda c: (b for b in [b"a", b"b"])),
        ("a 2-D view", lambda c: memoryview(b"abcd").cast("B", (2, 2))),
        ("a dict of bytes", lambda c: {b"a": b"b"}), ("4 MiB", lambda c: b"x" * (4 << 20)),
    ],
    "addr": [
        ("('::1', 0) (IPv6)", lambda c: ("::1", 0)), ("('127.0.0.1', 0)", lambda c: ("127.0.0.1", 0)),
        ("port 70000", lambda c: ("127.0.0.1", 70000)), ("port -1", lambda c: ("127.0.0.1", -1)),
        ("port 2**64", lambda c: ("127.0.0.1", 2 ** 64)), ("port '80'", lambda c: ("127.0.0.1", "80")),
        ("port True", lambda c: ("127.0.0.1", True)), ("port 1.0", lambda c: ("127.0.0.1", 1.0)),
        ("host 1", lambda c: (1, 80)), ("host None", lambda c: (None, 80)),
        ("host b'127.0.0.1'", lambda c: (b"127.0.0.1", 80)),
        ("4-tuple IPv4", lambda c: ("127.0.0.1", 1, 0, 0)), ("4-tuple IPv6", lambda c: ("::1", 1, 0, 0)),
        ("flowinfo 2**20", lambda c: ("::1", 1, 2 ** 20, 0)), ("flowinfo -1", lambda c: ("::1", 1, -1, 0)),
        ("scope_id 2**32", lambda c: ("::1", 1, 0, 2 ** 32)),
        ("scope_id 7 (no such interface)", lambda c: ("::1", 1, 0, 7)),
        ("5-tuple", lambda c: ("127.0.0.1", 1, 0, 0, 0)), ("1-tuple", lambda c: ("127.0.0.1",)), ("()", lambda c: ()),
        ("list", lambda c: ["127.0.0.1", 80]), ("not an IP", lambda c: ("not-an-ip", 80)),
        ("NUL in host", lambda c: ("127.0.0.1\0", 80)), ("huge host", lambda c: ("1" * 100_000, 80)),
        ("non-ASCII host", lambda c: ("\u00e9\u00e9", 80)), ("surrogate host", lambda c: ("\udcff", 80)),
        ("IPv6 with zone", lambda c: ("fe80::1%lo", 1)), ("IPv4-mapped", lambda c: ("::ffff:127.0.0.1", 1)),
        ("str", lambda c: "127.0.0.1:80"), ("port to self", lambda c: ("127.0.0.1", 1)),
    ],
    "path": [
        ("''", lambda c: ""), ("NUL in path", lambda c: "a\0b"), ("b'bytes'", lambda c: b"bytes-path"),
        ("pathlib", lambda c: pathlib.Path("p")), ("missing", lambda c: "missing/deeper"),
        ("huge", lambda c: "x" * 100_000),
        ("surrogate", lambda c: "\udcff"), ("a dir", lambda c: c.dir()), ("a file", lambda c: c.file()),
        ("'.'", lambda c: "."), ("bytes NUL", lambda c: b"\0"), ("bytearray", lambda c: bytearray(b"p")),
    ],
    "name": [  # pipe names
        ("''", lambda c: ""), ("NUL inside", lambda c: "a\0b"), ("abstract", lambda c: "\0uvffi-fuzz-abstract"),
        ("abstract bytes", lambda c: b"\0"), ("108 bytes", lambda c: "n" * 108), ("huge", lambda c: "n" * 100_000),
        ("a file (not a socket)", lambda c: c.file()), ("a dir", lambda c: c.dir()),
        ("missing dir", lambda c: "no/such"),
        ("pathlib", lambda c: pathlib.Path("pl")), ("surrogate", lambda c: "\udcff"),
        ("bytearray", lambda c: bytearray(b"ba")),
    ],
    "handle": [
        ("a TCP of another loop", lambda c: uvffi.TCP(c.loop2)),
        ("a Pipe of another loop", lambda c: uvffi.Pipe(c.loop2)),
        ("a closed TCP", lambda c: _closed(c, uvffi.TCP(c.loop))),
        ("a closing Pipe", lambda c: _closing(uvffi.Pipe(c.loop))),
        ("a Timer", lambda c: uvffi.Timer(c.loop)), ("a UDP", lambda c: uvffi.UDP(c.loop)),
        ("a connected TCP", lambda c: _opened(uvffi.TCP(c.loop), c.tcpfd())),
        ("a TTY", lambda c: _tty(c)),
        ("a Handle never initialised", lambda c: uvffi.TCP.__new__(uvffi.TCP)),
        ("the batch's TCP", lambda c: c.shared("tcp", lambda c: uvffi.TCP(c.loop))),
        ("the batch's Pipe", lambda c: c.shared("pipe", lambda c: uvffi.Pipe(c.loop))),
    ],
    "stdio": [
        ("[StdIO()]", lambda c: [uvffi.StdIO()]),
        ("StdIO of a closed Pipe", lambda c: [_stdio_after(c, lambda p: _closed(c, p))]),
        ("StdIO of a Pipe of another loop", lambda c: [uvffi.StdIO(stream=uvffi.Pipe(c.loop2), flags=_PIPE_IN)]),
        ("StdIO inherit a closed fd", lambda c: [uvffi.StdIO(fd=_closed_fd(), flags=uvffi.UV_INHERIT_FD)]),
        ("StdIO inherit fd 2**31-1", lambda c: [uvffi.StdIO(fd=2 ** 31 - 1, flags=uvffi.UV_INHERIT_FD)]),
        ("StdIO inherit stream (a Pipe never opened)", lambda c: [uvffi.StdIO(stream=uvffi.Pipe(c.loop),
                                                                              flags=uvffi.UV_INHERIT_STREAM)]),
        ("the same pipe twice", lambda c: _same_pipe_twice(c)), ("[None]", lambda c: [None]),
        ("a str", lambda c: "stdio"), ("300 StdIO()", lambda c: [uvffi.StdIO()] * 300),
    ],
    "args": [
        ("[]", lambda c: []), ("['']", lambda c: [""]), ("'true'", lambda c: "true"),
        ("[b'true']", lambda c: [b"true"]),
        ("['true', 1]", lambda c: ["true", 1]), ("NUL", lambda c: ["tr\0ue"]),
        ("missing program", lambda c: ["./no-such-program"]),
        ("a dir", lambda c: [os.path.abspath(c.dir())]), ("huge", lambda c: ["true", "x" * 300_000]),
        ("a dict", lambda c: {"true": 1}), ("b'true' bytes", lambda c: b"true"),
    ],
    "env": [("{}", lambda c: {}), ("NUL key", lambda c: {"A\0": "b"}), ("int key", lambda c: {1: "b"}),
            ("None value", lambda c: {"A": None}), ("'='", lambda c: {"=": "="}), ("a list", lambda c: [("A", "b")])],
    "dnshost": [("'localhost'", lambda c: "localhost"), ("'::1'", lambda c: "::1"),
    ("b'127.0.0.1'", lambda c: b"127.0.0.1"),
                ("NUL", lambda c: "127.0.0.1\0"), ("too long for idna", lambda c: "a" * 300),
                ("surrogate", lambda c: "\udcff"), ("bytearray", lambda c: bytearray(b"127.0.0.1"))],
    "port": [("-1", lambda c: -1), ("70000", lambda c: 70000), ("'http'", lambda c: "http"), ("'\\0'", lambda c: "\0"),
             ("'\u00e9'", lambda c: "\u00e9"), ("b'80'", lambda c: b"80"), ("True", lambda c: True),
             ("2**64", lambda c: 2 ** 64)],
    "dnsaddr": [("IPv6 ::1 numeric", lambda c: ("::1", 80, 0, 0)), ("port 70000", lambda c: ("127.0.0.1", 70000)),
                ("host 1", lambda c: (1, 80)), ("5-tuple", lambda c: ("127.0.0.1", 1, 2, 3, 4)), ("()", lambda c: ()),
                ("not an IP", lambda c: ("localhost", 80))],
    "dir": [("a closed Dir", lambda c: _closed_dir(c)), ("a str", lambda c: c.dir()),
            ("a new Dir", lambda c: fs.opendir(c.loop, c.dir()))],
    "seq": [("str", lambda c: "text"), ("bytes", lambda c: b"bytes"), ("[]", lambda c: []), ("['a']", lambda c: ["a"]),
            ("[None]", lambda c: [None]), ("a generator", lambda c: (x for x in [b"a"]))],
    "messages": [("[]", lambda c: []), ("[(addr, b'x')] wrong family", lambda c: [(("::1", 9), b"x")]),
                 ("[b'x']", lambda c: [b"x"]), ("[(None, b'x')]", lambda c: [(None, b"x")]),
                 ("[(addr,)]", lambda c: [(("127.0.0.1", 9),)]),
                 ("1000 messages", lambda c: [(("127.0.0.1", 9), b"x")] * 1000)],
    "str": [("''", lambda c: ""), ("NUL", lambda c: "\0"), ("'::1'", lambda c: "::1"),
    ("'127.0.0.1'", lambda c: "127.0.0.1"),
            ("'not-an-ip'", lambda c: "not-an-ip"), ("b'127.0.0.1'", lambda c: b"127.0.0.1"),
            ("surrogate", lambda c: "\udcff"),
            ("huge", lambda c: "1" * 100_000)],
    "none": [],
}


def _closed(c: Ctx, h: Any) -> Any:
    h.close()
    h.loop.run(uvffi.RUN_NOWAIT)
    return h


def _closing(h: Any) -> Any:
    h.close()
    return h


def _opened(h: Any, fd: int) -> Any:
    h.open(fd)
    return h


def _nonblocking(s: socket.socket) -> int:
    s.setblocking(False)
    return s.detach()


def _nonblocking_fd(fd: int) -> int:
    os.set_blocking(fd, False)
    return fd


def _listening(s: socket.socket, c: Optional[Ctx] = None) -> socket.socket:
    s.bind(c.name("u") if c is not None else ("127.0.0.1", 0))
    s.listen(4)
    return s


def _closed_fd() -> int:
    fd = os.open(os.devnull, os.O_RDONLY)
    os.close(fd)
    return fd + 100_000  # a number that no open() of this batch reaches


def _tty(c: Ctx) -> uvffi.TTY:
    master, slave = os.openpty()
    os.set_inheritable(master, False)
    return uvffi.TTY(c.loop, slave, False)


def _stdio_after(c: Ctx, change: Callable[[Any], Any]) -> uvffi.StdIO:
    p = uvffi.Pipe(c.loop)
    s = uvffi.StdIO(stream=p, flags=uvffi.UV_CREATE_PIPE | uvffi.UV_READABLE_PIPE)
    change(p)
    return s


def _same_pipe_twice(c: Ctx) -> List[uvffi.StdIO]:
    p = uvffi.Pipe(c.loop)
    s = uvffi.StdIO(stream=p, flags=uvffi.UV_CREATE_PIPE | uvffi.UV_READABLE_PIPE)
    return [s, s]


def _batch_dir(c: Ctx) -> Any:
    """The batch's one Dir: readdir and closedir calls meet on it."""
    return c.shared("dir", lambda c: fs.opendir(c.loop, c.dir()))


def _closed_dir(c: Ctx) -> Any:
    d = fs.opendir(c.loop, c.dir())
    fs.closedir(c.loop, d)
    return d


# -- the receivers: each in its states ------------------------------------------------

def _tcp_bound(c: Ctx) -> uvffi.TCP:
    t = uvffi.TCP(c.loop)
    t.bind(("127.0.0.1", 0))
    return t


def _tcp_listening(c: Ctx) -> uvffi.TCP:
    t = _tcp_bound(c)
    t.listen(cb)
    return t


def _tcp6(c: Ctx) -> uvffi.TCP:
    t = uvffi.TCP(c.loop, socket.AF_INET6)
    t.bind(("::1", 0))
    return t


def _pipe(c: Ctx, ipc: bool = False) -> uvffi.Pipe:
    return _opened(uvffi.Pipe(c.loop, ipc), c.sockfd())


def _pipe_bound(c: Ctx) -> uvffi.Pipe:
    p = uvffi.Pipe(c.loop)
    p.bind(c.name("s"))
    return p


def _udp_bound(c: Ctx, family: int = socket.AF_INET) -> uvffi.UDP:
    u = uvffi.UDP(c.loop, family)
    u.bind(("127.0.0.1", 0) if family == socket.AF_INET else ("::1", 0))
    return u


def _poll(c: Ctx) -> uvffi.Poll:
    return uvffi.Poll(c.loop, c.sockfd())


def _process(c: Ctx) -> uvffi.Process:
    return uvffi.Process.spawn(c.loop, ["sleep", "5"], exit_callback=cb)


RECEIVERS: Dict[str, Factory] = {
    "TCP": lambda c: uvffi.TCP(c.loop),
    "TCP bound": _tcp_bound,
    "TCP listening": _tcp_listening,
    "TCP connected": lambda c: _opened(uvffi.TCP(c.loop), c.tcpfd()),
    "TCP6 bound": _tcp6,
    "Pipe": _pipe,
    "Pipe ipc": lambda c: _pipe(c, True),
    "Pipe bound": _pipe_bound,
    "Pipe unopened": lambda c: uvffi.Pipe(c.loop),
    "TTY": _tty,
    "UDP": lambda c: uvffi.UDP(c.loop),
    "UDP4 bound": _udp_bound,
    "UDP6 bound": lambda c: _udp_bound(c, socket.AF_INET6),
    "Poll": _poll,
    "Process": _process,
    "FSEvent": lambda c: fs.FSEvent(c.loop),
    "FSPoll": lambda c: fs.FSPoll(c.loop),
}


def _then(make: Factory, change: Callable[["Ctx", Any], Any]) -> Factory:
    return lambda c: change(c, make(c))


def states(kinds: Sequence[str]) -> List[Tuple[str, Factory]]:
    """Each receiver kind open, closing (close() called, the loop not run yet) and
    closed."""
    out: List[Tuple[str, Factory]] = []
    for k in kinds:
        make = RECEIVERS[k]
        out.append((k, make))
        out.append((k + " (closing)", _then(make, lambda c, h: _closing(h))))
        out.append((k + " (closed)", _then(make, _closed)))
    return out


# -- the table ---------------------------------------------------------------------------

# One argument: (its valid value, the pool of its bad values).
Arg = Tuple[Factory, str]


CB: Arg = (V(cb), "callback")
CB_OPT: Arg = (V(None), "callback")
INT: Callable[[Any], Arg] = lambda v: (V(v), "int")  # noqa: E731
BOOL: Arg = (V(True), "bool")
DATA: Arg = (V(b"data"), "data")
ADDR4: Arg = (V(("127.0.0.1", 9)), "addr")

STREAMS = ["TCP", "TCP bound", "TCP listening", "TCP connected", "Pipe", "Pipe ipc", "Pipe bound", "Pipe unopened",
           "TTY"]
TCPS = ["TCP", "TCP bound", "TCP listening", "TCP connected", "TCP6 bound"]
PIPES = ["Pipe", "Pipe ipc", "Pipe bound", "Pipe unopened"]
UDPS = ["UDP", "UDP4 bound", "UDP6 bound"]


class Method:
    """One entry of the table: ``target`` called with ``args`` (positional).

    ``receivers`` None: ``target`` is a plain callable (a constructor or a module
    function); otherwise the name of a method (or ``=name`` to set an attribute, ``.name``
    to read one) of each receiver kind listed."""

    def __init__(self, target: Any, args: Sequence[Arg], receivers: Optional[Sequence[str]] = None) -> None:
        self.target = target
        self.args = list(args)
        self.receivers = states(receivers) if receivers is not None else [("", V(None))]

    def label(self) -> str:
        """The method's name, or the callable's qualified name."""
        t = self.target
        return t if isinstance(t, str) else f"{getattr(t, '__module__', '')}.{getattr(t, '__qualname__', repr(t))}"

    def call(self, receiver: Any, args: List[Any]) -> Any:
        """Make the call on ``receiver`` with ``args``."""
        t = self.target
        if not isinstance(t, str):
            return t(*args)
        if t.startswith("="):
            setattr(receiver, t[1:], args[0])
            return None
        if t.startswith("."):
            return getattr(receiver, t[1:])
        return getattr(receiver, t)(*args)


def _fs(fn: Callable[..., Any], *args: Arg) -> List[Method]:
    """An fs function, synchronous and with a callback."""
    return [Method(fn, [(lambda c: c.loop, "none"), *args, CB_OPT]),
            Method(fn, [(lambda c: c.loop, "none"), *args, CB])]


PATH: Arg = (lambda c: c.file(), "path")
NEW_PATH: Arg = (lambda c: c.name("new"), "path")
FD: Arg = (lambda c: c.fd(), "fd")
LOOP: Arg = (lambda c: c.loop, "none")

METHODS: List[Method] = [
    # constructors
    Method(uvffi.TCP, [LOOP, INT(socket.AF_INET)]),
    Method(uvffi.UDP, [LOOP, INT(socket.AF_INET6), INT(0)]),
    Method(uvffi.Pipe, [LOOP, BOOL]),
    Method(uvffi.TTY, [LOOP, (lambda c: os.openpty()[1], "fd"), BOOL]),
    Method(uvffi.Poll, [LOOP, (lambda c: c.sockfd(), "fd")]),
    Method(uvffi.StdIO, [(V(None), "handle"), (V(None), "fd"), INT(uvffi.UV_IGNORE)]),
    Method(uvffi.StdIO, [(lambda c: uvffi.Pipe(c.loop), "handle"), (V(None), "fd"),
                         INT(uvffi.UV_CREATE_PIPE | uvffi.UV_READABLE_PIPE)]),
    Method(uvffi.Process.spawn, [LOOP, (V(["true"]), "args"), (V(None), "path"), (V(None), "env"),
                                 (V(None), "path"), (V(None), "int"), (V(None), "int"), INT(0),
                                 (V(None), "stdio"), (V(cb), "callback")]),
    Method(fs.FSEvent, [LOOP]),
    Method(fs.FSPoll, [LOOP]),
    # every stream
    Method("start_read", [CB, (V(65536), "size")], STREAMS),
    Method("stop_read", [], STREAMS),
    Method("listen", [CB, INT(16)], STREAMS),
    Method("accept", [(lambda c: uvffi.TCP(c.loop), "handle")], STREAMS),
    Method("write", [DATA, CB_OPT], STREAMS),
    Method("write", [DATA, CB], STREAMS),
    Method("writelines", [(V([b"a", b"b"]), "seq"), CB_OPT], STREAMS),
    Method("try_write", [DATA], STREAMS),
    Method("shutdown", [CB_OPT], STREAMS),
    Method("fileno", [], STREAMS),
    Method("set_blocking", [BOOL], STREAMS),
    Method(".readable", [], STREAMS),
    Method(".write_queue_size", [], STREAMS),
    Method("=send_buffer_size", [(V(65536), "size")], STREAMS),
    Method("=receive_buffer_size", [(V(65536), "size")], STREAMS),
    Method("close", [CB_OPT], STREAMS),
    Method("=ref", [BOOL], STREAMS),
    # TCP
    Method("bind", [ADDR4, INT(0)], TCPS),
    Method("connect", [(lambda c: c.listener.getsockname(), "addr"), CB], TCPS),
    Method("open", [(lambda c: c.tcpfd(), "fd")], TCPS),
    Method("getsockname", [], TCPS),
    Method("getpeername", [], TCPS),
    Method(".family", [], TCPS),
    Method("nodelay", [BOOL], TCPS),
    Method("keepalive", [BOOL, INT(60)], TCPS),
    Method("simultaneous_accepts", [BOOL], TCPS),
    Method("close_reset", [CB_OPT], TCPS),
    # Pipe
    Method("bind", [(lambda c: c.name("b"), "name")], PIPES),
    Method("connect", [(lambda c: c.name("nobody"), "name"), CB], PIPES),
    Method("open", [(lambda c: c.sockfd(), "fd")], PIPES),
    Method("pending_instances", [INT(4)], PIPES),
    Method("pending_handle_type", [], PIPES),
    Method("write", [DATA, CB, (lambda c: uvffi.TCP(c.loop), "handle")], PIPES),
    Method("getsockname", [], PIPES),
    Method("getpeername", [], PIPES),
    Method("chmod", [INT(uvffi.UV_READABLE)], PIPES),
    Method(".ipc", [], PIPES),
    # TTY
    Method("set_mode", [INT(0)], ["TTY"]),
    Method("get_winsize", [], ["TTY"]),
    Method(uvffi.TTY.reset_mode, []),
    # UDP
    Method("bind", [ADDR4, INT(0)], UDPS),
    Method("connect", [ADDR4], UDPS),
    Method("open", [(lambda c: socket.socket(socket.AF_INET, socket.SOCK_DGRAM).detach(), "fd")], UDPS),
    Method("getsockname", [], UDPS),
    Method("getpeername", [], UDPS),
    Method("send", [ADDR4, DATA, CB_OPT], UDPS),
    Method("send", [ADDR4, DATA, CB], UDPS),
    Method("sendlines", [ADDR4, (V([b"a", b"b"]), "seq"), CB_OPT], UDPS),
    Method("try_send", [ADDR4, DATA], UDPS),
    Method("try_send2", [(V([(("127.0.0.1", 9), b"x")]), "messages")], UDPS),
    Method("start_recv", [CB], UDPS),
    Method("stop_recv", [], UDPS),
    # multicast: only addresses that are not multicast groups (no join ever leaves the host)
    Method("set_membership", [(V("127.0.0.1"), "str"), INT(uvffi.UV_JOIN_GROUP), (V(None), "str")], UDPS),
    Method("set_source_membership", [(V("127.0.0.1"), "str"), (V("127.0.0.1"), "str"), (V("127.0.0.1"), "str"),
                                     INT(uvffi.UV_JOIN_GROUP)], UDPS),
    Method("set_multicast_ttl", [INT(1)], UDPS),
    Method("set_multicast_interface", [(V("127.0.0.1"), "str")], UDPS),
    Method("set_multicast_loop", [BOOL], UDPS),
    Method("set_broadcast", [(V(False), "bool")], UDPS),
    Method("set_ttl", [INT(64)], UDPS),
    Method("fileno", [], UDPS),
    Method(".family", [], UDPS),
    Method(".send_queue_size", [], UDPS),
    Method("=send_buffer_size", [(V(65536), "size")], UDPS),
    Method("close", [CB_OPT], UDPS),
    # Poll
    Method("start", [INT(uvffi.UV_READABLE), CB], ["Poll"]),
    Method("stop", [], ["Poll"]),
    Method("fileno", [], ["Poll"]),
    # Process
    Method("kill", [INT(15)], ["Process"]),
    Method(".pid", [], ["Process"]),
    Method("close", [CB_OPT], ["Process"]),
    # FSEvent, FSPoll
    Method("start", [(lambda c: c.dir(), "path"), INT(0), CB], ["FSEvent"]),
    Method("stop", [], ["FSEvent"]),
    Method(".path", [], ["FSEvent"]),
    Method("start", [(lambda c: c.file(), "path"), (V(1.0), "float"), CB], ["FSPoll"]),
    Method("stop", [], ["FSPoll"]),
    # streams module functions
    Method(uvffi.handles.stream.socketpair, [INT(socket.SOCK_STREAM), INT(0), (V((False, False)), "seq")]),
    Method(uvffi.handles.stream.pipe, [(V((False, False)), "seq")]),
    # dns
    Method(dns.getaddrinfo, [LOOP, (V("127.0.0.1"), "dnshost"),
    (V(80), "port"), INT(0), INT(0), INT(0), INT(0), CB_OPT]),
    Method(dns.getaddrinfo, [LOOP, (V("localhost"), "dnshost"), (V(None), "port"), INT(0), INT(0), INT(0), INT(0), CB]),
    Method(dns.getnameinfo, [LOOP, (V(("127.0.0.1", 80)), "dnsaddr"), INT(0), CB_OPT]),
    Method(dns.getnameinfo, [LOOP, (V(("127.0.0.1", 80)), "dnsaddr"), INT(0), CB]),
    # fs
    *_fs(fs.stat, PATH), *_fs(fs.lstat, PATH), *_fs(fs.fstat, FD),
    *_fs(fs.open, PATH, INT(os.O_RDONLY), INT(0o644)), *_fs(fs.close, FD),
    *_fs(fs.read, FD, (V(16), "size"), INT(0)), *_fs(fs.write, FD, DATA, INT(0)),
    *_fs(fs.unlink, PATH), *_fs(fs.mkdir, NEW_PATH, INT(0o755)), *_fs(fs.rmdir, (lambda c: c.name("nodir"), "path")),
    *_fs(fs.rename, PATH, NEW_PATH), *_fs(fs.chmod, PATH, INT(0o644)), *_fs(fs.fchmod, FD, INT(0o644)),
    *_fs(fs.link, PATH, NEW_PATH), *_fs(fs.symlink, PATH, NEW_PATH, INT(0)), *_fs(fs.readlink, PATH),
    *_fs(fs.chown, PATH, INT(-1), INT(-1)), *_fs(fs.fchown, FD, INT(-1), INT(-1)),
    *_fs(fs.lchown, PATH, INT(-1), INT(-1)),
    *_fs(fs.fsync, FD), *_fs(fs.fdatasync, FD), *_fs(fs.ftruncate, FD, INT(4)),
    *_fs(fs.scandir, (lambda c: c.dir(), "path")),
    *_fs(fs.sendfile, FD, FD, INT(0), (V(8), "size")),
    *_fs(fs.utime, PATH, (V(1.0), "float"), (V(2.0), "float")), *_fs(fs.futime, FD, (V(1.0), "float"),
    (V(2.0), "float")),
    *_fs(fs.lutime, PATH, (V(1.0), "float"), (V(2.0), "float")),
    *_fs(fs.access, PATH, INT(os.R_OK)), *_fs(fs.realpath, PATH), *_fs(fs.copyfile, PATH, NEW_PATH, INT(0)),
    *_fs(fs.mkdtemp, (V("tmpXXXXXX"), "path")), *_fs(fs.mkstemp, (V("tmpXXXXXX"), "path")),
    *_fs(fs.statfs, PATH), *_fs(fs.opendir, (lambda c: c.dir(), "path")),
    *_fs(fs.readdir, (_batch_dir, "dir"), (V(8), "size")),
    *_fs(fs.closedir, (_batch_dir, "dir")),
]


def _reused(rname: str, make: Factory) -> Factory:
    """The receiver ``rname`` the batch made first (made now if it has none)."""
    return lambda c: c.shared(rname, make)


def calls() -> Iterator[Tuple[str, Method, Factory, List[Factory]]]:
    """The systematic pass: (description, method, receiver factory, argument factories)."""
    for m in METHODS:
        for rname, make in m.receivers:
            valid = [a[0] for a in m.args]
            head = f"{rname}.{m.label()}" if rname else m.label()
            yield f"{head}(valid)", m, make, valid
            for i, (_, pool) in enumerate(m.args):
                for vname, value in POOLS[pool] + (GENERIC if pool != "none" else []):
                    args = list(valid)
                    args[i] = value
                    yield f"{head}(arg {i} = {vname})", m, make, args
            if isinstance(m.target, str) and m.target[:1] in "=.":
                continue  # an attribute: no argument count to get wrong
            if m.args:
                yield f"{head}(one argument short)", m, make, valid[:-1]
            yield f"{head}(one argument too many)", m, make, valid + [V(None)]


def random_calls(n: int, seed: int) -> Iterator[Tuple[str, Method, Factory, List[Factory]]]:
    """``n`` calls with every argument drawn at once (valid with odds 7 in 10, else from its
    pool or the generic one).
    Two calls in three go to a receiver an earlier call of the batch had (in the state
    the earlier calls left it), so that sequences of calls are fuzzed too."""
    rng = random.Random(seed)
    for _ in range(n):
        m = rng.choice(METHODS)
        rname, make = rng.choice(m.receivers)
        if rname and rng.random() < 2 / 3:
            rname, make = rname + " (again)", _reused(rname, make)
        args: List[Factory] = []
        names: List[str] = []
        for valid, pool in m.args:
            bad = POOLS[pool] + (GENERIC if pool != "none" else [])
            # mostly valid: a call whose first argument is bad stops at its first check
            vname, value = ("valid", valid) if not bad or rng.random() < 0.7 else rng.choice(bad)
            args.append(value)
            names.append(vname)
        head = f"{rname}.{m.label()}" if rname else m.label()
        yield f"{head}({', '.join(names)})", m, make, args


def _warm_up() -> None:
    """Make libuv create its process-wide state (the signal lock pipe, the thread pool)."""
    loop = uvffi.Loop()
    uvffi.Process.spawn(loop, ["true"], exit_callback=lambda p, *a: p.close())
    sig = uvffi.Signal(loop)
    sig.start(cb, 10)
    sig.close()
    fs.stat(loop, ".", lambda req: None)
    dns.getaddrinfo(loop, "127.0.0.1", 80, callback=cb)
    loop.run()
    loop.close()


class Campaign:
    """Runs calls in batches of ``batch`` per :class:`Ctx`, logging each before making it."""

    def __init__(self, log_fd: int, batch: int = 150) -> None:
        self.log_fd = log_fd
        self.batch = batch
        self.outcomes: Dict[str, int] = collections.Counter()
        self.count = 0
        self.failures: List[str] = []
        self.examples: Dict[str, str] = {}
        self.scratch = tempfile.mkdtemp(prefix="uvffi-fuzz-")
        os.chdir(self.scratch)
        _warm_up()  # libuv's process-wide fds (the signal lock pipe) are not the sweep's
        self.baseline = self._fds()
        self.ctx: Optional[Ctx] = None

    @staticmethod
    def _fds() -> set:
        return set(int(n) for n in os.listdir("/proc/self/fd"))

    def log(self, line: str) -> None:
        """Write ``line`` to the log at once (one write(2), no buffer to lose in a crash)."""
        os.write(self.log_fd, (line[:300].replace("\n", " ") + "\n").encode("utf-8", "backslashreplace"))

    def _restore_std_fds(self) -> None:
        for n in (0, 1, 2):
            try:
                os.fstat(n)
            except OSError:
                fd = os.open(os.devnull, os.O_RDWR)
                if fd != n:
                    os.dup2(fd, n)
                    os.close(fd)

    def reset(self) -> None:
        """Close the batch (its loops, then the fds its calls left open); start a new one."""
        if self.ctx is not None:
            self.log("reset: closing the batch's loops")
            self.ctx.close()
            self.ctx = None
            # An object that owns an fd (a Dir) closes it when collected: before the sweep,
            # or its finaliser would later close whatever reused the number.
            gc.collect()
            for fd in self._fds() - self.baseline:  # what the batch's calls left open
                try:
                    os.close(fd)
                except OSError:
                    pass
        self.ctx = Ctx(self.scratch)

    def one(self, desc: str, m: Method, make: Factory, args: List[Factory]) -> None:
        """Log, then make one call, count what it gave, and run both loops once."""
        if self.ctx is None or self.count % self.batch == 0:
            self.reset()
        c = self.ctx
        assert c is not None
        self.count += 1
        self.log(f"call {self.count}: {desc}")
        try:
            receiver = make(c)
            values = [a(c) for a in args]
        except Stop:  # an earlier call's callback, run by the setup's run()
            self.outcomes["setup: run() raised a callback's BaseException"] += 1
            return
        except Exception as e:  # noqa: BLE001 - a receiver or value the platform refused
            self.outcomes["setup refused: " + type(e).__name__] += 1
            return
        try:
            m.call(receiver, values)
        except Stop:
            self.outcomes["a callback's BaseException"] += 1
        except SystemError as e:
            self.failures.append(f"{desc}: SystemError {e}")
            self.outcomes["SystemError"] += 1
        except uvffi.error.UVError as e:
            self.outcomes[type(e).__name__] += 1
            if e.args and e.args[0] == UV_EFAULT:  # a bad pointer reached a system call: freed memory
                self.failures.append(f"{desc}: {e!r}")
        except Exception as e:  # noqa: BLE001 - any exception is a pass
            self.outcomes[type(e).__name__] += 1
            self.examples.setdefault(type(e).__name__, f"{desc}: {str(e)[:120]}")
        else:
            self.outcomes["returned"] += 1
        del values, receiver
        self._restore_std_fds()
        try:
            c.loop.run(uvffi.RUN_NOWAIT)  # callbacks of what the call started, with bad input
            c.loop2.run(uvffi.RUN_NOWAIT)
        except Stop:
            self.outcomes["run() raised a callback's BaseException"] += 1
        except SystemError as e:
            self.failures.append(f"{desc}: SystemError out of run(): {e}")
        except Exception as e:  # noqa: BLE001 - excepthook takes callbacks' errors; record others
            self.outcomes["run() raised " + type(e).__name__] += 1

    def finish(self) -> None:
        """Close the last batch."""
        if self.ctx is not None:
            self.log("reset: closing the last batch's loops")
            self.ctx.close()
            self.ctx = None
        self.log("done")


def main(argv: Optional[List[str]] = None) -> int:
    """Run the campaign the arguments describe; print its count; 1 if a call failed."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--log", required=True, help="file each call is written to before it is made")
    ap.add_argument("--chunk", type=int, default=0, help="which chunk of the systematic pass (0-based)")
    ap.add_argument("--chunks", type=int, default=1, help="how many chunks the systematic pass is cut into")
    ap.add_argument("--systematic", type=int, default=1, help="1: run this chunk of the systematic pass")
    ap.add_argument("--random", type=int, default=0, help="calls with random arguments after it")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--examples", action="store_true", help="print the first call that raised each exception type")
    args = ap.parse_args(argv)
    log_fd = os.open(args.log, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_APPEND, 0o644)
    out_fd = os.dup(1)  # a call may close fd 1 (it is then put back on /dev/null)
    camp = Campaign(log_fd)
    try:
        if args.systematic:
            for i, call in enumerate(calls()):
                if i % args.chunks == args.chunk:
                    camp.one(*call)
        for call in random_calls(args.random, args.seed):
            camp.one(*call)
        camp.finish()
    except BaseException:  # noqa: BLE001 - reported with the call it happened in
        camp.log("raised out of the campaign: " + traceback.format_exc())
        raise
    total = sum(camp.outcomes.values())
    summary = ", ".join(f"{k} {v}" for k, v in sorted(camp.outcomes.items(), key=lambda kv: -kv[1]))
    os.write(out_fd, f"fuzzed calls: {camp.count} ({total} outcomes: {summary})\n".encode())
    if args.examples:
        for name, example in sorted(camp.examples.items()):
            os.write(out_fd, f"  first {name}: {example}\n".encode("utf-8", "backslashreplace"))
    for f in camp.failures:
        os.write(out_fd, f"FAILURE: {f}\n".encode())
    return 1 if camp.failures else 0


if __name__ == "__main__":
    sys.exit(main())
