"""How the CLI shows things: rich tables for people, JSON for scripts."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, DownloadColumn, Progress, TransferSpeedColumn
from rich.table import Table

console = Console()
errors = Console(stderr=True)


def emit_json(data: Any) -> None:
    print(json.dumps(data, indent=2, sort_keys=True))


def models_table(models: list[dict[str, Any]]) -> None:
    table = Table("name", "latest", "production", "staging", "aliases", "description")
    for m in models:
        table.add_row(
            m["name"],
            str(m["latest_version"]),
            ", ".join(map(str, m["production"])) or "-",
            ", ".join(map(str, m["staging"])) or "-",
            ", ".join(f"{a}→{n}" for a, n in m["aliases"].items()) or "-",
            (m["description"] or "")[:60],
        )
    console.print(table)


def model_detail(m: dict[str, Any]) -> None:
    table = Table(show_header=False)
    for key in (
        "name",
        "description",
        "latest_version",
        "production",
        "staging",
        "aliases",
        "tags",
        "created_by",
        "created_at",
        "updated_at",
    ):
        table.add_row(key, _fmt(m.get(key)))
    console.print(table)


def versions_table(versions: list[dict[str, Any]]) -> None:
    table = Table("version", "stage", "aliases", "artifact", "created by", "created at")
    for v in versions:
        table.add_row(
            str(v["number"]),
            v["stage"],
            ", ".join(v["aliases"]) or "-",
            v["artifact_uri"],
            v["created_by"],
            v["created_at"][:19],
        )
    console.print(table)


def version_detail(v: dict[str, Any]) -> None:
    table = Table(show_header=False)
    for key in (
        "model",
        "number",
        "stage",
        "aliases",
        "artifact_uri",
        "sha256",
        "size",
        "run_id",
        "dataset_version",
        "metrics",
        "tags",
        "description",
        "created_by",
        "created_at",
    ):
        table.add_row(key, _fmt(v.get(key)))
    console.print(table)
    requests = v.get("approval_requests") or []
    if requests:
        reviews = Table("request", "stage", "status", "requested by", "approvals")
        for r in requests:
            reviews.add_row(
                r["id"],
                r["stage"],
                r["status"],
                r["requested_by"],
                f"{len(r['approvals'])}/{r['required_approvals']} "
                + ", ".join(a["actor"] for a in r["approvals"]),
            )
        console.print(reviews)


def _fmt(value: Any) -> str:
    if value is None or value == "" or value == [] or value == {}:
        return "-"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True)
    return str(value)


def status_table(health: dict[str, Any]) -> None:
    console.print(f"status {health['status']}, log head at position {health['position']}")
    table = Table("view", "position", "behind (events)", "behind (seconds)")
    for name, lag in sorted(health.get("views", {}).items()):
        table.add_row(name, str(lag["position"]), str(lag["events"]), str(lag["seconds"]))
    for name, lag in sorted(health.get("relays", {}).items()):
        table.add_row(f"relay {name}", str(lag["position"]), str(lag["events"]), "-")
    console.print(table)


def stage_holders(answer: dict[str, Any]) -> None:
    console.print(f"{answer['model']} in {answer['stage']} as of {answer['as_of']}:")
    if not answer["versions"]:
        console.print("  no version")
        return
    table = Table("version", "since", "until", "promoted by", "approved by", "reason")
    for v in answer["versions"]:
        table.add_row(
            str(v["number"]),
            v["valid_from"][:19],
            (v["valid_to"] or "-")[:19],
            v["promoted_by"],
            ", ".join(v["approved_by"]) or "-",
            v["reason"] or "-",
        )
    console.print(table)


def timeline_table(answer: dict[str, Any]) -> None:
    table = Table("position", "at", "who", "event", "version", "reason")
    for e in answer["events"]:
        table.add_row(
            str(e["position"]),
            e["at"][:19],
            e["actor"] or "-",
            e["event"],
            str(e["version"] or "-"),
            e["reason"] or "-",
        )
    console.print(table)


@contextmanager
def progress(total: int, label: str, quiet: bool = False) -> Iterator[Callable[[int], None]]:
    """A progress bar on stderr; yields the callback that advances it by n bytes."""
    if quiet:
        yield lambda n: None
        return
    bar = Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        console=errors,
        transient=True,
    )
    with bar:
        task = bar.add_task(label, total=total)
        yield lambda n: bar.advance(task, n)


def verify_table(report: dict[str, Any]) -> None:
    table = Table("file", "sha256", "stored bytes")
    if "reference" in report:
        ref = report["reference"]
        report = {"files": [{"path": ref["uri"], "sha256": ref["sha256"], "ok": report["ok"]}]}
    for f in report["files"]:
        table.add_row(f["path"], f["sha256"][:16] + "…", "ok" if f["ok"] else "[red]ALTERED[/red]")
    console.print(table)
