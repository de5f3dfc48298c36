"""``python -m uvffi.bench``: uvffi side by side with pyuv, asyncio, uvloop and gevent.

Every workload runs for uvffi and, where it applies, asyncio, and pyuv, uvloop and gevent
when they import. Repeats are interleaved (repeat 1 of every implementation, then repeat 2,
...) so that a noisy machine hurts all of them alike; each cell is the median of the repeats,
and each row carries uvffi's ratio to every peer (below 1.0: uvffi is faster).

Usage::

    python -m uvffi.bench [--quick] [--json] [--repeats N] [--only WORKLOAD|GROUP,...]
                          [--impls NAME,...] [--plot out.png] [--no-progress]

The package, as a map:

- ``harness``: which implementations import, the interleaved repeats, medians and ratios;
- ``table``: the 100-column table (``plot``: the ``--plot`` image);
- ``callbacks``: the callback rows (the hop from libuv into Python);
- ``io``: the I/O rows (streams, UDP, processes, files, DNS);
- ``aio_rows``: asyncio's API on asyncio, uvloop and :mod:`uvffi.aio` (uvffi's column).

A progress line goes to stderr when it is a terminal; the table (or JSON with ``--json``)
to stdout.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any, Dict, List, Optional

from . import aio_rows, callbacks, harness, io
from .harness import IMPLEMENTATIONS, Workload, available
from .table import format_table

__all__ = ["GROUPS", "IMPLEMENTATIONS", "WORKLOADS", "Workload", "available", "format_table", "main", "run"]

WORKLOADS: Dict[str, Workload] = {**callbacks.WORKLOADS, **io.WORKLOADS, **aio_rows.WORKLOADS}
"""Every row, in the table's order."""

GROUPS: Dict[str, List[str]] = {}
for _w in WORKLOADS.values():
    GROUPS.setdefault(_w.group, []).append(_w.name)


def run(quick: bool = False, repeats: Optional[int] = None, only: Optional[List[str]] = None,
        impls: Optional[List[str]] = None, progress: Optional[bool] = None) -> Dict[str, Any]:
    """Run the benchmark (the rows in ``only``, or all); returns the JSON-able result (see
    ``--json``). ``progress`` None: a progress line only when stderr is a terminal."""
    return harness.run(WORKLOADS, quick=quick, repeats=repeats, only=only, impls=impls, progress=progress)


def _names(spec: str, ap: argparse.ArgumentParser) -> List[str]:
    out: List[str] = []
    for name in (w.strip() for w in spec.split(",")):
        if not name:
            continue
        if name in GROUPS:
            out += [w for w in GROUPS[name] if w not in out]
        elif name in WORKLOADS:
            if name not in out:
                out.append(name)
        else:
            ap.error(f"unknown workload {name!r}; known: {', '.join(WORKLOADS)} "
                     f"(or a group: {', '.join(GROUPS)})")
    return out


def main(argv: Optional[List[str]] = None) -> int:
    """Command-line entry point."""
    ap = argparse.ArgumentParser(prog="python -m uvffi.bench", description=__doc__.split("\n\n")[0])
    ap.add_argument("--quick", action="store_true", help="tiny sizes and one repeat (for tests)")
    ap.add_argument("--json", action="store_true", help="print JSON (every implementation's times) instead of a table")
    ap.add_argument("--repeats", type=int, default=None, help="interleaved repeats (default 5, quick 1)")
    ap.add_argument("--only", default=None, help="comma-separated workloads or groups (callbacks, io, aio) to run")
    ap.add_argument("--impls", default=None, help="comma-separated implementations to run (uvffi always)")
    ap.add_argument("--plot", default=None, metavar="OUT.png", help="also draw the ratios as bars (needs matplotlib)")
    ap.add_argument("--no-progress", action="store_true", help="nothing on stderr (default: a progress line "
                    "when stderr is a terminal, and a summary line)")
    args = ap.parse_args(argv)
    only = _names(args.only, ap) if args.only else None
    impls = None
    if args.impls:
        impls = [i.strip() for i in args.impls.split(",") if i.strip()]
        unknown = [i for i in impls if i not in IMPLEMENTATIONS]
        if unknown:
            ap.error(f"unknown implementation(s): {', '.join(unknown)}; known: {', '.join(IMPLEMENTATIONS)}")
        if "uvffi" not in impls:
            impls.insert(0, "uvffi")
    if args.repeats is not None and args.repeats < 1:
        ap.error("--repeats must be at least 1")
    if args.plot:
        try:
            import matplotlib  # noqa: F401
        except ImportError:
            ap.error("--plot needs matplotlib, which does not import here: pip install matplotlib")
    result = run(quick=args.quick, repeats=args.repeats, only=only, impls=impls,
                 progress=False if args.no_progress else None)
    if args.json:
        json.dump(result, sys.stdout, indent=1)
        sys.stdout.write("\n")
    else:
        print(format_table(result))
    if args.plot:
        from .plot import plot

        plot(result, args.plot)
    return 0
