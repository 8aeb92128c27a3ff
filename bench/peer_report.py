"""bench/peer.py's report: each side's numbers with our speed-up over each MLflow run, the
non-2xx answers, and the budgets (DESIGN.md) judged PASS or MISS."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

from bench.peer_load import Run

WRITES = ("sequential", "one model", "8 models")


@dataclass
class Outcome:
    """A workload's run on one side, and a note: for writes whether numbering stayed
    gapless, for searches how many rows each answer held and its size."""

    run: Run
    note: str = ""
    gapless: bool = True


Side = dict[str, Outcome] | str  # a side's outcomes by workload, or why it did not run
Value = float | int | str
Metric = tuple[str, Callable[[Outcome], Value], bool | None]  # is higher better?

LATENCY: list[Metric] = [
    ("p50 ms", lambda o: o.run.p(0.5) * 1000, False),
    ("p99 ms", lambda o: o.run.p(0.99) * 1000, False),
    ("p99/p50", lambda o: o.run.p(0.99) / o.run.p(0.5), None),
    ("non-2xx", lambda o: o.run.failed, None),
]
WIDTH = 17


def _metrics(key: str) -> list[Metric]:
    if key in WRITES:
        return [("versions/s", lambda o: o.run.rate, True), *LATENCY, ("numbering", _note, None)]
    return [*LATENCY, ("rows / answer", _note, None)] if key in ("search", "filtered") else LATENCY


def _note(outcome: Outcome) -> str:
    return outcome.note


def _cell(value: Value) -> str:
    if isinstance(value, str | int):
        return str(value)
    return "n/a" if math.isnan(value) else f"{value:.3g}" if value < 100 else f"{value:.0f}"


def _speedup(ours: Value, theirs: Value, higher: bool | None) -> str:
    if higher is None or isinstance(ours, str) or isinstance(theirs, str) or not ours * theirs:
        return ""
    ratio = ours / theirs if higher else theirs / ours
    return "" if math.isnan(ratio) else f"{ratio:.1f}x"


def table(sides: dict[str, Side], titles: dict[str, str]) -> list[str]:
    """One block of rows per workload: each side's value and, beside each MLflow run, how
    many times faster ours is (throughput ours/theirs, latency theirs/ours)."""
    names = list(sides)
    head = f"{'':<26}{names[0]:>{WIDTH}}"
    head += "".join(f"{name:>{WIDTH}}{'ours x':>8}" for name in names[1:])
    lines = [head, "-" * len(head)]
    for key, title in titles.items():
        lines.append(title)
        for label, metric, higher in _metrics(key):
            values = [
                metric(side[key]) if isinstance(side, dict) else "-" for side in sides.values()
            ]
            row = f"  {label:<24}{_cell(values[0]):>{WIDTH}}"
            for theirs in values[1:]:
                row += f"{_cell(theirs):>{WIDTH}}{_speedup(values[0], theirs, higher):>8}"
            lines.append(row)
    return lines


def errors(sides: dict[str, Side]) -> list[str]:
    """Every non-2xx answer, by side and workload, alike messages counted together."""
    lines = []
    for name, side in sides.items():
        if isinstance(side, str):
            lines.append(f"{name}: did not run: {side}")
            continue
        for key, outcome in side.items():
            for message, count in outcome.run.errors.most_common():
                lines.append(f"{name}, {key}: {count} x {message}")
    return lines or ["none"]


def _verdict(good: bool) -> str:
    return "PASS" if good else "MISS"


def _ratio(a: float, b: float) -> float:
    return a / b if b and not math.isnan(b) else math.nan


def _versus(peers: list[tuple[str, Side]], speedup: Callable[[dict[str, Outcome]], float]) -> str:
    ratios = [(name, speedup(side) if isinstance(side, dict) else math.nan) for name, side in peers]
    return "; ".join(f"{'n/a' if math.isnan(r) else f'{r:.1f}x'} vs {name}" for name, r in ratios)


def budgets(sides: dict[str, Side], versions: int) -> list[str]:
    """The budgets, judged against the first MLflow run (1 worker, as DESIGN.md measures
    it); our ratio to every MLflow run is shown."""
    mine, *rest = sides.values()
    peers = list(sides.items())[1:]
    if isinstance(mine, str) or isinstance(rest[0], str):
        return ["MISS  every budget: a side did not run"]
    reference = rest[0]
    lines = []
    for key, title, target in (
        ("sequential", "sequential registrations >= 5x MLflow", 5),
        ("one model", "8 writers on one model >= 10x, gapless", 10),
        ("8 models", "8 writers on 8 models >= 10x, gapless", 10),
    ):
        run = mine[key].run
        clean = mine[key].gapless and not run.failed
        good = clean and _ratio(run.rate, reference[key].run.rate) >= target
        detail = _versus(peers, lambda side, k=key, r=run: _ratio(r.rate, side[k].run.rate))
        detail += "" if clean else f"; ours: {mine[key].note}, {run.failed} non-2xx"
        lines.append(f"{_verdict(good)}  {title:<48}{detail}")
    alias = mine["alias"].run.p(0.5)
    good = _ratio(reference["alias"].run.p(0.5), alias) >= 7
    detail = _versus(peers, lambda side: _ratio(side["alias"].run.p(0.5), alias))
    lines.append(f"{_verdict(good)}  {'get by alias p50 >= 7x MLflow':<48}{detail}")
    bare = mine["bare"].run.p(0.5)
    lines.append(
        f"{_verdict(alias <= 1.5 * bare)}  {'get by alias p50 <= 1.5x a bare route p50':<48}"
        f"{alias / bare:.2f}x ({alias * 1000:.2f} vs {bare * 1000:.2f} ms)"
    )
    spreads = {key: mine[key].run.p(0.99) / mine[key].run.p(0.5) for key in WRITES}
    lines.append(
        f"{_verdict(max(spreads.values()) <= 3)}  {'write p99 <= 3x p50, each workload':<48}"
        + "; ".join(f"{key} {spread:.2f}" for key, spread in spreads.items())
    )
    search = mine["search"].run.p(0.5) * 1000
    title = f"search {versions:,} versions p50 <= 20 ms"
    lines.append(f"{_verdict(search <= 20)}  {title:<48}{search:.1f} ms")
    return lines
