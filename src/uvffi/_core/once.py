"""Calling a callback exactly once when a signal handler may raise at any bytecode.

A done callback that must run exactly once cannot be guarded by a flag in Python:
``flag = True; cb(arg)`` loses the call if a ``KeyboardInterrupt`` lands between
the two statements, and ``cb(arg); flag = True`` repeats it if one lands after the
call. On CPython the C core makes such calls (``_c/work.c``). On PyPy the taking
and the calling happen inside one call of built-in functions, which run no
bytecode of their own, so no signal handler can run between them: the callback
either is still in its box (not called; the caller may try again) or has been
entered.

A box is ``[callback]`` (``[]`` when there is no callback); it is empty once taken.
Only built-ins that run no bytecode on PyPy serve: ``iter(callable, sentinel)`` is a
generator written in Python there, so ``map(box.pop, (0,))`` takes the callback.
"""

from __future__ import annotations

from itertools import chain, repeat, starmap
from typing import Any, Callable, List, Optional, Tuple

__all__ = ["box", "call_once", "call_attr_once", "call_attr_once_with", "pass_attr_once"]


def box(callback: Optional[Callable[[Any], Any]]) -> List[Any]:
    """A box holding ``callback`` for :func:`call_once`."""
    return [] if callback is None else [callback]


def call_once(b: List[Any], arg: Any) -> None:
    """Take the callback out of box ``b`` and call it with ``arg``; nothing if the box
    is empty. ``map(b.pop, (0,))`` takes the callback, ``map(map, ...)`` pairs it
    with ``(arg,)`` and ``map(list, ...)`` makes the call: all built-ins."""
    if b:
        list(map(list, map(map, map(b.pop, (0,)), repeat((arg,)))))


def call_attr_once(obj: Any, name: str, arg: Any) -> None:
    """Take the callback in ``obj``'s instance attribute ``name`` (its class's default,
    None, shows through afterwards) and call it with ``arg``; nothing if it is None. The
    taking and the call are one call of built-ins, as in :func:`call_once`: the instance
    dict's ``pop`` takes it (``id``, the default, is called harmlessly if another call
    took it since the check). Only for an attribute kept in the instance ``__dict__``."""
    if getattr(obj, name) is not None:
        list(map(list, map(map, map(vars(obj).pop, (name,), (id,)), repeat((arg,)))))


def call_attr_once_with(obj: Any, name: str, args: Tuple[Any, ...]) -> None:
    """:func:`call_attr_once` for a callback taking several arguments: call it with
    ``*args``. ``itertools.starmap`` makes the call (a built-in on PyPy too); ``chain``, the
    default, accepts any arguments and does nothing with them (it is never iterated)."""
    if getattr(obj, name) is not None:
        list(map(list, map(starmap, map(vars(obj).pop, (name,), (chain,)), repeat((args,)))))


def pass_attr_once(obj: Any, name: str, fn: Callable[[Any], Any]) -> None:
    """Take the value of ``obj``'s instance attribute ``name`` (its class's default, None,
    shows through afterwards) and call ``fn`` with it, in one call of built-ins; nothing if
    it is None (or falsy). Only for an attribute kept in the instance ``__dict__``."""
    if getattr(obj, name) is not None:
        list(map(fn, filter(None, map(vars(obj).pop, (name,), (None,)))))
