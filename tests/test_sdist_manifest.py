"""MANIFEST.in puts into the sdist what an offline build needs: the build script, the C glue,
the exports map and the unpacked, pinned libuv (scripts/check-wheel --sdist builds and installs
the real sdist with the network off; this is the quick check of the file list)."""

from __future__ import annotations

from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
VENDOR = ROOT / "vendor" / "libuv"


def manifest_files(monkeypatch: pytest.MonkeyPatch) -> set[str]:
    if not (ROOT / "MANIFEST.in").exists():
        pytest.skip("not a source checkout (an installed wheel's test run)")
    if not (VENDOR / "include" / "uv.h").exists():
        pytest.skip("libuv's sources are not fetched yet (the first build fetches them)")
    egg_info = pytest.importorskip("setuptools.command.egg_info")
    monkeypatch.chdir(ROOT)
    files = egg_info.FileList()
    for line in (ROOT / "MANIFEST.in").read_text().splitlines():
        line = line.strip()
        if line and not line.startswith("#"):
            files.process_template_line(line)
    return set(files.files)


def test_sdist_carries_what_an_offline_build_needs(monkeypatch):
    files = manifest_files(monkeypatch)
    needed = {"build_libuv.py", "setup.py", "pyproject.toml", "vendor/libuv/PIN", "vendor/libuv/LICENSE",
              "tests/conftest.py"}
    needed |= {str(p.relative_to(ROOT)) for p in (ROOT / "src" / "uvffi" / "_c").iterdir()}  # the C core
    for sub in ("include", "src"):
        needed |= {str(p.relative_to(ROOT)) for p in (VENDOR / sub).rglob("*") if p.is_file()}
    assert len(needed) > 100  # libuv's headers and sources are all there to be shipped
    assert sorted(needed - files) == []


def test_sdist_carries_no_build_product(monkeypatch):
    files = manifest_files(monkeypatch)
    assert [f for f in files if f.endswith((".so", ".o", ".pyc")) or f == "src/uvffi/_uv.c"] == []
