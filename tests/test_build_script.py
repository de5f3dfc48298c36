"""build_libuv.py's checks before it compiles: an interpreter without its C headers (PyPy without
Debian's pypy3-dev, CPython without python3-dev) fails at once with one line naming the package."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType, SimpleNamespace

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def build_libuv() -> ModuleType:
    script = ROOT / "build_libuv.py"
    if not script.exists():
        pytest.skip("not a source checkout (an installed wheel's test run)")
    spec = importlib.util.spec_from_file_location("_uvffi_build_libuv", script)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def paths(include: Path, platinclude: Path | None = None) -> dict[str, str]:
    return {"include": str(include), "platinclude": str(platinclude or include), "stdlib": "/nowhere"}


@pytest.mark.parametrize("implementation, package, who", [("pypy", "pypy3-dev", "PyPy"),
                                                          ("cpython", "python3-dev", "CPython")])
def test_missing_headers_name_the_package(build_libuv, tmp_path, implementation, package, who):
    (tmp_path / "pypy_decl.h").write_text("")  # Debian's pypy3 ships a few headers, not these
    reason = build_libuv.missing_headers(paths(tmp_path), implementation)
    assert reason is not None
    assert "\n" not in reason
    assert f"install {package}" in reason and f"{who}'s C headers" in reason
    assert "Python.h" in reason and "pyconfig.h" in reason and str(tmp_path) in reason


def test_headers_present_pass(build_libuv, tmp_path):
    for name in ("Python.h", "pyconfig.h"):
        (tmp_path / name).write_text("")
    assert build_libuv.missing_headers(paths(tmp_path), "pypy") is None


def test_pyconfig_in_the_platform_include_dir_counts(build_libuv, tmp_path):
    # Debian's multiarch CPython: Python.h in include, pyconfig.h in platinclude.
    inc, plat = tmp_path / "inc", tmp_path / "plat"
    inc.mkdir()
    plat.mkdir()
    (inc / "Python.h").write_text("")
    assert "pyconfig.h" in build_libuv.missing_headers(paths(inc, plat), "cpython")
    (plat / "pyconfig.h").write_text("")
    assert build_libuv.missing_headers(paths(inc, plat), "cpython") is None


def test_only_the_missing_header_is_named(build_libuv, tmp_path):
    (tmp_path / "Python.h").write_text("")
    reason = build_libuv.missing_headers(paths(tmp_path), "cpython")
    assert reason is not None and "(pyconfig.h)" in reason


def test_before_build_fails_before_touching_the_build(build_libuv, tmp_path, monkeypatch):
    monkeypatch.setattr(build_libuv.sysconfig, "get_paths", lambda: paths(tmp_path))
    monkeypatch.setattr(build_libuv.sys.implementation, "name", "pypy", raising=False)
    command = SimpleNamespace(build_extension=None)
    with pytest.raises(SystemExit, match="install pypy3-dev"):
        build_libuv.before_build(command, SimpleNamespace(sources=[]))
    assert command.build_extension is None  # nothing was set up to compile


def test_this_interpreter_has_its_headers(build_libuv):
    # The suite runs against a built uvffi, so this interpreter's headers were there.
    import sysconfig

    assert build_libuv.missing_headers(sysconfig.get_paths(), sys.implementation.name) is None
