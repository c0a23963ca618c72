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
            # the sense travels with the figure: `make bench` judges the parsed line (a rate's target is a floor)
            name: {"value": f.value, "unit": f.unit, "target": f.target, "founding": f.founding,
                   **({"sense": f.sense} if f.sense != "max" else {})}
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


def parse_json_line(output: str) -> BenchResult:
    """A benchmark's result from its printed output (the JSON object on the last line)."""
    data = json.loads(output.strip().splitlines()[-1])
    result = BenchResult(data["bench"], data.get("setup", ""))
    for name, fig in data["figures"].items():
        result.figures[name] = Figure(fig["value"], fig["unit"], fig.get("target"), fig.get("founding"),
                                      fig.get("sense", "max"))
    return result


def _cell(value: float | None, unit: str) -> str:
    return "–" if value is None else f"{value:g} {unit}"


def table(results: list[BenchResult]) -> list[str]:
    """One Markdown table of every figure: ours, the founding design's, the target and whether it is met."""
    lines = ["| benchmark | figure | ours | founding design | target | |", "|---|---|---|---|---|---|"]
    for result in results:
        for name, fig in result.figures.items():
            verdict = {True: "meets", False: "MISSES", None: ""}[fig.meets_target()]
            lines.append(f"| {result.bench} | {name} | {_cell(fig.value, fig.unit)} | "
                         f"{_cell(fig.founding, fig.unit)} | {_cell(fig.target, fig.unit)} | {verdict} |")
    return lines


README_BEGIN = "<!-- make bench: begin (written by `wbsupply bench --all`) -->"
README_END = "<!-- make bench: end -->"


def readme_with_table(readme: str, results: list[BenchResult], when: str) -> str | None:
    """The README with its benchmark table replaced by this run's (between the markers): the README's table
    is `make bench`'s output, not a copy. None when the README has no markers."""
    begin, end = readme.find(README_BEGIN), readme.find(README_END)
    if begin < 0 or end < begin:
        return None
    setups = [f"- `{result.bench}`: {result.setup}" for result in results]
    block = [README_BEGIN, f"Last `make bench`: {when}.", "", *table(results), "", "Setups:", "", *setups]
    return readme[:begin] + "\n".join(block) + "\n" + readme[end:]


def results_json(results: list[BenchResult]) -> dict[str, Any]:
    return {result.bench: json.loads(result.json_line()) for result in results}


def chart(results: list[BenchResult], path: Any) -> bool:
    """A PNG of the latency (s) and memory (MB) figures that have a founding or target figure beside them:
    ours against the founding design's and the target. False when matplotlib (extra ``bench``) is missing."""
    try:
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        return False
    panels = {"s": "latency (s)", "MB": "memory (MB)"}
    fig, axes = plt.subplots(1, 2, figsize=(13, 5))
    for axis, (unit, title) in zip(axes, panels.items(), strict=True):
        rows = [(f"{r.bench}\n{n}", f) for r in results for n, f in r.figures.items()
                if f.unit == unit and (f.founding is not None or f.target is not None)]
        labels = [label for label, _ in rows]
        xs = list(range(len(rows)))
        axis.bar([x - 0.2 for x in xs], [f.value for _, f in rows], 0.4, label="ours")
        axis.bar([x + 0.2 for x in xs], [f.founding or 0 for _, f in rows], 0.4, label="founding design")
        for x, (_, f) in zip(xs, rows, strict=True):
            if f.target is not None:
                axis.hlines(f.target, x - 0.45, x + 0.45, colors="red", linestyles="dashed")
        axis.set_xticks(xs, labels, rotation=30, ha="right", fontsize=7)
        axis.set_title(f"{title}; dashed: target")
        axis.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)
    return True
