"""uvffi.aio's subprocess transport (uvffi/aio/subprocess.py) on the real uvffi.aio loop: children
spawned and reaped by libuv, driven through asyncio's subprocess API."""

from __future__ import annotations

import asyncio
import os
import signal
import sys
from asyncio import subprocess as aio_subprocess
from pathlib import Path
from typing import Any, List, Optional, Tuple

import pytest
from aio_transports_helpers import run

import uvffi.aio
from uvffi.aio.subprocess import UVSubprocessTransport

Loop = uvffi.aio.Loop
PIPE = aio_subprocess.PIPE
PY = sys.executable


def test_exec_communicate_returns_stdout_stderr_and_returncode(aloop: Loop) -> None:
    code = "import sys; d = sys.stdin.read(); sys.stdout.write(d.upper()); sys.stderr.write('err'); sys.exit(3)"

    async def main() -> Tuple[bytes, bytes, Optional[int]]:
        proc = await asyncio.create_subprocess_exec(PY, "-c", code, stdin=PIPE, stdout=PIPE, stderr=PIPE)
        out, err = await proc.communicate(b"hello")
        return out, err, proc.returncode

    assert run(aloop, main()) == (b"HELLO", b"err", 3)


def test_shell_with_stderr_to_stdout(aloop: Loop) -> None:
    async def main() -> Tuple[bytes, Optional[int]]:
        proc = await asyncio.create_subprocess_shell("echo out; echo err 1>&2", stdout=PIPE,
                                                     stderr=aio_subprocess.STDOUT)
        out, _ = await proc.communicate()
        return out, proc.returncode

    assert run(aloop, main()) == (b"out\nerr\n", 0)


def test_kill_gives_minus_sigkill_as_returncode(aloop: Loop) -> None:
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(PY, "-c", "import time; time.sleep(60)")
        proc.kill()
        return await proc.wait()

    assert run(aloop, main()) == -signal.SIGKILL


def test_terminate_gives_minus_sigterm_as_returncode(aloop: Loop) -> None:
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(PY, "-c", "import time; time.sleep(60)")
        proc.terminate()
        return await proc.wait()

    assert run(aloop, main()) == -signal.SIGTERM


def test_send_signal_reaches_the_child(aloop: Loop) -> None:
    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(PY, "-c", "import time; time.sleep(60)")
        proc.send_signal(signal.SIGUSR1)
        return await proc.wait()

    assert run(aloop, main()) == -signal.SIGUSR1


def test_missing_program_raises_file_not_found(aloop: Loop, tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-program")
    with pytest.raises(FileNotFoundError) as info:
        run(aloop, asyncio.create_subprocess_exec(missing))
    assert info.value.filename == missing


def test_cwd_and_env_reach_the_child(aloop: Loop, tmp_path: Path) -> None:
    code = "import os, sys; sys.stdout.write(os.getcwd() + '|' + os.environ.get('UVFFI_T', '?'))"

    async def main() -> bytes:
        env = dict(os.environ, UVFFI_T="set")
        proc = await asyncio.create_subprocess_exec(PY, "-c", code, stdout=PIPE, cwd=str(tmp_path), env=env)
        out, _ = await proc.communicate()
        return out

    assert run(aloop, main()) == f"{os.path.realpath(tmp_path)}|set".encode()


def test_stdin_devnull_reads_nothing(aloop: Loop) -> None:
    async def main() -> bytes:
        proc = await asyncio.create_subprocess_exec(PY, "-c", "import sys; print(len(sys.stdin.read()))",
                                                    stdin=aio_subprocess.DEVNULL, stdout=PIPE)
        out, _ = await proc.communicate()
        return out

    assert run(aloop, main()).strip() == b"0"


def test_stdout_to_a_file_object(aloop: Loop, tmp_path: Path) -> None:
    target = tmp_path / "out.txt"

    async def main() -> int:
        with open(target, "wb") as f:
            proc = await asyncio.create_subprocess_exec(PY, "-c", "print('to the file')", stdout=f)
            return await proc.wait()

    assert run(aloop, main()) == 0
    assert target.read_bytes() == b"to the file\n"


def test_pass_fds_gives_the_child_the_fd(aloop: Loop) -> None:
    r, w = os.pipe()

    async def main() -> int:
        proc = await asyncio.create_subprocess_exec(PY, "-c", f"import os; os.write({w}, b'passed')", pass_fds=(w,))
        return await proc.wait()

    try:
        assert run(aloop, main()) == 0
        os.close(w)
        w = -1
        assert os.read(r, 100) == b"passed"
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)


def test_start_new_session_makes_a_session_leader(aloop: Loop) -> None:
    async def main() -> bytes:
        proc = await asyncio.create_subprocess_exec(
            PY, "-c", "import os; print(os.getsid(0) == os.getpid())", stdout=PIPE, start_new_session=True)
        out, _ = await proc.communicate()
        return out

    assert run(aloop, main()).strip() == b"True"


def test_unsupported_popen_option_is_a_value_error(aloop: Loop) -> None:
    with pytest.raises(ValueError):
        run(aloop, asyncio.create_subprocess_exec(PY, "-c", "pass", preexec_fn=os.getpid))


def test_protocol_sees_pipes_then_process_exit_then_connection_lost(aloop: Loop) -> None:
    class Proto(asyncio.SubprocessProtocol):
        def __init__(self) -> None:
            self.events: List[Any] = []
            self.done: "asyncio.Future[None]" = aloop.create_future()

        def connection_made(self, transport: Any) -> None:
            self.events.append("made")

        def pipe_data_received(self, fd: int, data: bytes) -> None:
            self.events.append(("data", fd, data))

        def pipe_connection_lost(self, fd: int, exc: Optional[BaseException]) -> None:
            self.events.append(("pipe lost", fd))

        def process_exited(self) -> None:
            self.events.append("exited")

        def connection_lost(self, exc: Optional[BaseException]) -> None:
            self.events.append("lost")
            self.done.set_result(None)

    async def main() -> Tuple[List[Any], Any]:
        transport, proto = await aloop.subprocess_exec(Proto, PY, "-c", "print('x', end='')", stdin=None,
                                                       stdout=PIPE, stderr=None)
        assert isinstance(transport, UVSubprocessTransport)
        assert transport.get_pid() > 0
        assert transport.get_pipe_transport(1) is not None
        await proto.done
        code = transport.get_returncode()
        transport.close()
        return proto.events, code

    events, code = run(aloop, main())
    assert code == 0
    assert events[0] == "made"
    assert ("data", 1, b"x") in events
    assert events[-1] == "lost"
    assert events.index(("data", 1, b"x")) < events.index(("pipe lost", 1)) < events.index("lost")
    assert events.index("exited") < events.index("lost")


def test_close_kills_a_running_child(aloop: Loop) -> None:
    async def main() -> Optional[int]:
        class Proto(asyncio.SubprocessProtocol):
            def __init__(self) -> None:
                self.done: "asyncio.Future[None]" = aloop.create_future()

            def connection_lost(self, exc: Optional[BaseException]) -> None:
                self.done.set_result(None)

        transport, proto = await aloop.subprocess_exec(Proto, PY, "-c", "import time; time.sleep(60)")
        transport.close()
        await proto.done
        return transport.get_returncode()

    assert run(aloop, main()) == -signal.SIGKILL


def test_popen_like_poll_and_wait_see_the_exit_before_libuv_reports_it(aloop: Loop) -> None:
    async def main() -> Tuple[Optional[int], Optional[int], int, Optional[int]]:
        transport, _ = await aloop.subprocess_exec(asyncio.SubprocessProtocol, PY, "-c", "raise SystemExit(7)")
        proc = transport.get_extra_info("subprocess")
        running = proc.poll()
        code = proc.wait()  # blocks without reaping: libuv still reaps and reports the exit
        after = proc.poll()
        transport.close()  # the child has exited: close() must not kill it
        while transport.get_returncode() is None:
            await asyncio.sleep(0.001)
        return running, after, code, transport.get_returncode()

    running, after, code, returncode = run(aloop, main())
    assert (after, code, returncode) == (7, 7, 7)
    assert running in (None, 7)  # the child may already be done
