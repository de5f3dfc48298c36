"""The API pages are autodoc directives on uvffi's public names (scripts/docs builds them with
warnings as errors): every public class and module has one, and no page names an internal path."""

from __future__ import annotations

import inspect
import re
from pathlib import Path

import pytest

import uvffi
import uvffi.aio

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"


def documented() -> set[str]:
    if not (DOCS / "conf.py").exists():
        pytest.skip("not a source checkout (an installed wheel's test run)")
    text = "\n".join(p.read_text() for p in (DOCS / "api").glob("*.md"))
    return set(re.findall(r"^\.\. auto(?:class|module|data):: (\S+)", text, re.M))


def test_every_public_class_and_module_has_a_page():
    public = {f"uvffi.{name}" for name in uvffi.__all__
              if inspect.isclass(getattr(uvffi, name)) or inspect.ismodule(getattr(uvffi, name))}
    assert sorted(public - documented()) == []


def test_every_public_class_of_uvffi_aio_has_a_page_entry():
    # uvffi.aio is a public subpackage that `import uvffi` does not import (it imports asyncio)
    public = {f"uvffi.aio.{name}" for name in uvffi.aio.__all__ if inspect.isclass(getattr(uvffi.aio, name))}
    assert sorted(public - documented()) == []


def test_pages_name_only_public_paths():
    names = documented()
    assert names, "no autodoc directive found under docs/api"
    aio = {f"uvffi.aio.{name}" for name in uvffi.aio.__all__}
    internal = sorted(n for n in names if n not in aio and (
                      not n.startswith("uvffi.") or
                      (n.count(".") > 1 and n.split(".")[1] not in uvffi.__all__) or
                      (n.count(".") == 1 and n.split(".")[1] not in uvffi.__all__)))
    assert internal == []
