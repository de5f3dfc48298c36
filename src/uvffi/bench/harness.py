"""The measuring: which implementations import, interleaved repeats, medians and ratios.

A :class:`Workload` names one row of the benchmark and holds one function per family of
implementations: ``uv`` (pyuv's API: uvffi and pyuv run the same code), ``aio`` (asyncio's
API: asyncio and uvloop run the same code; in a ``uvffi_aio`` row uvffi's column runs it
too, on :mod:`uvffi.aio`'s loop) and ``gevent`` (gevent's libuv loop, used without its
hub). Each function takes ``(target, n)`` and returns the seconds that ``n``
operations took; the harness turns that into nanoseconds per operation.
"""

from __future__ import annotations

import gc
import importlib
import platform
import statistics
import sys
import time
from dataclasses import dataclass
from typing import Any, Callable, Dict, List, Optional, Tuple

__all__ = ["IMPLEMENTATIONS", "Workload", "available", "measure_fn", "run"]

Measure = Callable[[Any, int], float]
"""``(target, n) -> seconds`` for ``n`` operations: the target is the pyuv-API module, an
event-loop factory (asyncio, uvloop) or gevent's loop module."""

# implementation name -> module to import (its column order in the table)
IMPLEMENTATIONS: Dict[str, str] = {
    "uvffi": "uvffi",
    "pyuv": "pyuv",
    "asyncio": "asyncio",
    "uvloop": "uvloop",
    "gevent": "gevent.libuv.loop",
}


@dataclass(frozen=True)
class Workload:
    """One row: what it measures, how many operations (full run and ``--quick``), and how."""

    name: str
    description: str
    n: int
    quick: int
    group: str  # "callbacks" or "io"
    uv: Optional[Measure] = None  # uvffi, pyuv
    aio: Optional[Measure] = None  # asyncio, uvloop (an event-loop factory as the target)
    gevent: Optional[Measure] = None
    unit: str = "op"  # what one of the n is: "op", or "MiB" for the throughput rows
    aio_impls: Tuple[str, ...] = ("asyncio", "uvloop")  # which of the two ``aio`` applies to
    # A row of asyncio's API alone: uvffi's column runs ``aio`` on uvffi.aio's loop (no ``uv``)
    uvffi_aio: bool = False


def available() -> Dict[str, Optional[str]]:
    """Each implementation's version, or None when it does not import."""
    out: Dict[str, Optional[str]] = {}
    for name, modname in IMPLEMENTATIONS.items():
        try:
            mod = importlib.import_module(modname)
        except Exception:  # noqa: BLE001 - any failure means "not available"
            out[name] = None
            continue
        if name == "asyncio":
            out[name] = platform.python_version()
        elif name == "gevent":
            out[name] = getattr(importlib.import_module("gevent"), "__version__", "?")
        else:
            out[name] = str(getattr(mod, "__version__", "?"))
    return out


def measure_fn(impl: str, wl: Workload) -> Optional[Callable[[int], float]]:
    """A function ``n -> seconds`` for ``impl`` on ``wl``, or None if the pair does not apply."""
    if impl in ("uvffi", "pyuv") and wl.uvffi_aio:
        afn_uv = wl.aio
        if impl != "uvffi" or afn_uv is None:
            return None
        new_uv_loop = importlib.import_module("uvffi.aio").new_event_loop
        return lambda n: afn_uv(new_uv_loop, n)
    if impl in ("uvffi", "pyuv"):
        fn = wl.uv
        if fn is None:
            return None
        mod = importlib.import_module(IMPLEMENTATIONS[impl])
        return lambda n: fn(mod, n)
    if impl in ("asyncio", "uvloop"):
        afn = wl.aio
        if afn is None or impl not in wl.aio_impls:
            return None
        if impl == "asyncio":
            import asyncio

            new_loop: Callable[[], Any] = asyncio.new_event_loop
        else:
            new_loop = importlib.import_module("uvloop").new_event_loop
        return lambda n: afn(new_loop, n)
    if impl == "gevent":
        gfn = wl.gevent
        if gfn is None:
            return None
        gl = importlib.import_module(IMPLEMENTATIONS[impl])
        return lambda n: gfn(gl, n)
    return None


def _one(fn: Callable[[int], float], n: int) -> float:
    """Seconds for ``n`` operations, with the cyclic collector off (after a collection)."""
    gc.collect()
    gc.disable()
    try:
        return fn(n)
    finally:
        gc.enable()


def run(workloads: Dict[str, Workload], quick: bool = False, repeats: Optional[int] = None,
        only: Optional[List[str]] = None, impls: Optional[List[str]] = None,
        progress: Optional[bool] = None) -> Dict[str, Any]:
    """Run ``workloads`` (those named in ``only``, or all) for every implementation that
    imports (those in ``impls``, or all), repeats interleaved: repeat 1 of every cell, then
    repeat 2, ... so that a noisy machine hurts all of them alike. ``progress`` (default:
    whether stderr is a terminal) rewrites one status line on stderr; a summary line goes to
    stderr at the end unless ``progress`` is False. Returns the JSON-able result."""
    if progress is None:
        progress_line = sys.stderr.isatty()
        summary = True
    else:
        progress_line = summary = progress
    versions = available()
    names = [i for i in IMPLEMENTATIONS if versions[i] is not None and (impls is None or i in impls)]
    chosen = [w for w in workloads.values() if only is None or w.name in only]
    if repeats is None:
        repeats = 1 if quick else 5
    fns: Dict[Tuple[str, str], Callable[[int], float]] = {}
    for wl in chosen:
        for i in names:
            fn = measure_fn(i, wl)
            if fn is not None:
                fns[(wl.name, i)] = fn
    samples: Dict[Tuple[str, str], List[float]] = {k: [] for k in fns}
    errors: Dict[Tuple[str, str], str] = {}
    total = repeats * len(fns)
    done = 0
    started = time.perf_counter()
    for rep in range(repeats):
        for (w, i), fn in fns.items():
            done += 1
            if (w, i) in errors:
                continue
            n = workloads[w].quick if quick else workloads[w].n
            if progress_line:
                sys.stderr.write(f"\r[{done}/{total}] repeat {rep + 1}/{repeats} {w:<20} {i:<8}"
                                 f" {time.perf_counter() - started:6.1f}s ")
                sys.stderr.flush()
            try:
                if rep == 0:
                    _one(fn, max(1, n // 10))  # warm-up
                seconds = _one(fn, n)
            except Exception as exc:  # noqa: BLE001 - one failing cell must not end the run
                errors[(w, i)] = f"{type(exc).__name__}: {exc}"
                continue
            samples[(w, i)].append(seconds * 1e9 / n)
    elapsed = time.perf_counter() - started
    if progress_line:
        sys.stderr.write("\r" + " " * 60 + "\r")
    if summary:
        sys.stderr.write(f"done: {total} measurements in {elapsed:.1f}s\n")
    results = []
    for wl in chosen:
        row: Dict[str, Any] = {
            "workload": wl.name, "description": wl.description, "group": wl.group,
            "unit": f"ns/{wl.unit}", "n": wl.quick if quick else wl.n,
            "impls": {}, "ratios": {}, "fastest_peer": None, "errors": {},
        }
        for i in names:
            s = samples.get((wl.name, i))
            if s:
                row["impls"][i] = {"median": statistics.median(s), "best": min(s), "samples": s}
            if (wl.name, i) in errors:
                row["errors"][i] = errors[(wl.name, i)]
        base = row["impls"].get("uvffi")
        if base is not None:
            for i, v in row["impls"].items():
                if i != "uvffi":
                    row["ratios"][i] = base["median"] / v["median"]
        peers = {i: v["median"] for i, v in row["impls"].items() if i != "uvffi"}
        if peers:
            row["fastest_peer"] = min(peers, key=peers.__getitem__)
        results.append(row)
    return {
        "python": platform.python_version(),
        "implementation": platform.python_implementation(),
        "machine": platform.machine(),
        "repeats": repeats,
        "quick": quick,
        "versions": versions,
        "seconds": elapsed,
        "results": results,
    }
