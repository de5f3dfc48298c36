"""A stateful property test of streams: random sequences of stream operations on one
loop with a TCP server on 127.0.0.1 and a unix-socket Pipe server in a temporary
directory, and the client connections made to them. The rules, in random order:
connect a client, write (bytes, bytearray, memoryview; with and without a callback),
writelines, try_write, start_read / stop_read, shutdown, close either end (with writes
still queued; TCP also with an RST), run the loop (RUN_NOWAIT, RUN_ONCE, RUN_DEFAULT,
each bounded by a timer), drop the test's reference to a stream, gc.collect().

Checked at every step (callbacks check their part as they run; what they find is
collected from the loop's excepthook, so nothing is lost inside ``run()``):

- no exception escapes ``loop.run()``;
- every write callback runs at most once, in order per stream, never after that
  stream's close callback; after an UV_ECANCELED only UV_ECANCELED;
- a shutdown callback runs after the callbacks of the writes queued before it;
- the bytes an end receives are a prefix of what its peer wrote (in order), and all
  of it once the peer shut down cleanly and the end has seen EOF;
- EOF is delivered as ``(handle, None, UV_EOF)``, at most once per ``start_read``,
  and no data follows it; no read callback after ``close()``;
- ``write``, ``shutdown`` and ``start_read`` succeed exactly when ``writable`` /
  ``readable`` say they can; a bytearray being written cannot be resized (CPython);
- close callbacks run at most once, after the stream's request callbacks;
- a dropped inactive stream is collected.

At teardown every stream reads to the end and shuts its writing side down, and the loop
runs until every end whose peer shut down cleanly has seen EOF: then each such end has
received exactly what its peer wrote. Then everything is closed, the loop runs until no
handle is left, every callback has run exactly once, ``loop.close()``, and the process
has as many open file descriptors as before the example.

``UVFFI_STATEFUL_STREAMS_EXAMPLES`` sets the number of examples (else
``UVFFI_STATEFUL_EXAMPLES``, else 120; 30 on PyPy), run in up to six parametrized chunks so that
pytest's progress moves; each chunk prints its counts, the last one the totals.
``UVFFI_STATEFUL_VERBOSE=1`` prints every step as it starts.
"""

from __future__ import annotations

import gc
import os
import shutil
import sys
import tempfile
import time
import weakref
from typing import Any, Dict, List, Optional, Tuple

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, precondition, rule
from stateful_chunks import Chunks

import uvffi
from uvffi import errno
from uvffi._core import PYPY
from uvffi.error import HandleClosedError, StreamError

# PyPy runs an example about eight times slower (its full collections): fewer by default.
EXAMPLES = int(os.environ.get("UVFFI_STATEFUL_STREAMS_EXAMPLES",
                              os.environ.get("UVFFI_STATEFUL_EXAMPLES", "30" if PYPY else "120")))
TRACE = bool(os.environ.get("UVFFI_STATEFUL_VERBOSE"))
STATS = {"examples": 0, "steps": 0}

GUARD_S = 0.003          # how long one bounded run may last at most
MAX_CONNS = 5            # connections per example (two streams each)
BYTES_BUDGET = 6 << 20   # bytes written per example at most (larger writes become small)
SIZES = [0, 1, 100, 4096, 65536, 300_000, 1 << 20]
FORMS = ["bytes", "bytearray", "memoryview", "memoryview_bytearray"]
READ_SIZES = [1, 7, 1024, 65536]
DRAIN_S = 20.0           # teardown: a generous bound for loopback transfers to finish

WRITE_STATUSES = (None, errno.UV_ECANCELED, errno.UV_EPIPE, errno.UV_ECONNRESET, errno.UV_ENOTCONN)
SHUTDOWN_STATUSES = (None, errno.UV_ECANCELED, errno.UV_ENOTCONN, errno.UV_EPIPE, errno.UV_ECONNRESET)
READ_ERRORS = (errno.UV_EOF, errno.UV_ECONNRESET)


def _fd_count() -> int:
    return len(os.listdir("/proc/self/fd"))


_SETTLED: List[bool] = []


def _settle_process_fds() -> None:
    """Open what libuv opens once per process and keeps (the signal lock pipe its first
    loop creates), so that an example's fd count starts from a steady baseline."""
    if not _SETTLED:
        lp = uvffi.Loop()
        lp.run(uvffi.RUN_NOWAIT)
        lp.close()
        _SETTLED.append(True)


class End:
    """What the model knows about one end of a connection. Never a strong reference to
    the stream, so that dropping the test's reference really drops the last one."""

    def __init__(self, key: int, kind: str, side: str) -> None:
        self.key = key
        self.kind = kind                    # "tcp" or "pipe"
        self.side = side                    # "client" or "server"
        self.ref: Any = None                # weakref to the stream
        self.peer: Optional[End] = None
        self.written = bytearray()          # what write/writelines/try_write accepted, in order
        self.received = bytearray()         # what this end's read callback got
        self.next_seq = 0
        self.write_expected: List[int] = []  # seq of writes made with a callback
        self.write_done: List[Tuple[int, Optional[int]]] = []
        self.shut = False                   # shutdown() was accepted
        self.shutdown_calls = 0
        self.shutdown_status: List[Optional[int]] = []
        self.shutdown_after = 0             # len(write_expected) when shutdown() was called
        self.connect_calls = 0
        self.connect_status: List[Optional[int]] = []
        self.close_called = False
        self.close_expected = 0
        self.close_cbs = 0
        self.reading = False
        self.eofs = 0
        self.session_eofs = 0               # EOFs since the last start_read
        self.read_errors: List[int] = []
        self.gone = False                   # collected without close()
        self.requests: List[Any] = []       # weakrefs of its requests

    def __repr__(self) -> str:
        return f"<End {self.key} {self.kind} {self.side}>"


class StreamMachine(RuleBasedStateMachine):
    """The model: one loop, a TCP and a Pipe server, the connections' ends."""

    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        if TRACE:
            print("example", STATS["examples"], file=sys.__stderr__, flush=True)
        _settle_process_fds()
        gc.collect()
        self.fd_baseline = _fd_count()
        self.tmp = tempfile.mkdtemp(prefix="uvffi-streams-")
        self.errors: List[BaseException] = []
        self.loop = uvffi.Loop()
        self.loop.excepthook = self._hook
        self.guard = uvffi.Timer(self.loop)
        self.next_key = 0
        self.ends: Dict[int, End] = {}
        self.handles: Dict[int, Any] = {}     # the streams the test holds, by end key
        self.pending_tcp: Dict[Any, End] = {}  # client sockname -> client end, until accepted
        self.pending_pipe: List[End] = []      # pipe clients in connect() order, until accepted
        self.budget = BYTES_BUDGET
        self.tcp_server = uvffi.TCP(self.loop)
        self.tcp_server.bind(("127.0.0.1", 0))
        self.tcp_server.listen(self._on_connection("tcp"))
        self.tcp_addr = self.tcp_server.getsockname()
        self.pipe_name = os.path.join(self.tmp, "s")
        self.pipe_server = uvffi.Pipe(self.loop)
        self.pipe_server.bind(self.pipe_name)
        self.pipe_server.listen(self._on_connection("pipe"))

    # -- helpers ------------------------------------------------------------

    def _trace(self, name: str, args: Dict[str, Any]) -> None:
        """UVFFI_STATEFUL_VERBOSE=1: print each step as it starts (to find a hang)."""
        if TRACE:
            shown = {k: v for k, v in args.items() if k != "self"}
            print(f"step {name} {shown}", file=sys.__stderr__, flush=True)

    def _hook(self, typ: Any, value: BaseException, tb: Any) -> None:
        self.errors.append(value)

    def _new_end(self, kind: str, side: str, handle: Any) -> End:
        self.next_key += 1
        end = End(self.next_key, kind, side)
        end.ref = weakref.ref(handle)
        self.ends[end.key] = end
        self.handles[end.key] = handle
        return end

    def _live(self) -> List[Tuple[End, Any]]:
        """The ends whose stream still exists (held by the test or kept by C)."""
        out = []
        for end in self.ends.values():
            h = end.ref()
            if h is not None:
                out.append((end, h))
        return out

    def _pick(self, i: int, open_only: bool = True) -> Optional[Tuple[End, Any]]:
        live = [(e, h) for e, h in self._live() if not (open_only and h.closed)]
        return live[i % len(live)] if live else None

    def _payload(self, size: int) -> bytes:
        if size > self.budget:
            size = min(size, 100)
        self.budget -= size
        return os.urandom(size)

    @staticmethod
    def _form(form: str, payload: bytes) -> Any:
        if form == "bytes":
            return payload
        if form == "bytearray":
            return bytearray(payload)
        if form == "memoryview":
            return memoryview(b"<<" + payload + b">>")[2:2 + len(payload)]
        return memoryview(bytearray(payload))

    def _run(self, mode: int) -> None:
        """One bounded run: the guard timer stops the loop after GUARD_S at most."""
        self.loop.update_time()
        self.guard.start(lambda t: t.loop.stop(), GUARD_S, 0)
        self.loop.run(mode)  # an exception out of run() fails the test
        self.guard.stop()

    # -- callbacks ----------------------------------------------------------

    def _on_connection(self, kind: str) -> Any:
        model = self

        def on_connection(server: Any, error: Optional[int]) -> None:
            assert error is None, f"listen callback error {error}"
            conn = uvffi.TCP(model.loop) if kind == "tcp" else uvffi.Pipe(model.loop)
            server.accept(conn)
            end = model._new_end(kind, "server", conn)
            client: Optional[End] = None
            if kind == "tcp":
                try:
                    client = model.pending_tcp.pop(conn.getpeername(), None)
                except StreamError:  # the client is already gone (reset): no peer to check
                    client = None
            elif model.pending_pipe:
                client = model.pending_pipe.pop(0)
            if client is not None:
                end.peer, client.peer = client, end
        return on_connection

    def _on_connect(self, end: End) -> Any:
        def on_connect(h: Any, error: Optional[int]) -> None:
            assert h is end.ref()
            end.connect_status.append(error)
            assert len(end.connect_status) == 1, "a connect callback ran twice"
            assert end.close_cbs == 0, "connect callback after the close callback"
            if error is not None:
                assert error == errno.UV_ECANCELED and end.close_called, f"connect failed: {error}"
        return on_connect

    def _on_write(self, end: End, seq: int) -> Any:
        def on_write(h: Any, error: Optional[int]) -> None:
            assert h is end.ref()
            assert end.close_cbs == 0, "a write callback ran after the close callback"
            done = end.write_done
            assert len(done) < len(end.write_expected) and end.write_expected[len(done)] == seq, \
                f"write callback {seq} out of order: expected {end.write_expected}, done {done}"
            assert error in WRITE_STATUSES, f"write status {error}"
            if done and done[-1][1] == errno.UV_ECANCELED:
                assert error == errno.UV_ECANCELED, "a write completed after one was cancelled"
            if error == errno.UV_ECANCELED:
                assert end.close_called, "a write was cancelled on an open stream"
            done.append((seq, error))
        return on_write

    def _on_shutdown(self, end: End) -> Any:
        def on_shutdown(h: Any, error: Optional[int]) -> None:
            assert h is end.ref()
            assert end.close_cbs == 0, "a shutdown callback ran after the close callback"
            end.shutdown_status.append(error)
            assert len(end.shutdown_status) == 1, "a shutdown callback ran twice"
            assert error in SHUTDOWN_STATUSES, f"shutdown status {error}"
            assert len(end.write_done) >= end.shutdown_after, \
                "the shutdown callback ran before the callbacks of the writes queued before it"
            if error == errno.UV_ECANCELED:
                assert end.close_called
        return on_shutdown

    def _on_read(self, end: End) -> Any:
        def on_read(h: Any, data: Optional[bytes], error: Optional[int]) -> None:
            assert h is end.ref()
            assert not end.close_called, "a read callback after close()"
            if data is not None:
                assert error is None and type(data) is bytes and data, (data, error)
                assert end.eofs == 0, "data after EOF"
                peer = end.peer
                if peer is not None:
                    at = len(end.received)
                    assert peer.written[at:at + len(data)] == data, \
                        f"{end}: bytes {at}..{at + len(data)} differ from what the peer wrote"
                end.received += data
                return
            assert error in READ_ERRORS, f"read error {error}"
            end.reading = False  # EOF or an error stops reading (pyuv's rule)
            if error == errno.UV_EOF:
                end.eofs += 1
                end.session_eofs += 1
                assert end.session_eofs == 1, "EOF delivered twice"
            else:
                end.read_errors.append(error)
        return on_read

    def _on_close(self, end: End) -> Any:
        def on_close(h: Any) -> None:
            assert h is end.ref() and h.closed
            end.close_cbs += 1
            assert end.close_cbs == 1, "a close callback ran twice"
            assert len(end.write_done) == len(end.write_expected), "the close callback ran before a write callback"
            assert len(end.shutdown_status) == end.shutdown_calls, "the close callback ran before the shutdown's"
            assert len(end.connect_status) == end.connect_calls, "the close callback ran before the connect's"
        return on_close

    # -- rules --------------------------------------------------------------

    @precondition(lambda self: len(self.ends) < 2 * MAX_CONNS)
    @rule(kind=st.sampled_from(["tcp", "pipe"]))
    def connect(self, kind: str) -> None:
        self._trace("connect", locals())
        h = uvffi.TCP(self.loop) if kind == "tcp" else uvffi.Pipe(self.loop)
        end = self._new_end(kind, "client", h)
        if kind == "tcp":
            end.requests.append(weakref.ref(h.connect(self.tcp_addr, self._on_connect(end))))
            end.connect_calls = 1
            self.pending_tcp[h.getsockname()] = end
        else:
            end.requests.append(weakref.ref(h.connect(self.pipe_name, self._on_connect(end))))
            end.connect_calls = 1
            self.pending_pipe.append(end)

    def _write(self, end: End, h: Any, payload: bytes, call: Any, with_cb: bool) -> bool:
        """Make one write through ``call(callback)``; True if it was accepted."""
        writable = h.writable
        seq = end.next_seq
        end.next_seq += 1
        try:
            req = call(self._on_write(end, seq) if with_cb else None)
        except HandleClosedError:
            raise AssertionError("write on an open stream raised HandleClosedError") from None
        except StreamError as e:
            assert not writable, f"write on a writable stream failed: {e!r}"
            assert e.args[0] in (errno.UV_EPIPE, errno.UV_EBADF), e
            return False
        assert writable, "write on a stream that is not writable was accepted"
        end.requests.append(weakref.ref(req))
        end.written += payload
        if with_cb:
            end.write_expected.append(seq)
        return True

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), size=st.sampled_from(SIZES), form=st.sampled_from(FORMS),
          with_cb=st.booleans(), resize=st.booleans())
    def write(self, i: int, size: int, form: str, with_cb: bool, resize: bool) -> None:
        self._trace("write", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        payload = self._payload(size)
        data = self._form(form, payload)
        if not self._write(end, h, payload, lambda cb: h.write(data, cb), with_cb):
            return
        if form == "bytearray" and resize:
            try:
                data.extend(b"!" * 100_000)  # would move the memory libuv reads from
            except BufferError:
                pass  # pinned until the write's callback
            else:
                assert PYPY, "a bytearray being written was resized"  # PyPy writes a copy

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), sizes=st.lists(st.sampled_from(SIZES[:5]), min_size=1, max_size=5),
          forms=st.lists(st.sampled_from(FORMS), min_size=5, max_size=5), with_cb=st.booleans())
    def writelines(self, i: int, sizes: List[int], forms: List[str], with_cb: bool) -> None:
        self._trace("writelines", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        payloads = [self._payload(n) for n in sizes]
        parts = [self._form(f, p) for f, p in zip(forms, payloads)]
        self._write(end, h, b"".join(payloads), lambda cb: h.writelines(parts, cb), with_cb)

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), size=st.sampled_from(SIZES))
    def try_write(self, i: int, size: int) -> None:
        self._trace("try_write", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        payload = self._payload(size)
        try:
            n = h.try_write(payload)
        except StreamError as e:
            assert e.args[0] in (errno.UV_EAGAIN, errno.UV_EPIPE, errno.UV_EBADF, errno.UV_ENOTCONN,
                                 errno.UV_ECONNRESET), e
            return
        assert 0 <= n <= len(payload)
        end.written += payload[:n]

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), with_cb=st.booleans())
    def shutdown(self, i: int, with_cb: bool) -> None:
        self._trace("shutdown", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        writable = h.writable
        try:
            req = h.shutdown(self._on_shutdown(end) if with_cb else None)
        except StreamError as e:
            assert not writable, f"shutdown of a writable stream failed: {e!r}"
            assert e.args[0] == errno.UV_ENOTCONN, e
            return
        assert writable, "shutdown of a stream that is not writable was accepted"
        assert not h.writable
        end.shut = True
        end.requests.append(weakref.ref(req))
        if with_cb:
            end.shutdown_calls += 1
            end.shutdown_after = len(end.write_expected)

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), size=st.sampled_from(READ_SIZES))
    def start_read(self, i: int, size: int) -> None:
        self._trace("start_read", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        readable = h.readable
        try:
            h.start_read(self._on_read(end), size)
        except StreamError as e:
            assert not readable, f"start_read on a readable stream failed: {e!r}"
            assert e.args[0] == errno.UV_ENOTCONN, e
            return
        assert readable, "start_read on a stream that is not readable was accepted"
        end.reading = True
        end.session_eofs = 0

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100))
    def stop_read(self, i: int) -> None:
        self._trace("stop_read", locals())
        picked = self._pick(i)
        if picked is None:
            return
        end, h = picked
        h.stop_read()
        end.reading = False

    @precondition(lambda self: self.ends)
    @rule(i=st.integers(0, 100), how=st.sampled_from(["callback", "plain", "reset"]))
    def close(self, i: int, how: str) -> None:
        self._trace("close", locals())
        picked = self._pick(i, open_only=False)
        if picked is None:
            return
        end, h = picked
        if h.closed:
            with pytest.raises(HandleClosedError):
                h.close()
            return
        if how == "reset" and end.kind == "tcp":
            try:
                h.close_reset(self._on_close(end))
            except uvffi.error.TCPError as e:
                # uv_tcp_close_reset refuses a stream that is shutting down
                assert e.args[0] == errno.UV_EINVAL and end.shut, e
                assert not h.closed
                return
            end.close_expected = 1
        elif how == "plain":
            h.close()
        else:
            h.close(self._on_close(end))
            end.close_expected = 1
        end.close_called = True
        end.reading = False
        assert h.closed and not h.readable and not h.writable

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100))
    def drop(self, i: int) -> None:
        self._trace("drop", locals())
        keys = sorted(self.handles)
        del self.handles[keys[i % len(keys)]]

    def _collectable(self) -> List[Any]:
        """Weakrefs of the streams that nothing keeps: not held by the test, open, not
        active, no request in flight (a request holds its stream until its callback)."""
        out = []
        for end, h in self._live():
            if end.key in self.handles or h.closed or h.active:
                continue
            if any(r() is not None and r().pending for r in end.requests):
                continue
            out.append(end.ref)
        return out

    @rule()
    def collect(self) -> None:
        self._trace("collect", locals())
        must_die = self._collectable()
        for _ in range(4 if PYPY else 1):  # PyPy: finalizers run one level per collection
            gc.collect()
        for r in must_die:
            assert r() is None, f"an unreferenced inactive stream survived gc: {r()!r}"
        for end in self.ends.values():
            if end.ref() is None and not end.close_called:
                end.gone = True

    @rule(mode=st.sampled_from([uvffi.RUN_NOWAIT, uvffi.RUN_ONCE, uvffi.RUN_DEFAULT]))
    def run(self, mode: int) -> None:
        self._trace("run", locals())
        self._run(mode)

    # -- invariants -----------------------------------------------------------

    @invariant()
    def callbacks_and_bytes(self) -> None:
        STATS["steps"] += 1
        assert not self.errors, self.errors
        for end in self.ends.values():
            assert end.close_cbs <= end.close_expected
            assert end.write_done == [(s, e) for s, (_, e) in zip(end.write_expected, end.write_done)]
            assert len(end.shutdown_status) <= end.shutdown_calls
            peer = end.peer
            if peer is not None:
                assert peer.written[:len(end.received)] == end.received
                if end.eofs and peer.shutdown_status == [None]:
                    assert end.received == peer.written, \
                        f"{end} saw EOF after a clean shutdown but got {len(end.received)} of {len(peer.written)} bytes"

    # -- teardown -------------------------------------------------------------

    def _drained(self) -> bool:
        """Every open end whose peer shut down cleanly has seen EOF (or an error), and every
        shutdown asked for has called back."""
        for end, h in self._live():
            if end.shutdown_calls != len(end.shutdown_status):
                return False
            if h.closed:
                continue
            if end.peer is None:
                if end.side == "client" and end.connect_status == [None]:
                    return False  # its connection is not accepted yet
                continue
            if end.peer.shutdown_status == [None] and not (end.eofs or end.read_errors):
                return False
        return True

    def _describe(self) -> str:
        """The state of every live end, for a failure message."""
        lines = []
        for end, h in self._live():
            peer = end.peer
            lines.append(
                f"{end} {h!r} held={end.key in self.handles} reading={end.reading} readable={h.readable} "
                f"writable={h.writable} queue={h.write_queue_size} eofs={end.eofs} errors={end.read_errors} "
                f"shutdowns={end.shutdown_calls}/{end.shutdown_status} writes={len(end.write_expected)}/"
                f"{end.write_done[-3:]} connect={end.connect_status} received={len(end.received)} "
                f"peer={peer} peer_written={len(peer.written) if peer else None} "
                f"peer_gone={peer.gone if peer else None} peer_closed={peer.close_called if peer else None}")
        return "\n".join(lines)

    def teardown(self) -> None:
        # Hypothesis calls teardown() in a finally: a step that failed is being handled
        # now. Then only clean up, so that its failure is the one reported.
        failing = sys.exc_info()[1] is not None
        try:
            if not failing and not self.errors:
                self._check_drain()
        finally:
            self._close_all(check=not failing)

    def _drain_step(self) -> None:
        """Every open end reads (until its EOF or error) and shuts its writing side down;
        again at each run, for the connections accepted meanwhile."""
        for end, h in self._live():
            if h.closed:
                continue
            if not end.reading and h.readable and not end.eofs and not end.read_errors:
                h.start_read(self._on_read(end), READ_SIZES[-1])
                end.reading = True
                end.session_eofs = 0
            if h.writable:
                end.requests.append(weakref.ref(h.shutdown(self._on_shutdown(end))))
                end.shut = True
                end.shutdown_calls += 1
                end.shutdown_after = len(end.write_expected)

    def _check_drain(self) -> None:
        # Read everything, shut every writing side down, run until the transfers end.
        deadline = time.monotonic() + DRAIN_S
        self._drain_step()
        while not self._drained() and not self.errors and time.monotonic() < deadline:
            self._run(uvffi.RUN_ONCE)
            self._drain_step()
        assert not self.errors, self.errors
        assert self._drained(), "the transfers did not finish:\n" + self._describe()
        for end, h in self._live():
            peer = end.peer
            if not h.closed and peer is not None and peer.shutdown_status == [None] and end.eofs:
                assert end.received == peer.written, f"{end}: {len(end.received)} of {len(peer.written)} bytes"

    def _close_all(self, check: bool) -> None:
        for end, h in self._live():
            if not h.closed:
                h.close(self._on_close(end))
                end.close_called = True
                end.close_expected = 1
        for h in (self.tcp_server, self.pipe_server, self.guard):
            if not h.closed:
                h.close()
        self.handles.clear()
        h = None
        for _ in range(100):
            for _ in range(3 if PYPY else 1):
                gc.collect()
            if not self.loop.handles and not self.loop.alive:
                break
            self.loop.run(uvffi.RUN_NOWAIT)
        try:
            if not check:
                return
            assert not self.loop.handles, self.loop.handles
            assert not self.errors, self.errors
            for end in self.ends.values():
                assert end.close_cbs == end.close_expected, f"{end}: close callback count {end.close_cbs}"
                assert [s for s, _ in end.write_done] == end.write_expected, f"{end}: a write callback never ran"
                assert len(end.shutdown_status) == end.shutdown_calls, f"{end}: a shutdown callback never ran"
                assert len(end.connect_status) == end.connect_calls, f"{end}: a connect callback never ran"
        finally:
            self.loop.close()
            self.loop = None  # type: ignore[assignment]
            self.tcp_server = self.pipe_server = self.guard = None  # type: ignore[assignment]
            shutil.rmtree(self.tmp, ignore_errors=True)
        for _ in range(3 if PYPY else 1):
            gc.collect()
        if check:
            assert _fd_count() == self.fd_baseline, f"{_fd_count()} fds open, {self.fd_baseline} before the example"


CHUNKS = Chunks("stateful streams", EXAMPLES, STATS)


@pytest.mark.parametrize("chunk", range(CHUNKS.count), ids=CHUNKS.ids())
def test_random_stream_operation_sequences(capsys: Any, chunk: int) -> None:
    CHUNKS.run(StreamMachine, chunk, capsys, step_count=30, verbose=TRACE)


def test_chunks_add_up_to_the_example_count() -> None:
    assert sum(CHUNKS.sizes) == EXAMPLES and min(CHUNKS.sizes) >= 1
