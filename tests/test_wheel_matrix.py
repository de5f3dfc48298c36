"""The wheel matrix that pyproject.toml's [tool.cibuildwheel] configures is the promised one:
CPython 3.9-3.14 and PyPy, manylinux and musllinux on x86_64 and aarch64, macOS x86_64 and arm64,
each tested against the installed wheel."""

from __future__ import annotations

import fnmatch
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = ROOT / "pyproject.toml"

CPYTHONS = ["cp39", "cp310", "cp311", "cp312", "cp313", "cp314"]
PYPYS = ["pp39", "pp310", "pp311"]
LINUX_ARCHS = ["x86_64", "aarch64"]
MACOS_ARCHS = ["x86_64", "arm64"]

EXPECTED = {
    "linux": {f"{py}-{libc}_{arch}" for py in CPYTHONS for libc in ("manylinux", "musllinux") for arch in LINUX_ARCHS}
    | {f"{py}-manylinux_{arch}" for py in PYPYS for arch in LINUX_ARCHS},  # PyPy has no musl build
    "macos": {f"{py}-macosx_{arch}" for py in CPYTHONS + PYPYS for arch in MACOS_ARCHS},
}


def load_config() -> dict[str, Any]:
    if not PYPROJECT.exists():
        pytest.skip("no pyproject.toml: an installed wheel's test run, not a source checkout")
    try:
        import tomllib  # type: ignore[import-not-found]
    except ImportError:  # Python < 3.11
        tomllib = pytest.importorskip("tomli")
    return tomllib.loads(PYPROJECT.read_text())["tool"]["cibuildwheel"]


def as_list(value: Any) -> list[str]:
    return value.split() if isinstance(value, str) else list(value)


def candidates(platform: str) -> set[str]:
    """Every identifier cibuildwheel knows for the platform, wider than any sane selection."""
    pythons = [f"cp3{m}" for m in range(6, 16)] + [f"cp3{m}t" for m in range(13, 16)]
    pythons += [f"pp3{m}" for m in range(7, 13)]
    if platform == "linux":
        return {f"{py}-{libc}_{arch}" for py in pythons for libc in ("manylinux", "musllinux")
                for arch in ("x86_64", "i686", "aarch64", "ppc64le", "s390x", "armv7l", "riscv64")}
    return {f"{py}-macosx_{arch}" for py in pythons for arch in ("x86_64", "arm64", "universal2")}


def emulate(config: dict[str, Any], platform: str) -> set[str]:
    """cibuildwheel's selection rules: build/skip patterns, the platform's archs, the enable groups."""
    build = as_list(config.get("build", "*"))
    skip = as_list(config.get("skip", ""))
    archs = as_list(config.get(platform, {}).get("archs", config.get("archs", ["auto"])))
    enable = set(as_list(config.get("enable", [])))
    selected = set()
    for ident in candidates(platform):
        py, plat = ident.split("-", 1)
        if not any(plat.endswith("_" + arch) for arch in archs):
            continue
        if not any(fnmatch.fnmatch(ident, pat) for pat in build) or any(fnmatch.fnmatch(ident, pat) for pat in skip):
            continue
        if py.startswith("pp") and (not enable & {"pypy", "pypy-eol"} or "musllinux" in plat):
            continue
        selected.add(ident)
    return selected


def test_config_selects_the_promised_matrix():
    config = load_config()
    for platform, expected in EXPECTED.items():
        got = emulate(config, platform)
        assert got == expected, (platform, sorted(got ^ expected))


def test_wheels_are_tested_against_the_installed_wheel():
    config = load_config()
    # tests/ is copied to a temporary directory where the source tree is not importable.
    assert "tests" in as_list(config["test-sources"])
    assert re.fullmatch(r"python -m pytest( -q)? tests", config["test-command"])
    assert "test" in as_list(config["test-extras"])


def cibuildwheel_command() -> list[str]:
    exe = shutil.which("cibuildwheel")
    if exe:
        return [exe]
    try:
        import cibuildwheel  # noqa: F401
    except ImportError:
        pytest.skip("cibuildwheel is not installed (scripts/check-wheel installs it and runs this test)")
    return [sys.executable, "-m", "cibuildwheel"]


@pytest.mark.parametrize("platform", sorted(EXPECTED))
def test_cibuildwheel_prints_the_promised_matrix(platform):
    load_config()
    proc = subprocess.run(
        cibuildwheel_command() + ["--print-build-identifiers", "--platform", platform, str(ROOT)],
        capture_output=True, text=True, cwd=ROOT, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    got = set(proc.stdout.split())
    # On an x86_64 host cibuildwheel leaves out what only an arm64 Mac builds, and says so.
    for note in re.findall(r"Note: (.*) were selected, but can't be built", proc.stderr):
        got |= {ident.strip() for ident in note.split(",")}
    assert got == EXPECTED[platform], sorted(got ^ EXPECTED[platform])
