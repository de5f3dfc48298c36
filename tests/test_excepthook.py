"""An exception in a callback: loop.excepthook with pyuv 1.4's handle_uncaught_exception rules.

For an ``Exception``: the hook is looked up with getattr; an AttributeError or a hook that is
``None`` gives the default printing; a lookup or a hook that fails with an ``Exception`` has that
error printed under its own title, then a blank line, then the original as unhandled. A
``BaseException`` (from the callback, the lookup or the hook) stops the loop and is re-raised from
``run()`` (uvffi's rule; pyuv hands it to the hook and runs on).
"""

from __future__ import annotations

import re
from typing import Any, List

import pytest

import uvffi


def _raise_in_idle(loop: uvffi.Loop, exc: BaseException) -> None:
    def idle_cb(handle: uvffi.Idle) -> None:
        handle.close()
        raise exc

    uvffi.Idle(loop).start(idle_cb)


def _fire_later(loop: uvffi.Loop) -> List[int]:
    fired: List[int] = []
    uvffi.Timer(loop).start(lambda t: fired.append(1), 0.001, 0)
    return fired


def _matches(pattern: str, text: str) -> bool:
    return re.match("(?s)" + pattern, text) is not None


TB = "Traceback.*\n"


def test_default_excepthook_prints_title_then_traceback(loop, capsys):
    _raise_in_idle(loop, RuntimeError("Bad"))
    loop.run()
    err = capsys.readouterr().err
    assert _matches(f"^Unhandled exception in callback\n{TB}RuntimeError: Bad\n$", err)


def test_default_excepthook_called_directly_prints_the_same(loop, capsys):
    try:
        raise ValueError("direct")
    except ValueError as e:
        loop.excepthook(type(e), e, e.__traceback__)
    assert _matches(f"^Unhandled exception in callback\n{TB}ValueError: direct\n$", capsys.readouterr().err)


def test_hook_none_gives_default_printing(loop, capsys):
    loop.excepthook = None
    _raise_in_idle(loop, RuntimeError("Bad"))
    loop.run()
    assert _matches(f"^Unhandled exception in callback\n{TB}RuntimeError: Bad\n$", capsys.readouterr().err)


def test_lookup_attribute_error_gives_default_printing_without_mentioning_it(capsys):
    class NoHook(uvffi.Loop):
        @property
        def excepthook(self) -> Any:  # type: ignore[override]
            raise AttributeError("object has no attribute 'excepthook'")

    with NoHook() as loop:
        _raise_in_idle(loop, RuntimeError("Bad"))
        loop.run()
    err = capsys.readouterr().err
    assert _matches(f"^Unhandled exception in callback\n{TB}RuntimeError: Bad\n$", err)
    assert "AttributeError" not in err


def test_lookup_other_error_is_printed_then_the_original(capsys):
    class BadHook(uvffi.Loop):
        @property
        def excepthook(self) -> Any:  # type: ignore[override]
            raise TypeError("oops")

    with BadHook() as loop:
        _raise_in_idle(loop, RuntimeError("Bad"))
        loop.run()
    err = capsys.readouterr().err
    assert _matches(
        f"^Exception while getting excepthook\n{TB}TypeError: oops\n\n"
        f"Unhandled exception in callback\n{TB}RuntimeError: Bad\n$",
        err,
    )


def test_hook_raising_is_printed_then_the_original(loop, capsys):
    def hook(typ, value, tb):
        raise NameError("abc")

    loop.excepthook = hook
    _raise_in_idle(loop, RuntimeError("Bad"))
    loop.run()
    err = capsys.readouterr().err
    assert _matches(
        f"^Unhandled exception in excepthook\n{TB}NameError: abc\n\n"
        f"Unhandled exception in callback\n{TB}RuntimeError: Bad\n$",
        err,
    )
    # The original is printed once, not also as the hook error's context.
    assert err.count("RuntimeError: Bad") == 1


def test_hook_error_keeps_its_explicit_cause(loop, capsys):
    def hook(typ, value, tb):
        try:
            {}["key"]
        except KeyError as e:
            raise NameError("abc") from e

    loop.excepthook = hook
    _raise_in_idle(loop, RuntimeError("Bad"))
    loop.run()
    err = capsys.readouterr().err
    assert "KeyError: 'key'" in err.split("NameError: abc")[0]


def test_hook_that_returns_handles_it_and_nothing_is_printed(loop, capsys):
    loop.excepthook = lambda *args: None
    _raise_in_idle(loop, RuntimeError("Boom!"))
    loop.run()
    assert capsys.readouterr().err == ""


def test_hook_gets_type_value_and_traceback(loop):
    calls = []
    loop.excepthook = lambda typ, value, tb: calls.append((typ, value, tb))
    exc = RuntimeError("Bad")
    _raise_in_idle(loop, exc)
    loop.run()
    assert len(calls) == 1
    assert calls[0][:2] == (RuntimeError, exc) and calls[0][2] is not None


def test_subclass_override_is_the_hook(capsys):
    calls = []

    class Override(uvffi.Loop):
        def excepthook(self, typ, value, tb):  # type: ignore[override]
            calls.append(value)

    with Override() as loop:
        _raise_in_idle(loop, RuntimeError("Bad"))
        loop.run()
    assert [str(v) for v in calls] == ["Bad"]
    assert capsys.readouterr().err == ""


def test_non_callable_hook_is_reported_as_a_failing_hook(loop, capsys):
    loop.excepthook = 42
    _raise_in_idle(loop, RuntimeError("Bad"))
    loop.run()
    err = capsys.readouterr().err
    assert _matches(f"^Unhandled exception in excepthook\n{TB}TypeError: .*\n\nUnhandled exception in callback\n", err)


def test_loop_goes_on_after_a_failing_hook(loop, capsys):
    def hook(typ, value, tb):
        raise NameError("abc")

    loop.excepthook = hook
    _raise_in_idle(loop, RuntimeError("Bad"))
    fired = _fire_later(loop)
    loop.run()
    assert fired == [1]


@pytest.mark.parametrize("base", [KeyboardInterrupt, SystemExit])
def test_base_exception_in_callback_skips_the_hook_and_is_reraised(loop, base):
    calls = []
    loop.excepthook = lambda *a: calls.append(a)
    _raise_in_idle(loop, base())
    with pytest.raises(base):
        loop.run()
    assert calls == []


def test_base_exception_from_the_hook_stops_the_loop_and_is_reraised(loop, capsys):
    def hook(typ, value, tb):
        raise KeyboardInterrupt

    loop.excepthook = hook
    _raise_in_idle(loop, RuntimeError("Bad"))
    with pytest.raises(KeyboardInterrupt):
        loop.run()
    assert "Unhandled exception" not in capsys.readouterr().err


def test_base_exception_from_the_lookup_stops_the_loop_and_is_reraised(capsys):
    class InterruptedLookup(uvffi.Loop):
        @property
        def excepthook(self) -> Any:  # type: ignore[override]
            raise KeyboardInterrupt

    with InterruptedLookup() as loop:
        _raise_in_idle(loop, RuntimeError("Bad"))
        with pytest.raises(KeyboardInterrupt):
            loop.run()
    assert "Unhandled exception" not in capsys.readouterr().err
