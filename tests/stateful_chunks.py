"""The runner both stateful tests share: a hypothesis state machine's examples spread
over parametrized chunks, so that pytest's progress moves while they run (one test of
150 examples sat silent for most of a minute), each chunk printing its counts."""

from __future__ import annotations

from typing import Any, Dict, List

from hypothesis import HealthCheck, Verbosity, settings
from hypothesis.stateful import run_state_machine_as_test


class Chunks:
    """``examples`` spread as evenly as the division allows over at most six chunks;
    ``stats`` is the dict the machine counts its examples and steps in."""

    def __init__(self, label: str, examples: int, stats: Dict[str, int]) -> None:
        self.label = label
        self.count = max(1, min(6, examples))
        self.sizes: List[int] = [examples // self.count + (1 if i < examples % self.count else 0)
                                 for i in range(self.count)]
        self.stats = stats
        self.total = {"examples": 0, "steps": 0, "chunks": 0}

    def ids(self) -> List[str]:
        return [f"{i + 1}of{self.count}" for i in range(self.count)]

    def run(self, machine: Any, chunk: int, capsys: Any, step_count: int, verbose: bool) -> None:
        """Run chunk ``chunk`` of ``machine``; print its counts (and the totals after the
        last); at least its size (or 10) examples must have run."""
        stats = self.stats
        stats["examples"] = stats["steps"] = 0
        wanted = self.sizes[chunk]
        run_state_machine_as_test(
            machine,
            settings=settings(max_examples=wanted, stateful_step_count=step_count, deadline=None,
                              suppress_health_check=list(HealthCheck), print_blob=True,
                              verbosity=Verbosity.verbose if verbose else Verbosity.normal),
        )
        for key in ("examples", "steps"):
            self.total[key] += stats[key]
        self.total["chunks"] += 1
        with capsys.disabled():
            line = f"\n{self.label} {chunk + 1}/{self.count}: {stats['examples']} examples, {stats['steps']} steps"
            if self.total["chunks"] == self.count:
                line += f" (all chunks: {self.total['examples']} examples, {self.total['steps']} steps)"
            print(line)
        assert stats["examples"] >= min(wanted, 10)
