from __future__ import annotations

import gc
from typing import Iterator

import pytest

import uvffi


@pytest.fixture
def loop() -> Iterator[uvffi.Loop]:
    """A fresh loop, closed after the test."""
    lp = uvffi.Loop()
    yield lp
    if not lp.closed:
        lp.close()
    gc.collect()
