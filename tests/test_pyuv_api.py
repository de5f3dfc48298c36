"""pyuv 1.4's documented API is all there: every module, class, function, method, attribute and
constant its documentation lists (tests/pyuv_api.txt) is found on uvffi under the same name."""

from __future__ import annotations

import importlib
from pathlib import Path
from typing import List, Tuple

import pytest

import uvffi

API = Path(__file__).with_name("pyuv_api.txt")


def documented() -> List[Tuple[str, str]]:
    rows = []
    for line in API.read_text().splitlines():
        if line and not line.startswith("#"):
            owner, name = line.split()
            rows.append((owner, name))
    return rows


def resolve(owner: str) -> object:
    """``pyuv.fs.FSEvent`` -> uvffi.fs.FSEvent (pyuv's modules are uvffi's)."""
    parts = owner.split(".")
    assert parts[0] == "pyuv"
    obj: object = uvffi
    for i, part in enumerate(parts[1:], 1):
        if not hasattr(obj, part):
            obj = importlib.import_module("uvffi." + ".".join(parts[1:i + 1]))
        else:
            obj = getattr(obj, part)
    return obj


def test_the_list_covers_every_documented_class_and_module() -> None:
    owners = {owner for owner, _ in documented()}
    assert {"pyuv", "pyuv.Loop", "pyuv.TCP", "pyuv.Pipe", "pyuv.UDP", "pyuv.fs", "pyuv.dns", "pyuv.util",
            "pyuv.thread.Mutex", "pyuv.error", "pyuv.errno", "pyuv.Process"} <= owners
    assert len(documented()) >= 200


@pytest.mark.parametrize("owner,name", documented(), ids=lambda v: str(v))
def test_uvffi_has_the_documented_name(owner: str, name: str) -> None:
    assert hasattr(resolve(owner), name), f"{owner}.{name} is documented by pyuv 1.4 and missing from uvffi"
