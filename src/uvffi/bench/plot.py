"""``--plot out.png``: uvffi's ratio to each peer as bars, one group per row (matplotlib)."""

from __future__ import annotations

from typing import Any, Dict

from .harness import IMPLEMENTATIONS

__all__ = ["MissingMatplotlib", "plot"]

_COLOURS = {"pyuv": "#4c72b0", "asyncio": "#dd8452", "uvloop": "#55a868", "gevent": "#8172b3"}


class MissingMatplotlib(RuntimeError):
    """matplotlib does not import: ``--plot`` needs it (``pip install matplotlib``)."""


def plot(result: Dict[str, Any], path: str) -> None:
    """Draw the ratios of ``result`` (uvffi's median / each peer's) into the image ``path``:
    one group of bars per row on a log scale, each bar from the line at 1.0 (down: uvffi is
    faster)."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError as exc:
        raise MissingMatplotlib("--plot needs matplotlib: pip install matplotlib") from exc
    rows = [r for r in result["results"] if r["ratios"]]
    peers = [p for p in IMPLEMENTATIONS if p != "uvffi" and any(p in r["ratios"] for r in rows)]
    fig, ax = plt.subplots(figsize=(max(6.0, 0.75 * len(rows) + 2), 4.8))
    width = 0.8 / max(1, len(peers))
    for k, p in enumerate(peers):
        xs = [j + (k - (len(peers) - 1) / 2) * width for j, r in enumerate(rows) if p in r["ratios"]]
        ys = [r["ratios"][p] for r in rows if p in r["ratios"]]
        # from the 1.0 line: up where uvffi is slower, down where it is faster
        ax.bar(xs, [y - 1.0 for y in ys], width, bottom=1.0, label=f"uvffi / {p}", color=_COLOURS.get(p))
    ax.axhline(1.0, color="black", linewidth=0.8)
    ax.set_yscale("log")
    ax.set_xticks(range(len(rows)))
    ax.set_xticklabels([r["workload"] for r in rows], rotation=45, ha="right", fontsize=8)
    ax.set_ylabel("uvffi time / peer time (log; below 1: uvffi faster)")
    ax.set_title(f"uvffi against its peers, Python {result['python']} ({result['implementation']}), "
                 f"median of {result['repeats']}", fontsize=10)
    if peers:
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
