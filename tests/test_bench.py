"""The benchmark runs end to end and reports a well-formed result (no timing assertions)."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict

import pytest

from uvffi import bench
from uvffi.bench import table

IO_ROWS = ["tcp_echo_1k", "tcp_echo_64k", "tcp_echo_10conn", "stream_oneway", "udp_pingpong",
           "unix_echo_1k", "process_spawn", "fs_stat_sync", "fs_stat_async", "fs_read",
           "getaddrinfo_numeric"]
AIO_ROWS = ["aio_call_soon_chain", "aio_call_later", "aio_threadsafe", "aio_sock_pingpong", "aio_sock_echo",
            "aio_tcp_echo_1k", "aio_tcp_echo_64k", "aio_unix_echo_1k", "aio_udp_pingpong",
            "aio_stream_echo_1k", "aio_stream_echo_64k"]


def _env() -> Dict[str, str]:
    env = dict(os.environ)
    src = str(Path(bench.__file__).resolve().parents[2])
    env["PYTHONPATH"] = src + os.pathsep + env.get("PYTHONPATH", "")
    return env


def _run_quick(*extra: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "uvffi.bench", "--quick", *extra],
                          check=False, capture_output=True, text=True, env=_env(), timeout=120)


@pytest.fixture(scope="module")
def quick_run() -> Any:
    """One ``--quick --json`` run of every row, shared by the structure tests."""
    proc = _run_quick("--json")
    assert proc.returncode == 0, proc.stderr
    return proc, json.loads(proc.stdout)


def test_quick_json_structure(quick_run: Any) -> None:
    proc, data = quick_run
    assert data["quick"] is True
    assert data["repeats"] == 1
    assert data["versions"]["uvffi"] is not None
    assert data["versions"]["asyncio"] is not None
    names = [row["workload"] for row in data["results"]]
    assert names == list(bench.WORKLOADS)
    for row in data["results"]:
        assert row["unit"] in ("ns/op", "ns/MiB")
        assert row["errors"] == {}
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
    assert "done:" in proc.stderr  # the summary line


def test_no_progress_line_when_stderr_is_not_a_terminal(quick_run: Any) -> None:
    proc, _ = quick_run
    assert "\r" not in proc.stderr
    assert proc.stderr.count("\n") == 1  # only the summary line


def test_io_rows_follow_the_callback_rows(quick_run: Any) -> None:
    _, data = quick_run
    assert bench.GROUPS["io"] == IO_ROWS
    groups = [row["group"] for row in data["results"]]
    assert groups == (["callbacks"] * len(bench.GROUPS["callbacks"]) + ["io"] * len(IO_ROWS)
                      + ["aio"] * len(AIO_ROWS))


def test_aio_rows_run_uvffi_aio_in_uvffis_column_and_asyncio_beside_it(quick_run: Any) -> None:
    _, data = quick_run
    assert bench.GROUPS["aio"] == AIO_ROWS
    for row in data["results"]:
        if row["group"] == "aio":
            assert {"uvffi", "asyncio"} <= set(row["impls"]), row["workload"]
            assert "pyuv" not in row["impls"] and "gevent" not in row["impls"]


def test_io_rows_measure_uvffi_asyncio_and_uvloop_when_it_imports(quick_run: Any) -> None:
    _, data = quick_run
    has_uvloop = data["versions"]["uvloop"] is not None
    for row in data["results"]:
        if row["group"] != "io":
            continue
        impls = set(row["impls"])
        assert {"uvffi", "asyncio"} <= impls, row["workload"]
        # fs_stat_sync's asyncio column is os.stat: nothing for uvloop to add
        assert ("uvloop" in impls) == (has_uvloop and row["workload"] != "fs_stat_sync"), row["workload"]


def test_throughput_rows_are_per_mib(quick_run: Any) -> None:
    _, data = quick_run
    units = {row["workload"]: row["unit"] for row in data["results"] if row["group"] == "io"}
    assert {w for w, u in units.items() if u == "ns/MiB"} == {"stream_oneway", "fs_read"}


def test_fastest_peer_is_the_peer_with_the_smallest_median(quick_run: Any) -> None:
    _, data = quick_run
    for row in data["results"]:
        peers = {i: v["median"] for i, v in row["impls"].items() if i != "uvffi"}
        if peers:
            assert row["fastest_peer"] == min(peers, key=peers.__getitem__)
        else:
            assert row["fastest_peer"] is None


def test_only_takes_a_group() -> None:
    proc = _run_quick("--json", "--only", "io", "--impls", "asyncio", "--no-progress")
    assert proc.returncode == 0, proc.stderr
    assert [row["workload"] for row in json.loads(proc.stdout)["results"]] == IO_ROWS


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


def _fake_result(peers: Dict[str, str]) -> Dict[str, Any]:
    """A result with every row of the benchmark, each peer 3.21x faster than uvffi."""
    versions = {"uvffi": "1", "pyuv": None, "asyncio": None, "uvloop": None, "gevent": None, **peers}
    results = []
    for name, wl in bench.WORKLOADS.items():
        cell = {"median": 987_654.0, "best": 876_543.0, "samples": [987_654.0]}
        impls = {"uvffi": cell, **{p: dict(cell, median=cell["median"] / 3.21) for p in peers}}
        results.append({"workload": name, "description": wl.description, "group": wl.group,
                        "unit": f"ns/{wl.unit}", "n": wl.n, "impls": impls,
                        "ratios": {p: 3.21 for p in peers}, "fastest_peer": "uvloop", "errors": {}})
    return {"repeats": 5, "python": "3.11.7", "implementation": "CPython", "versions": versions,
            "results": results}


def test_table_fits_100_columns_with_every_peer() -> None:
    result = _fake_result({"pyuv": "1.4.0", "asyncio": "3.11.7", "uvloop": "0.23.0", "gevent": "26.9.0"})
    text = bench.format_table(result)
    assert "| gevent |" in text.splitlines()[0]
    assert max(len(line) for line in text.splitlines()) <= 100


def test_a_cell_has_one_unit() -> None:
    assert table.fmt_time(11_000.0, 9_000.0) == "11.0 (9.0) µs"
    assert table.fmt_time(9_999.0, 8_067.0) == "9,999 (8,067) ns"
    assert table.fmt_time(2_500_000.0, 900_000.0, per="MiB") == "2.50 (0.90) ms/MiB"


def test_plot_draws_a_png(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is an optional extra (test_plot_without_matplotlib covers its absence)")
    from uvffi.bench.plot import plot

    out = tmp_path / "ratios.png"
    plot(_fake_result({"asyncio": "3.11.7", "uvloop": "0.23.0"}), str(out))
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_plot_without_matplotlib_is_a_clear_error(tmp_path: Path) -> None:
    code = ("import sys; sys.modules['matplotlib'] = None; from uvffi.bench import main; "
            f"main(['--quick', '--only', 'check_dispatch', '--plot', {str(tmp_path / 'x.png')!r}])")
    proc = subprocess.run([sys.executable, "-c", code], check=False, capture_output=True, text=True,
                          env=_env(), timeout=60)
    assert proc.returncode == 2
    assert "--plot needs matplotlib" in proc.stderr
    assert not (tmp_path / "x.png").exists()


def test_progress_line_when_stderr_is_a_terminal() -> None:
    pty = pytest.importorskip("pty")
    try:
        master, slave = pty.openpty()
    except OSError:
        pytest.skip("no pseudo-terminal here")
    try:
        proc = subprocess.Popen([sys.executable, "-m", "uvffi.bench", "--quick", "--only", "check_dispatch",
                                 "--impls", "uvffi"], stdout=subprocess.PIPE, stderr=slave, env=_env())
        os.close(slave)
        out, _ = proc.communicate(timeout=120)
        err = b""
        while True:
            try:
                chunk = os.read(master, 4096)
            except OSError:  # EIO: the child closed its end
                break
            if not chunk:
                break
            err += chunk
    finally:
        os.close(master)
    assert proc.returncode == 0
    assert b"\r[1/1] repeat 1/1 check_dispatch" in err  # the progress line, rewritten in place
    assert b"done: 1 measurements" in err
    assert b"check_dispatch" in out and b"\r" not in out  # the table on stdout carries no progress


def test_plot_option_writes_the_image(tmp_path: Path) -> None:
    if importlib.util.find_spec("matplotlib") is None:
        pytest.skip("matplotlib is an optional extra")
    out = tmp_path / "bench.png"
    proc = _run_quick("--only", "check_dispatch", "--impls", "uvffi,asyncio", "--plot", str(out))
    assert proc.returncode == 0, proc.stderr
    assert "check_dispatch" in proc.stdout  # the table is still printed
    assert out.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
