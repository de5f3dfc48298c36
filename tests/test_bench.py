"""The benchmark runs end to end and reports a well-formed result (no timing assertions)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from uvffi import bench


def _run_quick(*extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ)
    src = str(Path(bench.__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return subprocess.run([sys.executable, "-m", "uvffi.bench", "--quick", *extra],
                          check=False, capture_output=True, text=True, env=env, timeout=120)


def test_quick_json_structure() -> None:
    proc = _run_quick("--json")
    assert proc.returncode == 0, proc.stderr
    data = json.loads(proc.stdout)
    assert data["quick"] is True
    assert data["repeats"] == 1
    assert data["versions"]["uvffi"] is not None
    assert data["versions"]["asyncio"] is not None
    names = [row["workload"] for row in data["results"]]
    assert names == list(bench.WORKLOADS)
    for row in data["results"]:
        assert row["unit"] == "ns/op"
        assert row["n"] > 0
        uv = row["impls"]["uvffi"]
        assert len(uv["samples"]) == 1
        assert uv["median"] > 0 and uv["best"] > 0
        for impl, cell in row["impls"].items():
            assert data["versions"][impl] is not None
            assert cell["best"] <= cell["median"]
        assert set(row["ratios"]) == set(row["impls"]) - {"uvffi"}
        for ratio in row["ratios"].values():
            assert ratio > 0
    asyncio_rows = {r["workload"] for r in data["results"] if "asyncio" in r["impls"]}
    assert {"check_fanout", "timer_oneshot", "async_pingpong", "queue_work"} <= asyncio_rows
    assert "done:" in proc.stderr  # the progress line finished


def test_table_output() -> None:
    proc = _run_quick("--no-progress", "--only", "check_dispatch,timer_oneshot", "--impls", "asyncio")
    assert proc.returncode == 0, proc.stderr
    lines = proc.stdout.splitlines()
    head = [c.strip() for c in lines[0].strip("|").split("|")]
    assert head == ["workload", "uvffi median (best)", "asyncio", "fastest peer"]
    assert any(line.startswith("| check_dispatch") for line in lines)
    assert any(line.startswith("| timer_oneshot") for line in lines)
    assert proc.stderr == ""


def test_unknown_workload_is_an_error() -> None:
    proc = _run_quick("--only", "nope")
    assert proc.returncode == 2
    assert "unknown workload" in proc.stderr


def test_format_table_marks_missing_cells() -> None:
    result = {
        "repeats": 1, "python": "3", "implementation": "CPython",
        "versions": {"uvffi": "1", "pyuv": None, "asyncio": "3", "uvloop": None, "gevent": None},
        "results": [
            {"workload": "check_dispatch", "description": "d", "unit": "ns/op", "n": 1,
             "impls": {"uvffi": {"median": 50.0, "best": 40.0, "samples": [50.0]},
                       "asyncio": {"median": 100.0, "best": 100.0, "samples": [100.0]}},
             "ratios": {"asyncio": 0.5}},
            {"workload": "idle_loop_iteration", "description": "d", "unit": "ns/op", "n": 1,
             "impls": {"uvffi": {"median": 100.0, "best": 90.0, "samples": [100.0]}},
             "ratios": {}},
        ],
    }
    lines = bench.format_table(result).splitlines()
    assert "pyuv" not in lines[0]  # installed peers that measured nothing get no column
    assert "0.50x" in lines[2]
    row = [c.strip() for c in lines[3].strip("|").split("|")]
    assert row == ["idle_loop_iteration", "100 (90) ns", "–", "–"]
