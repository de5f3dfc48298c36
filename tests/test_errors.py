"""The error and errno modules, as pyuv has them."""

from __future__ import annotations

import uvffi
from uvffi import errno, error


def test_errno_maps_codes_to_names():
    assert errno.errorcode[errno.UV_EINVAL] == "UV_EINVAL"
    assert errno.UV_ECANCELED < 0


def test_strerror_gives_libuv_message():
    assert errno.strerror(errno.UV_EINVAL) == "invalid argument"


def test_error_hierarchy_matches_pyuv():
    assert issubclass(error.TimerError, error.HandleError)
    assert issubclass(error.HandleClosedError, error.HandleError)
    assert issubclass(error.HandleError, error.UVError)
    assert issubclass(error.ThreadError, error.UVError)


def test_uv_error_args_are_code_and_message(loop):
    t = uvffi.Timer(loop)
    try:
        t.again()
    except error.TimerError as e:
        code, message = e.args
    assert code == errno.UV_EINVAL
    assert message == "invalid argument"


def test_a_callback_of_the_wrong_arity_is_reported_with_its_handle(loop):
    seen = []
    loop.excepthook = lambda typ, value, tb: seen.append(value)
    t = uvffi.Timer(loop)
    t.start(lambda: None, 0, 0)  # a timer callback takes the timer
    loop.run()
    assert len(seen) == 1 and isinstance(seen[0], TypeError)
    text = str(seen[0]) + "".join(getattr(seen[0], "__notes__", []))
    assert "the callback of <Timer" in text
