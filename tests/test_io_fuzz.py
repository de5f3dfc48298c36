"""Every I/O method called with bad input (tests/io_fuzz.py's table) gives a Python
exception or succeeds, never a crash; and the crashes that fuzzing found, each as it must
be now. The campaign runs in child processes, so that a crash fails a test, naming the
call that made it, instead of killing pytest."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Dict

import pytest

HERE = Path(__file__).resolve().parent
FUZZ = HERE / "io_fuzz.py"
CHUNKS = 4
POISON = {"MALLOC_PERTURB_": "165", "GLIBC_TUNABLES": "glibc.malloc.tcache_count=0"}
_totals: Dict[str, int] = {"calls": 0, "chunks": 0}


def _last_call(log: Path) -> str:
    lines = log.read_text("utf-8", "replace").splitlines() if log.exists() else []
    return lines[-1] if lines else "(before the first call)"


def run_fuzz(tmp_path: Path, *args: str, timeout: float = 240) -> str:
    """Run the campaign with ``args`` in a child; fail naming the last call it began if
    it crashed, hung or reported a failure. Returns its summary line."""
    log = tmp_path / "calls.log"
    cmd = [sys.executable, str(FUZZ), "--log", str(log), *args]
    try:
        r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, cwd=tmp_path,
                           env=dict(os.environ, **POISON), stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        pytest.fail(f"the fuzz campaign hung in: {_last_call(log)}")
    if r.returncode < 0:
        pytest.fail(f"the fuzz campaign died of signal {-r.returncode} in: {_last_call(log)}\n{r.stderr[-3000:]}")
    assert r.returncode == 0, f"in: {_last_call(log)}\n{r.stdout[-3000:]}\n{r.stderr[-3000:]}"
    summary = [line for line in r.stdout.splitlines() if line.startswith("fuzzed calls:")]
    assert summary, r.stdout
    return summary[0]


@pytest.mark.parametrize("chunk", range(CHUNKS), ids=[f"{i + 1}of{CHUNKS}" for i in range(CHUNKS)])
def test_every_io_method_given_bad_input_raises_or_returns_and_never_crashes(tmp_path, capsys, chunk):
    summary = run_fuzz(tmp_path, "--chunks", str(CHUNKS), "--chunk", str(chunk))
    count = int(summary.split()[2])
    assert count > 5000  # the table's systematic pass, a quarter of it
    _totals["calls"] += count
    _totals["chunks"] += 1
    with capsys.disabled():
        line = f"\nio fuzz {chunk + 1}/{CHUNKS}: {summary}"
        if _totals["chunks"] == CHUNKS:
            line += f"\nio fuzz, all chunks: {_totals['calls']} calls"
        print(line)


def test_random_io_calls_with_every_argument_bad_at_once_never_crash(tmp_path, capsys):
    summary = run_fuzz(tmp_path, "--systematic", "0", "--random", "4000", "--seed", "16")
    with capsys.disabled():
        print(f"\nio fuzz, random: {summary}")
    assert int(summary.split()[2]) == 4000


# -- the crashes fuzzing found ---------------------------------------------------------------


def _child(code: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-c", textwrap.dedent(code)], capture_output=True, text=True,
                          timeout=60, env=dict(os.environ, **POISON))


@pytest.mark.parametrize("kind", ["TCP", "Pipe"])
@pytest.mark.parametrize("what", ["a regular file", "a directory", "/dev/null"])
def test_opening_a_stream_on_an_fd_the_loop_cannot_watch_raises_instead_of_aborting_later(tmp_path, kind, what):
    # libuv's open took the fd, and its poller aborted the process at the next run.
    r = _child(f"""
        import os, uvffi
        what = {what!r}
        if what == "a regular file":
            fd = os.open({str(tmp_path / "f")!r}, os.O_RDWR | os.O_CREAT)
        elif what == "a directory":
            fd = os.open({str(tmp_path)!r}, os.O_RDONLY)
        else:
            fd = os.open(os.devnull, os.O_RDWR)
        loop = uvffi.Loop()
        h = uvffi.{kind}(loop)
        try:
            h.open(fd)
        except uvffi.error.UVError as e:
            print("raised", e.args[0] == uvffi.errno.UV_EPERM)
        else:
            print("opened")
        try:
            h.start_read(lambda *a: None)
        except uvffi.error.UVError:
            pass
        loop.run(uvffi.RUN_NOWAIT)
        h.close()
        loop.close()
        os.close(fd)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "raised True\n"


def test_a_dir_takes_one_operation_at_a_time_and_refuses_a_second_while_one_is_in_flight(tmp_path):
    # A closedir submitted under a readdir freed the uv_dir_t the readdir then read: SIGSEGV.
    for i in range(20):
        (tmp_path / f"e{i}").touch()
    r = _child(f"""
        import uvffi
        from uvffi import fs
        from uvffi.errno import UV_EBUSY
        loop = uvffi.Loop()
        refused, done = [], []
        for _ in range(50):
            d = fs.opendir(loop, {str(tmp_path)!r})
            fs.readdir(loop, d, 64, lambda r: done.append(len(r.result)))
            for second in (lambda: fs.closedir(loop, d, done.append), lambda: fs.readdir(loop, d, 3, done.append),
                           lambda: fs.closedir(loop, d), lambda: fs.readdir(loop, d)):
                try:
                    second()
                except uvffi.error.FSError as e:
                    refused.append(e.args[0])
            loop.run()
            fs.closedir(loop, d)
        print(done == [20] * 50, refused == [UV_EBUSY] * 200)
    """)
    assert r.returncode == 0, r.stderr
    assert r.stdout == "True True\n"


def test_a_dir_can_be_read_again_from_its_readdir_callback(loop, tmp_path):
    from uvffi import fs

    for i in range(20):
        (tmp_path / f"e{i}").touch()
    d = fs.opendir(loop, str(tmp_path))
    names = []
    closed = []

    def more(req: fs.FSRequest) -> None:
        names.extend(e.name for e in req.result)
        if req.result:
            fs.readdir(loop, d, 7, more)
        else:
            fs.closedir(loop, d, closed.append)

    fs.readdir(loop, d, 7, more)
    loop.run()
    assert sorted(names) == sorted(f"e{i}" for i in range(20))
    assert len(closed) == 1 and d.closed
