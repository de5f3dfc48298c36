"""PyPy's side of the C trampoline: the ``extern "Python"`` hooks of ``_c/trampoline.c``.

On CPython the C core calls Python objects through the C API; PyPy has no cheap
C API, so there C passes cffi handles (``ffi.new_handle``, see
:func:`uvffi._core.ref`) to these hooks, which resolve them and call the Python
ends. A handle's callback gets its arguments from its class's ``_emit`` (C hands
over two integers).

Keep-alive: where CPython's core holds a strong reference (``Py_INCREF``) to a
handle that is active or closing, or to a request in flight, PyPy's calls
``_uvffi_py_keep`` and ``_uvffi_py_release`` (for a closing handle, the closed hook
ends the keep), and the objects C holds live in their loop's ``_kept`` dict:
nothing process-wide. A new handle's object is held there by ``Handle.__init__``
itself until it is registered (:func:`bind_handle`): no hook at birth.

Exceptions are routed as on CPython: an ``Exception`` from a callback goes to
the loop's excepthook, a ``BaseException`` stops the loop and is re-raised from
``run()``. Every hook catches what its work raises, and ``onerror`` (:func:`_onerror`)
routes what escapes a hook: PyPy runs a pending signal handler at any bytecode, so a
``KeyboardInterrupt`` can land before a hook's ``try`` or after it.

The bookkeeping hooks (keep, release, closed, done) return 1 once their work is done;
an interrupted one returns 0 (cffi's error value, also when a second signal's handler
raised inside ``onerror`` itself), and C calls it again (``UVFFI_PY_ATTEMPTS`` in
``_c/trampoline.c``). So each of their steps is idempotent, and the user's callbacks
they run are taken and called in one call of built-ins (:mod:`uvffi._core.once`):
called exactly once, however often the hook is called.
"""

from __future__ import annotations

import signal as _signal
import sys
import traceback
from types import TracebackType
from typing import Any, Dict, Optional
from weakref import ref as _weakref

from .native import ffi, lib
from .storage import closed_by_libuv
from .trampoline import hooks, on_error

__all__: list = []

_cast = ffi.cast
_from_handle = ffi.from_handle
_disown = lib.uvffi_handle_disown


def _resolve(value: int) -> Any:
    """The Python object behind a handle value that C passed."""
    return _from_handle(_cast("void *", value))


def _try_resolve(value: Any) -> Any:
    """The object behind a handle value, or None if ``value`` is not one (or stale).
    Only an ``Exception`` means that: a signal's ``KeyboardInterrupt`` goes on."""
    if isinstance(value, int) and value:
        try:
            return _resolve(value)
        except Exception:  # noqa: BLE001 - a stale handle: report without it
            return None
    return None


def _keep(loop: Any, value: int, obj: Any) -> None:
    """C holds a reference to ``obj`` (its handle value): keep it alive in its loop."""
    loop._kept[value] = obj


_live: Dict[int, Any] = {}
"""Each bound handle's object by its C handle's address, as a plain weak reference
(``weakref.ref``, no callback): what C may ask about a handle it does not keep, whose
object may be gone (see :func:`bind_handle`). Not a ``WeakValueDictionary``: its
``KeyedRef`` runs a Python ``__init__`` per entry and a Python callback per death,
a third of a one-shot timer's cost on PyPy. An entry whose object died is dropped by
:func:`_sweep` as the dict grows, or replaced when the address is reused (deleting
each entry when its handle closes measured slower on PyPy 7.3.11 than sweeping)."""

_live_limit = [1024]
"""The size of :data:`_live` at which :func:`_sweep` next drops dead entries."""


def _sweep() -> None:
    """Drop the entries of :data:`_live` whose object died; the next sweep comes when
    the dict has doubled again, so a sweep costs O(1) per entry added."""
    for h in [h for h, r in _live.items() if r() is None]:
        _live.pop(h, None)
    _live_limit[0] = max(1024, 2 * len(_live))


def bind_handle(obj: Any, ptr: Any, value: int) -> None:
    """``Handle.__init__`` on PyPy, once ``obj._ptr`` is ``ptr`` (``value``: its cffi
    handle). A dropped handle's object dies before its finaliser (``ffi.gc``, C: no
    signal handler can split it) abandons the C handle, and a dead object's cffi handle
    is freed memory: so C asks :data:`_live` before it reaches an object it does not
    keep. ``Handle.__init__`` put the object in its loop's ``_kept`` before it created
    the C handle, and it stays there until ``uvffi_handle_bound`` said that C does not
    keep it (0): a signal that ends this early leaves the object held, as a handle C
    keeps is, until the handle closes (its close keeps and releases it) or its loop
    does. No hook at a handle's birth: C keeps it only if it is born active."""
    if len(_live) >= _live_limit[0]:
        _sweep()
    _live[int(_cast("uintptr_t", ptr))] = _weakref(obj)
    obj._owner = ffi.gc(lib.uvffi_handle_owner(ptr), lib.uvffi_owner_drop)
    if lib.uvffi_handle_bound(ptr) == 0:  # C does not keep it: end Python's hold (C's comes first)
        unhold(obj._loop, value)


def hold(obj: Any) -> bool:
    """Before a C call that starts ``obj``'s handle (``Timer.start``, the loop watchers'
    ``start``): put the object in its loop's ``_kept``, where C's keep would put it, so
    that C keeps it without calling the keep hook (``uvffi__sync_keep_started``,
    ``_c/handle.c``). True if it was there already (C keeps it). A signal landing between
    this and the C call leaves the object held, as a kept handle is, until the handle or
    its loop closes; if the call fails, :func:`unhold` what this added."""
    kept = obj._loop._kept
    value = obj._cref
    if value in kept:
        return True
    kept[value] = obj
    return False


def unhold(loop: Any, value: int) -> None:
    """End ``Handle.__init__``'s hold of a new handle's object (its loop's ``_kept``
    entry, when C does not keep it). An emptied dict is replaced, as in :func:`_unkeep`."""
    kept = loop._kept
    kept.pop(value, None)
    if not kept:
        loop._kept = {}


def object_of(h: int) -> Any:
    """The live object of C handle ``h`` (an address), or None."""
    r = _live.get(h)
    obj = r() if r is not None else None
    ptr = getattr(obj, "_ptr", None)  # a closed object's is None; h may be a new handle's
    return obj if ptr is not None and int(_cast("uintptr_t", ptr)) == h else None


def _keep_handle(loop: Any, value: int, h: int) -> None:
    """The keep hook's work (idempotent): keep the object of C handle ``h``, or, if it is
    gone, disown ``h`` in C (value 0 is a request or a new handle: alive, kept as is)."""
    if not h:
        _keep(loop, value, _resolve(value))
        return
    obj = object_of(h)
    if obj is None:
        _disown(_cast("uvffi_handle_t *", h))
    else:
        _keep(loop, value, obj)


def _unkeep(loop: Any, value: int) -> None:
    """C dropped its reference: for a request, after libuv's cleanup of it, so its
    pinned buffers go too (CPython's ``req.c`` drops them at the same point). An
    emptied dict is replaced: PyPy 7.3.11's dict was seen to keep deleted values
    reachable. Idempotent, in an order that a second call completes wherever a
    signal stopped the first: the buffers go before the entry that finds them."""
    kept = loop._kept
    obj = kept.get(value)
    if obj is not None:
        if getattr(obj, "_pinned", None) is not None:
            obj._pinned = None
        kept.pop(value, None)
    if not kept:
        loop._kept = {}


def _route(source: Any, exc: BaseException) -> None:
    """Hand ``exc`` to the loop of ``source`` (a handle, request or loop). A router that
    fails with an ``Exception`` is printed; a ``BaseException`` landing in it (a second
    Ctrl-C) goes on, out of the hook, to :func:`_onerror`, which routes that one."""
    try:
        on_error(source, exc)
    except Exception:  # noqa: BLE001 - the router failed: never let it escape into C
        traceback.print_exc()


def _onerror(exc_type: Optional[type], exc: Optional[BaseException], tb: Optional[TracebackType]) -> None:
    """An exception escaped a hook: PyPy runs a pending signal handler (Ctrl-C) at any
    bytecode, a hook's first included, before its ``try``. Route the exception as the hook
    would have, and return None: cffi then returns the hook's error value, 0, and C calls a
    bookkeeping hook again to finish its work (``UVFFI_PY_ATTEMPTS``, ``_c/trampoline.c``).
    The hook's frame is the traceback's first; its arguments say whose it is. If another
    signal's handler raises in here, cffi prints both exceptions and returns 0 all the same:
    only the bookkeeping must not be lost, and C's next call does it."""
    if exc is None:
        return
    frame = tb.tb_frame if tb is not None else None
    args = frame.f_locals if frame is not None else {}
    code = frame.f_code if frame is not None else None
    obj = _try_resolve(args.get("self"))
    if obj is not None and code is _uvffi_py_work.__code__:
        obj._exc = exc  # a pool thread: done_cb's thread reports it
        return
    source = obj if obj is not None else _try_resolve(args.get("pyloop"))
    if source is not None and (hasattr(source, "_handle_error") or hasattr(source, "_loop")):
        _route(source, exc)
        return
    print("uvffi: exception in a libuv callback with no loop to report it to:", file=sys.stderr)
    traceback.print_exception(exc_type, exc, tb)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_call(self: int, a: int, b: int) -> None:
    """A handle's callback, with the arguments its class's ``_emit`` makes of ``a`` and ``b``."""
    handle = _resolve(self)
    try:
        cb = handle._callback
        if cb is not None:
            handle._emit(cb, a, b)
    except BaseException as exc:  # noqa: BLE001 - routed like CPython's core does
        _route(handle, exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_batch(pyloop: int, due: Any, n: int, ticks: Any) -> int:
    """A phase's loop watchers (Check, Prepare, Idle): ``callback(handle)`` for each
    nonzero handle value of C's array ``due`` (``n`` long), in order: one hook per phase
    (``uvffi__batch_flush`` in ``_c/trampoline.c``). Each entry is zeroed before its
    callback is called, so a call of this hook after an interrupted one runs the rest and
    no callback twice. 2: a callback queued next-tick callbacks (``ticks``: C's flag),
    which C runs before it calls again for the rest; 1: all ran."""
    for i in range(n):
        value = due[i]
        if value:
            due[i] = 0
            handle = _resolve(value)
            try:
                cb = handle._callback
                if cb is not None:
                    handle._emit(cb, 0, 0)
            except BaseException as exc:  # noqa: BLE001 - routed like CPython's core does
                _route(handle, exc)
            if ticks[0]:
                return 2
    return 1


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_closed(pyloop: int, self: int, kept: int) -> int:
    """libuv closed the handle: the bookkeeping and its close callback (taken and called
    once, however often C calls), then, if C kept the object (``kept``: always, but for a
    handle whose keep failed), the end of that keep: what the release hook did after
    this one. 1: done; 0: C calls again (after an exception, which may have come before
    the bookkeeping was done). A kept object is found in its loop's ``_kept`` (no cffi
    handle to resolve); once it is gone from there, an earlier call did everything, the
    release being its last step, and the object's cffi handle may be stale: nothing to do."""
    if kept:
        loop = _resolve(pyloop)
        handle = loop._kept.get(self)
        if handle is None:
            return 1
    else:
        handle = _resolve(self)
    try:
        closed_by_libuv(handle)
    except BaseException as exc:  # noqa: BLE001
        _route(handle, exc)
        return 0
    if kept:
        _unkeep(loop, self)
    return 1


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_keep(pyloop: int, self: int, h: int) -> int:
    """C now holds a reference to the object: keep it alive (C keeps each object once).
    ``h`` is the C handle's address, or 0 for a request or a new handle. 1: done."""
    _keep_handle(_resolve(pyloop), self, h)
    return 1


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_release(pyloop: int, self: int) -> int:
    """C dropped its reference to the object. 1: done."""
    _unkeep(_resolve(pyloop), self)
    return 1


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_work(self: int) -> None:
    """In a pool thread: run the request's work (its exception is kept for done_cb's thread)."""
    request = _resolve(self)
    try:
        request._run()
    except BaseException as exc:  # noqa: BLE001
        request._exc = exc


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_done(self: int, status: int, attempt: int) -> int:
    """On the loop thread: the request finished or was cancelled. C's first call runs
    ``_done``; if it does not return 1 (an exception, a signal's or the callback's), C calls
    again with ``attempt`` > 0 and ``_salvage`` does what ``_done`` left undone."""
    request = _resolve(self)
    try:
        if attempt:
            request._salvage(status)
        else:
            request._done(status)
    except BaseException as exc:  # noqa: BLE001 - e.g. Ctrl-C landing before the user's callback
        _route(request, exc)
        return 0
    return 1


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_signals(pyloop: int) -> None:
    """A signal woke the loop: run Python's signal handlers now (Ctrl-C raises here).

    PyPy runs a pending handler at the first bytecode it executes, often before
    this ``try``: :func:`_onerror` then routes the exception to the same loop."""
    try:
        _run_signal_handlers()
    except BaseException as exc:  # noqa: BLE001
        _route(_resolve(pyloop), exc)


def _loop_hook(name: str, pyloop: int) -> None:
    loop = _resolve(pyloop)
    try:
        fn = hooks.get(name)
        if fn is not None:
            fn(loop)
    except BaseException as exc:  # noqa: BLE001
        loop._handle_error(exc)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_ticks(pyloop: int) -> None:
    """A callback queued next-tick callbacks: run them now."""
    _loop_hook("ticks", pyloop)


@ffi.def_extern(onerror=_onerror)
def _uvffi_py_threadsafe(pyloop: int) -> None:
    """The loop's internal async fired: run the call_soon_threadsafe batch."""
    _loop_hook("threadsafe", pyloop)


def _run_signal_handlers() -> None:
    """Run pending signal handlers now. PyPy runs them between bytecodes when a signal
    arrives, but one that came while they were deferred (:func:`defer_signals`) waits
    until something asks: ``pthread_sigmask`` does (it changes nothing here)."""
    _signal.pthread_sigmask(_signal.SIG_BLOCK, ())


# -- deferring Python's signal handlers -------------------------------------------
#
# PyPy runs a signal handler at any bytecode of the main thread, so a KeyboardInterrupt
# can split any two steps of Python code, a try/finally's included (it can land in the
# finally before its first statement ran). PyPy's own switch for the thread's signal
# handlers, which ``__pypy__.thread.signals_enabled`` uses to let another thread run them,
# defers them in the main thread: a signal that arrives meanwhile stays pending (its
# wakeup fd byte is written as usual) and its handler runs once they are enabled again
# and something asks. Loop.run and close defer them for their own steps; C lets them
# run while the loop runs callbacks, and sets the signal wakeup fd for just as long
# (set_wakeup_fd refuses a thread whose handlers are deferred), calling these built-ins
# (no bytecode) as hooks: uvffi_run_signals in _c/loop.c.

try:
    from __pypy__ import thread as _pypy_thread
except ImportError:  # CPython: only tests import this module there, and call no hook below
    _pypy_thread = None
else:
    _signals_enter = _pypy_thread._signals_enter
    _signals_exit = _pypy_thread._signals_exit
    ffi.def_extern(name="_uvffi_py_signals_on")(_signals_enter)
    ffi.def_extern(name="_uvffi_py_signals_off")(_signals_exit)
    ffi.def_extern(name="_uvffi_py_set_wakeup", error=-2)(_signal.set_wakeup_fd)


def defer_signals() -> bool:
    """Defer the calling thread's signal handlers; False if they already were (or never
    run in this thread), and then :func:`undefer_signals` must not be called. Once this
    returned True no handler runs until :func:`undefer_signals`: call it in a ``finally``."""
    try:
        _signals_exit()
    except RuntimeError:  # "cannot disable signals in thread not enabled for signals"
        return False
    return True


def undefer_signals() -> None:
    """Let the signal handlers run again, and run those of the signals that came meanwhile
    (a KeyboardInterrupt is raised here, after the deferred steps)."""
    _signals_enter()
    _run_signal_handlers()
