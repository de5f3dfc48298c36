"""Regression: Process.spawn's ``env`` array lived only until it was stored into the options
struct (cffi frees an ``ffi.new`` cdata once its owning object is dropped, and reading the field
back gives a non-owning pointer), so a small environment came to libuv as freed memory: the
spawn failed with ``UV_EFAULT``, or the child got a garbage environment. Found by the aio
subprocess tests."""

from __future__ import annotations

import os

import uvffi


def _spawn_with_env(env: dict) -> bytes:
    loop = uvffi.Loop()
    r, w = os.pipe()
    statuses = []
    try:
        uvffi.Process.spawn(loop, ["/bin/sh", "-c", "echo $UVFFI_ENV_T"], env=env,
                            stdio=[uvffi.StdIO(), uvffi.StdIO(fd=w, flags=uvffi.UV_INHERIT_FD)],
                            exit_callback=lambda h, status, sig: (statuses.append(status), h.close()))
        os.close(w)
        w = -1
        loop.run()
        assert statuses == [0]
        return os.read(r, 100)
    finally:
        os.close(r)
        if w >= 0:
            os.close(w)
        loop.close()


def test_a_small_env_reaches_the_child() -> None:
    assert _spawn_with_env({"UVFFI_ENV_T": "kept", "PATH": "/bin:/usr/bin"}) == b"kept\n"


def test_small_envs_spawned_repeatedly_all_reach_their_child() -> None:
    # the freed array is reused by the next small allocations: repeat to be sure none is
    for i in range(20):
        assert _spawn_with_env({"UVFFI_ENV_T": f"run{i}"}) == f"run{i}\n".encode()
