"""A stateful property test: random sequences of every public operation on several
loops, handles and work requests, checking after every step that

- nothing crashes, and every misuse raises the documented Python exception
  (HandleClosedError on a closed handle, LoopClosedError on a closed loop,
  TimerError for ``again()`` on a never-started timer, TypeError/ValueError for bad
  arguments, RuntimeError for a reentrant ``run()``);
- every close callback is called exactly once (never twice, never lost);
- an active, referenced handle keeps the loop alive;
- every ``done_cb`` runs exactly once, with None or UV_ECANCELED;
- memory is released: inactive handles that nothing references are collected, and
  once every loop is closed, every handle, loop and request object is gone.

Runs never block forever: each run arms a per-loop guard timer that stops the loop
after a few milliseconds (a dropped repeating timer would otherwise keep a
RUN_DEFAULT run going for ever).

``UVFFI_STATEFUL_EXAMPLES`` sets the number of examples (default 150), run in up to six
parametrized chunks so that pytest's progress moves; each chunk prints its counts, the
last one the totals.
"""

from __future__ import annotations

import gc
import os
import signal
import sys
import threading
import weakref
from typing import Any, Optional

import pytest
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    invariant,
    precondition,
    rule,
)
from stateful_chunks import Chunks

import uvffi
from uvffi import errno
from uvffi.error import HandleClosedError, LoopClosedError, TimerError

KINDS = ["Timer", "Check", "Prepare", "Idle", "Async", "Signal"]
MODES = [uvffi.RUN_DEFAULT, uvffi.RUN_ONCE, uvffi.RUN_NOWAIT]
CB_STYLES = ["count", "stop", "close", "raise", "reenter"]
GUARD_S = 0.003


def _loop_count(loop: uvffi.Loop) -> Optional[int]:
    """Loop iterations that reached poll (libuv counts them just before polling); None on
    a libuv without uv_metrics_info (a system libuv older than 1.45)."""
    try:
        return loop.metrics_info().loop_count
    except uvffi.error.FeatureUnavailableError:
        return None

EXAMPLES = int(os.environ.get("UVFFI_STATEFUL_EXAMPLES", "150"))
TRACE = bool(os.environ.get("UVFFI_STATEFUL_VERBOSE"))
STATS = {"examples": 0, "steps": 0}


class Boom(Exception):
    """Raised on purpose by callbacks; the excepthook must receive it."""


class Rec:
    """What the model knows about one handle (never a reference to the handle itself,
    so that dropping the test's reference really drops the last one)."""

    def __init__(self, key: int, kind: str, loop_key: int) -> None:
        self.key = key
        self.kind = kind
        self.loop_key = loop_key
        self.calls = 0
        self.close_cbs = 0
        self.close_expected = 0   # close(callback) calls that succeeded
        self.sent_unanswered = False


class UvffiMachine(RuleBasedStateMachine):
    """The model: loops, handles and work requests, with counters updated by callbacks."""

    def __init__(self) -> None:
        super().__init__()
        STATS["examples"] += 1
        if TRACE:
            print("example", STATS["examples"], file=sys.__stderr__, flush=True)
        self.loops: list[uvffi.Loop] = []
        self.loop_keys: dict[int, int] = {}       # id(loop) -> key
        self.guards: dict[int, uvffi.Timer] = {}  # loop key -> guard timer
        self.handles: list[Any] = []              # strong refs the test holds
        self.recs: dict[int, Rec] = {}
        self.all_refs: list[weakref.ref] = []      # everything ever created
        self.must_die: list[weakref.ref] = []      # dropped while inactive and open
        self.works: list[dict[str, Any]] = []
        self.hook_errors: list[BaseException] = []
        self.next_key = 0

    # -- helpers ------------------------------------------------------------

    def _trace(self, name: str, args: dict[str, Any]) -> None:
        """UVFFI_STATEFUL_VERBOSE=1: print each step as it starts (to find a hang)."""
        if TRACE:
            shown = {k: v for k, v in args.items() if k != "self"}
            print(f"step {name} {shown}", file=sys.__stderr__, flush=True)

    def _key(self) -> int:
        self.next_key += 1
        return self.next_key

    def _hook(self, typ: Any, value: BaseException, tb: Any) -> None:
        if not isinstance(value, Boom):
            self.hook_errors.append(value)

    def _callback(self, rec: Rec, style: str) -> Any:
        model = self

        def cb(handle: Any, *args: Any) -> None:
            rec.calls += 1
            rec.sent_unanswered = False
            assert handle.loop is not None
            if style == "stop" and hasattr(handle, "stop"):
                handle.stop()
            elif style == "close" and not handle.closed:
                model._close(handle, rec, with_cb=True)
            elif style == "raise":
                raise Boom()
            elif style == "reenter":
                try:
                    handle.loop.run(uvffi.RUN_NOWAIT)
                except RuntimeError:
                    pass
                else:
                    model.hook_errors.append(AssertionError("reentrant run() did not raise"))
        return cb

    def _close(self, handle: Any, rec: Rec, with_cb: bool) -> None:
        if with_cb:
            def close_cb(h: Any) -> None:
                rec.close_cbs += 1
                assert h.closed
            handle.close(close_cb)
            rec.close_expected += 1
        else:
            handle.close()

    def _pick(self, i: int) -> Any:
        return self.handles[i % len(self.handles)]

    def _loop(self, i: int) -> uvffi.Loop:
        return self.loops[i % len(self.loops)]

    def _rec(self, handle: Any) -> Rec:
        return self.recs[handle._test_key]

    # -- loops ----------------------------------------------------------------

    @precondition(lambda self: len(self.loops) < 3)
    @rule(default=st.booleans())
    def new_loop(self, default: bool) -> None:
        self._trace("new_loop", locals())
        if default and not any(lp.default for lp in self.loops if not lp.closed):
            loop = uvffi.Loop.default_loop()
        else:
            loop = uvffi.Loop()
        loop.excepthook = self._hook
        key = self._key()
        self.loop_keys[id(loop)] = key
        guard = uvffi.Timer(loop)
        guard._test_guard = True
        self.guards[key] = guard
        self.loops.append(loop)
        if not loop.default:  # the default loop object stays in Loop._default
            self.all_refs.append(weakref.ref(loop))

    @precondition(lambda self: self.loops)
    @rule(i=st.integers(0, 10), mode=st.sampled_from(MODES))
    def run(self, i: int, mode: int) -> None:
        self._trace("run", locals())
        loop = self._loop(i)
        if loop.closed:
            try:
                loop.run(mode)
            except LoopClosedError:
                return
            raise AssertionError("run() on a closed loop did not raise")
        guard = self.guards[self.loop_keys[id(loop)]]
        iterations = _loop_count(loop)
        loop.update_time()  # the guard counts from now, not from the loop's stale cached time
        guard.start(lambda t: t.loop.stop(), GUARD_S, 0)
        loop.run(mode)
        guard.stop()
        # On a loaded machine the guard may still fire in the timers that RUN_DEFAULT runs
        # before its first poll; only a run that reached poll must have answered a send.
        polled = iterations is None or (_loop_count(loop) or 0) > iterations
        for h in self.handles:
            if h.loop is loop and not h.closed:
                rec = self._rec(h)
                if rec.sent_unanswered and mode != uvffi.RUN_NOWAIT and polled:
                    # A send that completed before run() must have been answered by it.
                    raise AssertionError("Async.send() was not followed by a callback")
                if h.active and h.ref:
                    assert loop.alive, "an active referenced handle did not keep the loop alive"

    @precondition(lambda self: self.loops)
    @rule(i=st.integers(0, 10))
    def close_loop(self, i: int) -> None:
        self._trace("close_loop", locals())
        loop = self._loop(i)
        was_closed = loop.closed
        loop.close()  # closing twice does nothing
        assert loop.closed
        if was_closed:
            return
        for h in self.handles:
            if h.loop is loop:
                assert h.closed and not h.active
        for rec in self.recs.values():
            if rec.loop_key == self.loop_keys[id(loop)]:
                assert rec.close_cbs == rec.close_expected, "close callback lost by Loop.close()"
        for w in self.works:
            if w["loop"] == self.loop_keys[id(loop)]:
                assert len(w["status"]) == 1, "done_cb lost by Loop.close()"
        for op in (loop.now, loop.stop, loop.update_time, lambda: loop.handles,
                   lambda: loop.queue_work(lambda: None), lambda: uvffi.Timer(loop), lambda: loop.alive):
            try:
                op()
            except LoopClosedError:
                pass
            else:
                raise AssertionError("a closed loop accepted an operation")

    # -- handles --------------------------------------------------------------

    @precondition(lambda self: self.loops and len(self.handles) < 12)
    @rule(i=st.integers(0, 10), kind=st.sampled_from(KINDS), style=st.sampled_from(CB_STYLES),
          cycle=st.booleans())
    def create(self, i: int, kind: str, style: str, cycle: bool) -> None:
        self._trace("create", locals())
        loop = self._loop(i)
        cls = getattr(uvffi, kind)
        rec = Rec(self._key(), kind, self.loop_keys[id(loop)])
        try:
            h = cls(loop, self._callback(rec, style)) if kind == "Async" else cls(loop)
        except LoopClosedError:
            assert loop.closed
            return
        assert not loop.closed
        h._test_key = rec.key
        h._test_style = style
        if cycle:
            h.me = h  # only the cyclic garbage collector can free it
        self.recs[rec.key] = rec
        self.handles.append(h)
        self.all_refs.append(weakref.ref(h))

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), timeout=st.sampled_from([0, 0.001, 0.002]),
          repeat=st.sampled_from([0, 0, 0.001]), signum=st.sampled_from([signal.SIGUSR1, signal.SIGUSR2]))
    def start(self, i: int, timeout: float, repeat: float, signum: int) -> None:
        self._trace("start", locals())
        h = self._pick(i)
        rec = self._rec(h)
        cb = self._callback(rec, h._test_style)
        try:
            if rec.kind == "Timer":
                h.start(cb, timeout, repeat)
            elif rec.kind == "Signal":
                h.start(cb, signum)
            elif rec.kind == "Async":
                h.send()
                rec.sent_unanswered = True
                return
            else:
                h.start(cb)
        except HandleClosedError:
            assert h.closed
            return
        assert not h.closed and h.active

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100))
    def stop(self, i: int) -> None:
        self._trace("stop", locals())
        h = self._pick(i)
        if not hasattr(h, "stop"):
            return
        try:
            h.stop()
        except HandleClosedError:
            assert h.closed
            return
        assert not h.active

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), repeat=st.sampled_from([0, 0.001]))
    def timer_again(self, i: int, repeat: float) -> None:
        self._trace("timer_again", locals())
        h = self._pick(i)
        if not isinstance(h, uvffi.Timer):
            return
        try:
            h.repeat = repeat
            assert h.repeat == repeat
            h.again()
        except HandleClosedError:
            assert h.closed
        except TimerError as e:
            # uv_timer_again() on a timer never started: UV_EINVAL.
            assert e.args[0] == errno.UV_EINVAL

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), value=st.booleans())
    def set_ref(self, i: int, value: bool) -> None:
        self._trace("set_ref", locals())
        h = self._pick(i)
        try:
            h.ref = value
        except HandleClosedError:
            assert h.closed
            return
        assert h.ref == value

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), with_cb=st.booleans())
    def close(self, i: int, with_cb: bool) -> None:
        self._trace("close", locals())
        h = self._pick(i)
        was_closed = h.closed
        try:
            self._close(h, self._rec(h), with_cb)
        except HandleClosedError:
            assert was_closed
            return
        assert not was_closed and h.closed and not h.active

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100))
    def drop(self, i: int) -> None:
        self._trace("drop", locals())
        h = self.handles.pop(i % len(self.handles))
        if not h.active and not h.closed:
            self.must_die.append(weakref.ref(h))
        del h

    @rule(generation=st.sampled_from([2, 0, 1]))
    def collect(self, generation: int) -> None:
        self._trace("collect", locals())
        gc.collect(generation)
        if generation == 2:
            for r in self.must_die:
                assert r() is None, f"an unreferenced inactive handle survived gc: {r()!r}"

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), n=st.integers(1, 3))
    def send_from_thread(self, i: int, n: int) -> None:
        self._trace("send_from_thread", locals())
        h = self._pick(i)
        if not isinstance(h, uvffi.Async):
            return
        outcome: list[str] = []

        def sender() -> None:
            for _ in range(n):
                try:
                    h.send()
                    outcome.append("sent")
                except HandleClosedError:
                    outcome.append("closed")

        t = threading.Thread(target=sender)
        t.start()
        t.join()
        if h.closed:
            assert set(outcome) == {"closed"}
        else:
            assert outcome == ["sent"] * n
            self._rec(h).sent_unanswered = True

    @precondition(lambda self: self.handles)
    @rule(i=st.integers(0, 100), what=st.sampled_from(["timeout", "callable", "signum", "mode", "close_cb"]))
    def misuse(self, i: int, what: str) -> None:
        self._trace("misuse", locals())
        h = self._pick(i)
        try:
            if what == "timeout" and isinstance(h, uvffi.Timer):
                h.start(lambda t: None, -1.0, 0)
            elif what == "callable" and hasattr(h, "start"):
                h.start(42, 0) if isinstance(h, uvffi.Timer) else h.start(42)  # type: ignore[arg-type]
            elif what == "signum" and isinstance(h, uvffi.Signal):
                h.start(lambda s, n: None, 100000)
            elif what == "mode":
                h.loop.run(17)
            elif what == "close_cb":
                h.close(42)
            else:
                return
        except (TypeError, ValueError, HandleClosedError, LoopClosedError):
            return
        raise AssertionError(f"misuse {what!r} was accepted")

    # -- work -----------------------------------------------------------------

    @precondition(lambda self: self.loops and len(self.works) < 30)
    @rule(i=st.integers(0, 10), cancel=st.booleans(), raise_in_work=st.booleans())
    def queue_work(self, i: int, cancel: bool, raise_in_work: bool) -> None:
        self._trace("queue_work", locals())
        loop = self._loop(i)
        entry: dict[str, Any] = {"loop": self.loop_keys[id(loop)], "status": [], "cancelled": False}

        def work() -> None:
            if raise_in_work:
                raise Boom()

        def done(status: int | None) -> None:
            entry["status"].append(status)

        try:
            req = loop.queue_work(work, done)
        except LoopClosedError:
            assert loop.closed
            return
        self.works.append(entry)
        self.all_refs.append(weakref.ref(req))
        if cancel:
            entry["cancelled"] = req.cancel()

    # -- invariants -------------------------------------------------------------

    @invariant()
    def callbacks_at_most_once(self) -> None:
        STATS["steps"] += 1
        for rec in self.recs.values():
            assert rec.close_cbs <= rec.close_expected <= 1, "a close callback ran twice"
        for w in self.works:
            assert len(w["status"]) <= 1, "a done_cb ran twice"
            if w["status"]:
                assert w["status"][0] in (None, errno.UV_ECANCELED)
                if w["cancelled"]:
                    assert w["status"][0] == errno.UV_ECANCELED
        assert not self.hook_errors, self.hook_errors

    def teardown(self) -> None:
        for lp in self.loops:
            lp.close()
        lp = None  # the loop variable must not keep the last loop alive
        for rec in self.recs.values():
            assert rec.close_cbs == rec.close_expected, "a close callback never ran"
        for w in self.works:
            assert len(w["status"]) == 1, "a done_cb never ran"
        assert not self.hook_errors, self.hook_errors
        self.handles.clear()
        self.guards.clear()
        self.loops.clear()
        # Nothing global went wrong: a fresh loop still dies when dropped.
        probe = uvffi.Loop()
        uvffi.Timer(probe).start(lambda t: None, 0, 0)
        probe.run()
        probe.close()
        self.all_refs.append(weakref.ref(probe))
        del probe
        # PyPy runs finalizers in dependency order, one level per full collection: collect
        # until nothing more dies (CPython needs one pass).
        alive = [r() for r in self.all_refs if r() is not None]
        for _ in range(10):
            if not alive:
                break
            alive = []
            gc.collect()
            alive = [r() for r in self.all_refs if r() is not None]
        assert not alive, f"objects outlived their closed loops: {alive!r}"


CHUNKS = Chunks("stateful", EXAMPLES, STATS)


@pytest.mark.parametrize("chunk", range(CHUNKS.count), ids=CHUNKS.ids())
def test_random_operation_sequences(capsys: Any, chunk: int) -> None:
    CHUNKS.run(UvffiMachine, chunk, capsys, step_count=40, verbose=TRACE)


def test_chunks_add_up_to_the_example_count() -> None:
    assert sum(CHUNKS.sizes) == EXAMPLES and min(CHUNKS.sizes) >= 1
