"""The table: uvffi's time per operation and its ratio to each peer, within 100 columns.

One Markdown table (so that docs/performance.md can take it as printed): the workload, uvffi's
median and best in one unit per cell, uvffi's median divided by each peer's median (below
1.00x: uvffi is faster), and the fastest peer with uvffi's ratio to it. The peers' absolute
times are in ``--json``. Below the table, what each row measures and the run's conditions,
wrapped to the same width.
"""

from __future__ import annotations

import textwrap
from typing import Any, Dict, List, Optional

from .harness import IMPLEMENTATIONS

__all__ = ["WIDTH", "format_table", "fmt_time"]

WIDTH = 100


def fmt_time(median_ns: float, best_ns: Optional[float] = None, per: str = "op") -> str:
    """``median (best) unit``, both numbers in the unit the median calls for: whole ns below
    10 µs, µs with one decimal below 1 ms, then ms with two."""
    if median_ns < 10_000:
        unit, scale, digits = "ns", 1.0, 0
    elif median_ns < 1e6:
        unit, scale, digits = "µs", 1e3, 1
    else:
        unit, scale, digits = "ms", 1e6, 2

    def num(v: float) -> str:
        return f"{v / scale:,.{digits}f}"

    text = num(median_ns) if best_ns is None else f"{num(median_ns)} ({num(best_ns)})"
    return f"{text} {unit}" if per == "op" else f"{text} {unit}/{per}"


def _ratio(r: Optional[float]) -> str:
    return "–" if r is None else f"{r:.2f}x"


def _grid(head: List[str], rows: List[List[str]], right: List[bool]) -> List[str]:
    widths = [max(len(c) for c in col) for col in zip(head, *rows)]

    def line(cells: List[str]) -> str:
        return "| " + " | ".join(c.rjust(w) if r else c.ljust(w)
                                 for c, w, r in zip(cells, widths, right)) + " |"

    rule = "|" + "|".join("-" * (w + 1) + ":" if r else "-" * (w + 2) for w, r in zip(widths, right)) + "|"
    return [line(head), rule] + [line(r) for r in rows]


def format_table(result: Dict[str, Any], width: int = WIDTH) -> str:
    """The result of :func:`uvffi.bench.run` as text: the table, then the rows' descriptions
    and the run's conditions (a peer that measured nothing gets no column)."""
    measured = {i for row in result["results"] for i in row["impls"]}
    peers = [i for i in IMPLEMENTATIONS
             if i != "uvffi" and result["versions"].get(i) is not None and i in measured]
    head = ["workload", "uvffi median (best)"] + peers + ["fastest peer"]
    rows = []
    for row in result["results"]:
        per = row.get("unit", "ns/op").split("/", 1)[1]
        uv = row["impls"].get("uvffi")
        cells = [row["workload"], "n/a" if uv is None else fmt_time(uv["median"], uv["best"], per)]
        cells += [_ratio(row["ratios"].get(p)) for p in peers]
        fastest = row.get("fastest_peer")
        r = row["ratios"].get(fastest) if fastest else None
        cells.append("–" if r is None else f"{fastest} {r:.2f}x")
        rows.append(cells)
    lines = _grid(head, rows, [False, True] + [True] * len(peers) + [True])
    lines.append("")
    wrap = textwrap.TextWrapper(width=width, subsequent_indent="  ")
    for row in result["results"]:
        lines.extend(wrap.wrap(f"- {row['workload']}: {row['description']}"))
    lines.append("")
    vers = ", ".join(f"{k} {v}" for k, v in result["versions"].items() if v is not None)
    note = (f"uvffi: median (best) of {result['repeats']} interleaved repeats, per operation "
            "(per MiB where marked). Peer columns: uvffi's median / the peer's median (below 1.00x: "
            "uvffi is faster); the peers' times are in --json. "
            f"Python {result['python']} ({result['implementation']}); {vers}.")
    lines.extend(textwrap.wrap(note, width=width))
    errors = [(row["workload"], i, msg) for row in result["results"] for i, msg in row.get("errors", {}).items()]
    for w, i, msg in errors:
        lines.extend(wrap.wrap(f"! {w} / {i} failed: {msg}"))
    return "\n".join(lines)
