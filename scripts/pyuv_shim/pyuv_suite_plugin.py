"""A pytest plugin for scripts/pyuv-suite: records each test's outcome, and gives test_tty.py a tty.

Loaded with ``-p pyuv_suite_plugin``; writes ``{nodeid: [outcome, longrepr]}`` as JSON to the file
named by ``PYUV_SUITE_REPORT``. Outcomes: passed, failed, skipped, and error for a file that
could not be collected (its nodeid is the file's name). A test fails if its setup, call or
teardown failed.

pytest replaces stdin (``sys.stdin`` has no ``fileno()``; fd 0 is /dev/null), and CI has no
terminal anyway, so each test of test_tty.py runs with ``sys.stdin`` on the slave side of a new
pseudo-terminal (``os.openpty``). The wrapper is the innermost one (``trylast``), inside
pytest's own capturing, which would otherwise put its stand-in back.
"""

from __future__ import annotations

import json
import os
import sys
from typing import Any, Dict, Generator, List

import pytest

_results: Dict[str, List[Any]] = {}
_PTY_FILES = ("test_tty.py",)


def _set(nodeid: str, outcome: str, report: Any) -> None:
    text = getattr(report, "longreprtext", "") if outcome in ("failed", "error") else ""
    _results[nodeid] = [outcome, text]


def pytest_collectreport(report: Any) -> None:
    if report.failed:
        _set(report.nodeid, "error", report)


def pytest_runtest_logreport(report: Any) -> None:
    previous = _results.get(report.nodeid, [None])[0]
    if report.when == "setup":
        if report.failed:
            _set(report.nodeid, "failed", report)
        elif report.skipped:
            _set(report.nodeid, "skipped", report)
    elif report.when == "call":
        _set(report.nodeid, "passed" if report.passed else "skipped" if report.skipped else "failed", report)
    elif report.when == "teardown" and report.failed and previous != "failed":
        _set(report.nodeid, "failed", report)


@pytest.hookimpl(hookwrapper=True, trylast=True)
def pytest_runtest_call(item: Any) -> Generator[None, None, None]:
    if item.nodeid.split("::")[0] not in _PTY_FILES:
        yield
        return
    master, slave = os.openpty()
    saved = sys.stdin
    sys.stdin = open(slave, "r", closefd=False)  # closed below
    try:
        yield
    finally:
        sys.stdin.close()
        sys.stdin = saved
        os.close(slave)
        os.close(master)


def pytest_sessionfinish(session: Any) -> None:
    path = os.environ.get("PYUV_SUITE_REPORT")
    if path:
        with open(path, "w") as f:
            json.dump(_results, f)
