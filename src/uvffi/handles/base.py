"""The handle base class and the lifetime rules every handle kind shares.

For authors of a handle kind (see docs/architecture.md for the whole path):

- The libuv struct is allocated in C (``_c/handle.c``: a small header plus
  ``uv_handle_size()``) and freed only in its close callback.
- While a handle is active or closing, C holds a reference to the Python object,
  so a started handle keeps working though the program drops it. A one-shot
  handle that went inactive in its callback is released after the callback.
- An inactive handle that nothing references is collected; its libuv handle is
  then closed on the loop's thread and only the raw memory is freed.
- C's references to active handles count as the loop's own for CPython's
  garbage collector: a loop that nothing but its own handles (and their
  callbacks) reaches is collected, and its ``__del__`` closes it. Not a loop
  shared with ``from_pointer()`` wrappers, nor one with work in flight.
- While a loop is closing (``close()`` has begun) handles cannot be created
  on it (:class:`~uvffi.error.LoopClosedError`).
- The close callback's bookkeeping (``_ptr`` to None, ``_closed``, dropping the
  callback) is done by C on CPython and by :func:`uvffi._core.storage.closed_by_libuv`
  on PyPy: no subclass can skip it. To learn that a handle closed, pass a
  callback to :meth:`Handle.close`.
- A kind's start method stores the callback in ``_callback`` (the Python object
  owns it; C borrows it) together with the C call that starts the handle.
- A kind's class is ``class Kind(*ops("kind"), _Kind)``: on CPython its C
  methods (``_c/<kind>.c``) take the plain case and hand anything else to the
  Python implementation ``_Kind`` next in the MRO, which is all PyPy (and
  ``UVFFI_NO_CBASE=1``) runs.
- A callback's arguments beyond the handle come from C; on PyPy, C passes two
  integers and the class's :meth:`Handle._emit` makes the arguments.
"""

from __future__ import annotations

from typing import Any, Callable, ClassVar, Optional, Type

from .._core import PYPY, HandleStorage, lib, ref
from ..error import HandleClosedError, HandleError, LoopClosedError, UVError, raise_for
from ..loop import Loop

if PYPY:  # pragma: no cover - exercised by the PyPy run of the suite
    from .._core.pypy import bind_handle, unhold

__all__ = ["Handle"]


_STORAGE_DEL: Optional[Callable[[Any], None]] = getattr(HandleStorage, "__del__", None)
"""The storage's finaliser, which a subclass's ``__del__`` is wrapped to call (CPython)."""


class Handle(HandleStorage):
    """Base class of libuv handles (:class:`~uvffi.Timer`, :class:`~uvffi.Prepare`,
    :class:`~uvffi.Check`, :class:`~uvffi.Idle`, :class:`~uvffi.Async`,
    :class:`~uvffi.Signal`, :class:`~uvffi.Poll`); not instantiated directly. It owns
    the lifetime rules:

    - A started handle stays alive though the program drops every reference to it:
      C holds a reference while the handle is active or closing.
    - An inactive handle that nothing references (reference cycles included) is
      garbage-collected; its libuv handle is then closed on the loop's thread and its
      memory freed after libuv's close callback, never before.
    - Operations on a closed handle, or on a handle of a closed loop, raise
      :class:`~uvffi.error.HandleClosedError`.
    - Handle and loop classes can be subclassed and their instances take arbitrary
      attributes. A subclass may override ``__init__`` (calling
      ``super().__init__(loop, ...)``) and ``__del__`` (the base finaliser still runs
      after it).

    On CPython the handle's state lives in C struct slots, and each kind's hot
    methods (creation, :meth:`close`, :meth:`uvffi.Timer.start`,
    :meth:`uvffi.Async.send`, ...) are C methods placed before the Python ones in the
    MRO: they do the plain case and hand anything else (keyword arguments, a
    non-number timeout, a closed handle, another thread's running loop) to the Python
    methods, which raise the errors. ``UVFFI_NO_CBASE=1`` leaves the Python methods
    alone; PyPy runs only them.
    """

    _kind: ClassVar[int] = 0
    _error: ClassVar[Type[UVError]] = HandleError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # C borrows the Python object while the handle is inactive, and the
        # storage's finaliser is what tells C the object is gone. A subclass whose
        # own __del__ forgot super().__del__() would leave C with a dangling
        # pointer: wrap such a __del__ so that the storage's runs after it,
        # whatever it does (the storage's finaliser is idempotent). On PyPy the
        # finaliser is not a __del__ (_core/pypy.py's bind_handle): nothing to wrap.
        super().__init_subclass__(**kwargs)
        user_del = cls.__dict__.get("__del__")
        storage_del = _STORAGE_DEL
        if user_del is not None and storage_del is not None and not getattr(user_del, "_uvffi_wrapped", False):
            def __del__(self: Any, _user_del: Callable[[Any], None] = user_del,
                        _storage_del: Callable[[Any], None] = storage_del) -> None:
                try:
                    _user_del(self)
                finally:
                    _storage_del(self)

            __del__._uvffi_wrapped = True  # type: ignore[attr-defined]
            setattr(cls, "__del__", __del__)  # noqa: B010 - mypy knows no __del__ on the storage

    def __init__(self, loop: Loop, *, _arg: int = 0) -> None:
        """Create the libuv handle on ``loop``."""
        if not isinstance(loop, Loop):
            raise TypeError(f"loop must be a uvffi Loop, not {type(loop).__name__}")
        if not self._kind:
            raise TypeError(f"{type(self).__name__} is abstract: create a Timer, Check, Async, ... instead")
        if loop._closed:
            raise LoopClosedError("the loop is closed")
        if self._ptr is not None:
            # A second __init__ would orphan the first libuv handle, which still
            # borrows this object: a dangling pointer once the object dies.
            raise RuntimeError("this handle is already initialised")
        value = ref(self)
        if PYPY:  # held until bind_handle: a signal may land before the object is registered
            self._cref = value
            loop._kept[value] = self
        ptr = lib.uvffi_handle_new(loop._lp, self._kind, value, _arg)
        if not ptr:
            if PYPY:
                unhold(loop, value)
            raise_for(lib.uvffi_last_error(), self._error)
        self._loop = loop
        self._ptr = ptr
        if PYPY:
            bind_handle(self, ptr, value)

    @property
    def loop(self) -> Loop:
        """The loop this handle belongs to."""
        return self._loop

    @property
    def active(self) -> bool:
        """True while the handle is started (for Async: until it is closed)."""
        ptr = self._ptr
        return ptr is not None and not self._closed and bool(lib.uvffi_handle_active(ptr))

    @property
    def closed(self) -> bool:
        """True once :meth:`close` was called (the handle is closing or closed)."""
        return self._closed

    @property
    def ref(self) -> bool:
        """Whether the handle keeps the loop alive; set False to let the loop end without it."""
        ptr = self._ptr
        return ptr is not None and not self._closed and bool(lib.uvffi_handle_has_ref(ptr))

    @ref.setter
    def ref(self, value: bool) -> None:
        err = lib.uvffi_handle_set_ref(self._live(), 1 if value else 0)
        if err:
            raise_for(err, self._error)

    def _live(self) -> Any:
        """The cffi pointer of an open handle; HandleClosedError (or, for a subclass
        that skipped ``__init__``, a message saying so) otherwise."""
        ptr = self._ptr
        if ptr is None or self._closed:
            if not self._closed and self._loop is None:
                raise HandleClosedError(lib.UVFFI_ECLOSED, f"{type(self).__name__}.__init__ was not called")
            raise HandleClosedError(lib.UVFFI_ECLOSED, "handle is closing or closed")
        return ptr

    def close(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the handle; ``callback(handle)`` runs once libuv has closed it.

        Closing twice raises :class:`~uvffi.error.HandleClosedError`."""
        if callback is not None and not callable(callback):
            raise TypeError("a callable or None is required")
        ptr = self._live()
        if callback is not None:  # before the C call: a signal landing after it cannot lose the callback
            old = getattr(self, "_close_cb", None)  # (a subclass may have deleted it)
            self._close_cb = callback
        err = lib.uvffi_handle_close(ptr)
        if err:
            if callback is not None:
                self._close_cb = old
            raise_for(err, self._error)
        self._closed = True

    def _emit(self, callback: Callable[..., Any], a: int, b: int) -> None:
        """PyPy: call ``callback`` with this kind's arguments, made of the two
        integers C passed (here: none; Signal and Poll override)."""
        callback(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("active" if self.active else "inactive")
        return f"<{type(self).__name__} {state}>"
