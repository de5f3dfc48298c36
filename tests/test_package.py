"""The package as built: versions, the extension's symbols, the main job, no libuv in git."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import uvffi
from uvffi import _uv

ROOT = Path(__file__).resolve().parent.parent


def test_versions_come_from_one_place():
    from uvffi._version import LIBUV_PIN, __version__

    assert uvffi.__version__ == __version__
    assert uvffi.LIBUV_VERSION == LIBUV_PIN or uvffi.lib.UV_VERSION_HEX < 0x013401


def test_main_job_traces_every_phase_in_order():
    out = subprocess.run([sys.executable, "-m", "uvffi"], capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    phases = [line.split()[0] for line in out.stdout.splitlines()[2:]]
    assert phases[:5] == ["timers", "idle", "prepare", "poll", "check"]
    assert phases[5:] == ["close"] * 4
    assert f"libuv {uvffi.LIBUV_VERSION}" in out.stdout


def test_extension_exports_only_its_init_symbol():
    nm = shutil.which("nm")
    assert nm, "binutils' nm is needed to inspect the extension"
    if sys.platform == "darwin":  # Mach-O: the global defined symbols, C names with a leading _
        out = subprocess.run([nm, "-gU", _uv.__file__], capture_output=True, text=True, check=True)
        exported = {line.split()[-1][1:] for line in out.stdout.splitlines() if line.strip()}
    else:
        out = subprocess.run([nm, "-D", "--defined-only", _uv.__file__], capture_output=True, text=True, check=True)
        exported = {line.split()[-1] for line in out.stdout.splitlines() if line.strip()}
    assert exported, "nm listed no symbol at all"
    leaked = sorted(s for s in exported if s.startswith("uv"))  # libuv's uv_* and the glue's uvffi_*
    assert not leaked, f"libuv symbols leak from the extension: {leaked[:5]}"
    # PyPy's init symbol is _cffi_pypyinit__uv, CPython's PyInit__uv.
    assert {s for s in exported if not s.startswith("_")} <= {"PyInit__uv"}


def test_git_tracks_no_libuv_source():
    if not (ROOT / ".git").exists() or not shutil.which("git"):
        pytest.skip("not a git checkout (an installed wheel's test run)")
    out = subprocess.run(["git", "ls-files", "vendor/libuv"], cwd=ROOT, capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["vendor/libuv/PIN"]


def test_ci_runs_the_readme_test_command():
    ci = ROOT / ".ci" / "run"
    if not ci.exists():
        pytest.skip("not a source checkout (an installed wheel's test run)")
    readme = (ROOT / "README.md").read_text()
    command = [line for line in readme.split("```sh", 1)[1].split("```", 1)[0].splitlines() if line.strip()][1]
    assert command in ci.read_text()
