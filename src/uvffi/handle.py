"""The handle base class: the lifetime rules every handle family shares.

- The libuv struct is allocated in C and freed only in its close callback.
- While a handle is active or closing, C holds a reference to the Python object,
  so a started handle keeps working though the program drops it.
- An inactive handle that nothing references is collected; its libuv handle is
  then closed on the loop's thread and only the raw memory is freed.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Callable, ClassVar, Optional, Type

from ._ffi import cb_ref, fast, lib, ref
from .error import HandleClosedError, HandleError, LoopClosedError, UVError, raise_for
from .loop import Loop

__all__ = ["Handle"]

_fast_new = fast.get("handle_new")
_fast_close = fast.get("handle_close")


class _HandleState:
    """The per-handle state as Python attributes, and the lifetime hooks in Python.

    PyPy's base of :class:`Handle` (its JIT makes this cheap). On CPython the base
    is ``HandleBase`` from ``_bases.c``: the same attributes as C struct fields,
    ``__init__`` and ``__del__`` in C, and :meth:`Handle._init` for what is not the
    plain case."""

    # Defaults as class attributes: fewer instance writes per handle created.
    _callback: Optional[Callable[..., Any]] = None
    _close_cb: Optional[Callable[[Any], Any]] = None
    _closed: bool = False
    _ptr: Any = None
    _loop: Any = None

    def __init__(self, loop: Loop, _callback: Optional[Callable[..., Any]] = None) -> None:
        self._init(loop, _callback)  # type: ignore[attr-defined]

    def __del__(self) -> None:
        ptr = self._ptr  # a class default: set even if __init__ failed early
        if ptr is not None and not self._closed:
            self._ptr = None
            try:
                lib.uvffi_handle_abandon(ptr)
            except Exception:  # interpreter shutdown
                pass


if TYPE_CHECKING:
    _Base = _HandleState
else:
    _Base = fast.get("HandleBase") or _HandleState


class Handle(_Base):
    """Base class of libuv handles (:class:`~uvffi.Timer`, :class:`~uvffi.Prepare`,
    :class:`~uvffi.Check`, :class:`~uvffi.Idle`, :class:`~uvffi.Async`,
    :class:`~uvffi.Signal`); not instantiated directly. It owns the lifetime rules:

    - A started handle stays alive though the program drops every reference to it:
      C holds a reference while the handle is active or closing.
    - An inactive handle that nothing references (reference cycles included) is
      garbage-collected; its libuv handle is then closed on the loop's thread and its
      memory freed after libuv's close callback, never before.
    - Operations on a closed handle, or on a handle of a closed loop, raise
      :class:`~uvffi.error.HandleClosedError`.
    - Handle and loop classes can be subclassed and their instances take arbitrary
      attributes. A subclass may override ``__init__`` (calling
      ``super().__init__(loop, ...)``), ``__del__`` (the base finaliser still runs
      after it) and ``_on_closed``.

    On CPython the base class is ``uvffi._uv.HandleBase`` (C), which holds the
    handle's state as struct slots and does the plain case of creation,
    :meth:`close`, :meth:`uvffi.Timer.start` and :meth:`uvffi.Async.send` in C;
    anything else (keyword arguments, a non-number timeout, a closed handle,
    another thread's running loop) goes to the Python methods, which raise the
    errors. Its finaliser closes an open handle whose object dies, keyed on the C
    handle itself. On PyPy the base is a plain Python class with the same
    attributes and methods.
    """

    _kind: ClassVar[int] = 0
    _error: ClassVar[Type[UVError]] = HandleError

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # C borrows the Python object while the handle is inactive, and
        # Handle.__del__ is what tells C the object is gone. A subclass whose own
        # __del__ forgot super().__del__() left C with a dangling pointer (a
        # segfault in loop.handles or Loop.close()): wrap such a __del__ so that
        # Handle's runs after it, whatever it does (Handle.__del__ is idempotent).
        super().__init_subclass__(**kwargs)
        user_del = cls.__dict__.get("__del__")
        if user_del is not None and not getattr(user_del, "_uvffi_wrapped", False):
            def __del__(self: Any, _user_del: Callable[[Any], None] = user_del) -> None:
                try:
                    _user_del(self)
                finally:
                    Handle.__del__(self)

            __del__._uvffi_wrapped = True  # type: ignore[attr-defined]
            cls.__del__ = __del__  # type: ignore[method-assign]

    def _init(self, loop: Loop, _callback: Optional[Callable[..., Any]] = None) -> None:
        """``Handle(loop, _callback=None)``: create the libuv handle (HandleBase's
        ``__init__`` does the plain case in C and calls this for the rest)."""
        if loop.__class__ is not Loop and not isinstance(loop, Loop):
            raise TypeError(f"loop must be a uvffi Loop, not {type(loop).__name__}")
        if loop._closed:
            raise LoopClosedError("the loop is closed")
        if self._ptr is not None:  # a class default: always set
            # A second __init__ would orphan the first libuv handle, which still
            # borrows this object: a dangling pointer once the object dies.
            raise RuntimeError("this handle is already initialised")
        self._loop = loop
        if _callback is not None:
            self._callback = _callback
        if _fast_new is not None:  # CPython: allocate + init in one C call, GIL kept
            ptr = _fast_new(loop._lp, self._kind, self, _callback)
            if type(ptr) is int:  # cffi pointers: `.__class__` is not specialised, type() is
                raise_for(ptr, self._error)
            if ptr is not NotImplemented:
                self._ptr = ptr
                return
        ptr = lib.uvffi_handle_new(loop._lp, self._kind, ref(self), 0 if _callback is None else cb_ref(_callback))
        if not ptr:
            raise_for(lib.uvffi_last_error(), self._error)
        self._ptr = ptr

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
        ptr = self._ptr
        if ptr is None or self._closed:
            raise HandleClosedError(lib.UVFFI_ECLOSED, "handle is closing or closed")
        return ptr

    def _close(self, callback: Optional[Callable[[Any], Any]] = None) -> None:
        """Close the handle; ``callback(handle)`` runs once libuv has closed it.

        Closing twice raises :class:`~uvffi.error.HandleClosedError`. (:meth:`close`
        on PyPy; on CPython ``close`` is HandleBase's C method, which calls this for
        all but the plain case.)"""
        if callback is not None and not callable(callback):
            raise TypeError("a callable or None is required")
        if _fast_close is not None and not self._closed:
            err = _fast_close(self._ptr)
            if err is None:
                if callback is not None:
                    self._close_cb = callback
                self._closed = True
                return
            if err is not NotImplemented:
                raise_for(err, self._error)
        err = lib.uvffi_handle_close(self._live())
        if err:
            raise_for(err, self._error)
        self._close_cb = callback
        self._closed = True

    if TYPE_CHECKING or _Base is _HandleState:
        close = _close

    def _on_closed(self) -> None:
        """Called from C once libuv has closed the handle; the memory is freed after."""
        self._ptr = None
        self._closed = True
        self._callback = None
        cb = self._close_cb
        if cb is not None:
            self._close_cb = None
            cb(self)

    def __repr__(self) -> str:
        state = "closed" if self._closed else ("active" if self.active else "inactive")
        return f"<{type(self).__name__} {state}>"


# CPython: the C close callback does Handle._on_closed's work itself (no Python
# frame) for classes that do not override it.
_fast_base_on_closed = fast.get("base_on_closed")
if _fast_base_on_closed is not None:
    _fast_base_on_closed(Handle._on_closed)
