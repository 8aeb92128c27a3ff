"""bench/mlflow_compat.py's report: each row for MLflow and Registrum, Registrum's speed-up,
the 3x target judged PASS or MISS, and the results as JSON under bench/results/."""

from __future__ import annotations

import argparse
import json
import math
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from bench.common import percentile
from bench.peer_load import Run

TARGET = 3.0  # Registrum at least this many times MLflow, on every row
RESULTS = Path(__file__).resolve().parent / "results"
WIDTH = 18


@dataclass
class Row:
    """A row's timed run on one side and each call's time in HTTP; for searches, the pages
    and versions of each result."""

    run: Run
    http: list[float] = field(default_factory=list)
    pages: int = 0
    rows: int = 0

    def split(self) -> tuple[float, float]:
        """p50 of each call's time in HTTP and of the rest (the client's own work)."""
        client = [total - http for total, http in zip(self.run.latencies, self.http, strict=True)]
        return percentile(self.http, 0.5), percentile(client, 0.5)


Side = dict[str, Row] | str  # a side's rows by key, or why it did not run


def titles(args: argparse.Namespace) -> dict[str, str]:
    return {
        "create": f"a registered model and {args.versions:,} create_model_version, in sequence",
        "alias": f"{args.gets} get_model_version_by_alias",
        "search": f"{args.searches} full search_model_versions of {args.versions:,} versions",
    }


def _ms(run: Run) -> str:
    return f"{run.p(0.5) * 1000:.2f} / {run.p(0.99) * 1000:.2f}"


def _ratio(theirs: float, ours: float) -> float:
    return theirs / ours if ours and not math.isnan(ours) else math.nan


def speedup(key: str, mlflow: Row, registrum: Row) -> float:
    """How many times MLflow Registrum is on the row: the rate for creates, p50 for reads."""
    if key == "create":
        return _ratio(registrum.run.rate, mlflow.run.rate)
    return _ratio(mlflow.run.p(0.5), registrum.run.p(0.5))


def _times(value: float) -> str:
    return "n/a" if math.isnan(value) else f"{value:.2f}x"


def _line(label: str, cells: list[str], ratio: str = "", verdict: str = "") -> str:
    return (
        f"  {label:<26}"
        + "".join(f"{cell:>{WIDTH}}" for cell in cells)
        + f"{ratio:>16}{verdict:>6}"
    )


def table(sides: dict[str, Side], args: argparse.Namespace) -> list[str]:
    """Per row: each side's numbers, Registrum's speed-up and the verdict; then the
    reasons a side did not run."""
    (mlflow_name, mlflow), (ours_name, ours) = sides.items()
    head = (
        f"{'':<28}{mlflow_name:>{WIDTH}}{ours_name:>{WIDTH}}{'Registrum x':>16}{f'{TARGET:g}x':>6}"
    )
    lines = [head, "-" * len(head)]
    ran = isinstance(mlflow, dict) and isinstance(ours, dict)
    for key, title in titles(args).items():
        lines.append(title)
        rows = [side[key] if isinstance(side, dict) else None for side in (mlflow, ours)]
        them, us = rows
        good = speedup(key, them, us) if them and us else math.nan
        verdict = "PASS" if good >= TARGET else "MISS"
        if key == "create":
            cells = [f"{r.run.seconds:.1f} s, {r.run.rate:.1f}/s" if r else "-" for r in rows]
            lines.append(_line("total s, versions/s", cells, _times(good), verdict))
            label, verdict = "per call p50 / p99 ms", ""
        else:
            label = "p50 / p99 ms"
        cells = [_ms(r.run) if r else "-" for r in rows]
        p99 = _ratio(them.run.p(0.99), us.run.p(0.99)) if them and us else math.nan
        p50 = _ratio(them.run.p(0.5), us.run.p(0.5)) if them and us else math.nan
        lines.append(_line(label, cells, f"{_times(p50)} / {_times(p99)}", verdict))
        cells = [
            "{:.2f} / {:.2f}".format(*(x * 1000 for x in r.split())) if r else "-" for r in rows
        ]
        lines.append(_line("p50 in HTTP / in client ms", cells))
        if key == "search":
            cells = [f"{r.pages} / {r.rows}" if r else "-" for r in rows]
            lines.append(_line("pages / versions a result", cells))
    if not ran:
        for name, side in sides.items():
            if isinstance(side, str):
                lines.append(f"{name} did not run: {side}")
    return lines


def floors(sides: dict[str, Side], commits: list[float]) -> list[str]:
    """What no server can go below on this machine, and so the most Registrum could be on
    each row: MLflow's p50 over Registrum's own client time (the same client's work on
    our answers), plus a bare route's round trip through requests, plus, for a write, a
    PostgreSQL insert and commit. A target above that ceiling asks for a server that takes
    less than no time."""
    (_, mlflow), (_, ours) = sides.items()
    if not (isinstance(mlflow, dict) and isinstance(ours, dict) and "bare" in ours):
        return []
    bare, theirs_bare = ours["bare"].run.p(0.5), mlflow["bare"].run.p(0.5)
    commit = percentile(commits, 0.5) if commits else 0.0
    lines = [
        "",
        "floors, this run (p50): a bare route's round trip through requests "
        f"{bare * 1000:.2f} ms (MLflow's /health {theirs_bare * 1000:.2f} ms); "
        f"a PostgreSQL insert and commit {commit * 1000:.2f} ms",
        "Registrum's ceiling: MLflow's p50 / (our client's own time + that round trip"
        " [+ the commit, for a write])",
    ]
    for key in ("create", "alias", "search"):
        client = ours[key].split()[1]
        least = client + bare + (commit if key == "create" else 0.0)
        ceiling = _ratio(mlflow[key].run.p(0.5), least)
        verdict = "3x reachable" if ceiling >= TARGET else "3x out of reach"
        lines.append(
            f"  {key:<8} at most {_times(ceiling)} (least {least * 1000:.2f} ms): {verdict}"
        )
    return lines


def _side_json(side: Side) -> dict[str, Any] | str:
    if isinstance(side, str):
        return side
    return {
        key: {
            "seconds": row.run.seconds,
            "per_second": row.run.rate,
            "p50_ms": row.run.p(0.5) * 1000,
            "p99_ms": row.run.p(0.99) * 1000,
            "pages": row.pages or None,
            "versions_per_result": row.rows or None,
            "http_p50_ms": row.split()[0] * 1000,
            "client_p50_ms": row.split()[1] * 1000,
            "latencies_ms": [round(s * 1000, 3) for s in row.run.latencies],
            "http_ms": [round(s * 1000, 3) for s in row.http],
        }
        for key, row in side.items()
    }


def save(
    sides: dict[str, Side], args: argparse.Namespace, lines: list[str], about: dict[str, Any]
) -> Path:
    """The run as JSON in bench/results/ (git-ignored); returns the file written."""
    RESULTS.mkdir(exist_ok=True)
    when = datetime.now(UTC)
    path = RESULTS / f"mlflow_compat-{when:%Y%m%dT%H%M%SZ}.json"
    mlflow, ours = sides.values()
    verdicts = {
        key: speedup(key, mlflow[key], ours[key])
        for key in titles(args)
        if isinstance(mlflow, dict) and isinstance(ours, dict)
    }
    document = {
        "bench": "mlflow_compat",
        "at": when.isoformat(),
        **about,
        "arguments": vars(args),
        "target": TARGET,
        "speedup": {key: None if math.isnan(v) else v for key, v in verdicts.items()},
        "pass": {key: v >= TARGET for key, v in verdicts.items()},
        "table": lines,
        "sides": {name: _side_json(side) for name, side in sides.items()},
    }
    path.write_text(json.dumps(document, indent=2) + "\n")
    return path
