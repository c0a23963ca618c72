"""Benchmark convention: a readable summary, then one JSON object as the very last line.

``{"bench": NAME, "figures": {FIGURE: {"value": V, "unit": U, "target": T, "founding": F|null}}, "setup": "..."}``
"""

from __future__ import annotations

import json
import platform
import statistics
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Figure:
    value: float
    unit: str
    target: float | None = None
    founding: float | None = None
    # "max": lower is better and the target is a ceiling; "min": the target is a floor.
    sense: str = "max"

    def meets_target(self) -> bool | None:
        if self.target is None:
            return None
        return self.value <= self.target if self.sense == "max" else self.value >= self.target


@dataclass
class BenchResult:
    bench: str
    setup: str
    figures: dict[str, Figure] = field(default_factory=dict)

    def add(self, name: str, value: float, unit: str, **kwargs: Any) -> None:
        self.figures[name] = Figure(round(value, 3), unit, **kwargs)

    def summary_lines(self) -> list[str]:
        lines = [f"bench {self.bench}: {self.setup}"]
        for name, fig in self.figures.items():
            verdict = {True: "meets target", False: "MISSES target", None: ""}[fig.meets_target()]
            target = f" (target {fig.target} {fig.unit})" if fig.target is not None else ""
            founding = f", founding design {fig.founding} {fig.unit}" if fig.founding is not None else ""
            lines.append(f"  {name}: {fig.value} {fig.unit}{target}{founding} {verdict}".rstrip())
        return lines

    def json_line(self) -> str:
        figures = {
            name: {"value": f.value, "unit": f.unit, "target": f.target, "founding": f.founding}
            for name, f in self.figures.items()
        }
        return json.dumps({"bench": self.bench, "figures": figures, "setup": self.setup}, ensure_ascii=False)

    def print(self) -> None:
        for line in self.summary_lines():
            print(line)
        print(self.json_line(), flush=True)


def machine_setup() -> str:
    import os

    return f"{platform.python_implementation()} {platform.python_version()}, {os.cpu_count()} cores"


def percentile(values: list[float], pct: float) -> float:
    """Nearest-rank percentile; pct in 0..100."""
    if not values:
        raise ValueError("no values")
    ordered = sorted(values)
    rank = max(1, round(pct / 100 * len(ordered) + 0.5 - 1e-9))
    return ordered[min(rank, len(ordered)) - 1]


def mean(values: list[float]) -> float:
    return statistics.fmean(values)
