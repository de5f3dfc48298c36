"""The package is typed (py.typed) and mypy accepts src/uvffi, the examples and scripts/soak."""

from __future__ import annotations

import os
import platform
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


def test_installed_package_carries_py_typed_and_the_extension_stub() -> None:
    import uvffi

    package = Path(uvffi.__file__).parent
    assert (package / "py.typed").exists()
    assert (package / "_uv.pyi").exists()


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="mypy does not run on PyPy 3.9 (its compiled dependency librt is missing)")
def test_mypy_clean() -> None:
    env = dict(os.environ)
    if (ROOT / "src" / "uvffi").exists():
        env["MYPYPATH"] = str(ROOT / "src")
        runs = [["src/uvffi", "examples"]]
    else:  # against an installed wheel: the package as installed, then the examples
        runs = [["-p", "uvffi"], ["examples"]]
    for targets in runs:
        proc = subprocess.run(
            [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
             "--cache-dir", str(ROOT / "build" / "mypy_cache"), *targets],
            cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
        assert proc.returncode == 0, proc.stdout + proc.stderr
        assert "Success" in proc.stdout


@pytest.mark.skipif(platform.python_implementation() == "PyPy",
                    reason="mypy does not run on PyPy 3.9 (its compiled dependency librt is missing)")
@pytest.mark.skipif(not (ROOT / "scripts" / "soak").exists(), reason="scripts/ is not there (an installed wheel)")
def test_mypy_accepts_the_soak_script() -> None:
    env = dict(os.environ)
    if (ROOT / "src" / "uvffi").exists():
        env["MYPYPATH"] = str(ROOT / "src")
    proc = subprocess.run(
        [sys.executable, "-m", "mypy", "--config-file", str(ROOT / "pyproject.toml"),
         "--cache-dir", str(ROOT / "build" / "mypy_cache"), "scripts/soak"],
        cwd=ROOT, capture_output=True, text=True, timeout=600, env=env, check=False)
    assert proc.returncode == 0, proc.stdout + proc.stderr
