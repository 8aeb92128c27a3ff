"""Tables for people. Every cell is inert text (output.inert): "-" for nothing, never None,
and nothing the server sent is interpreted as markup or reaches the terminal as a control."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from rich.table import Table
from rich.text import Text

from registrum.cli.output import console, inert, say


def _when(value: Any) -> Text:
    return inert(str(value)[:19] if value else None)


def _joined(values: Any) -> Text:
    return inert(", ".join(map(str, values)) if isinstance(values, list) else values)


def _aliases(aliases: Any) -> Text:
    if isinstance(aliases, dict):
        return inert(", ".join(f"{a}→{n}" for a, n in aliases.items()))
    return _joined(aliases)


def _table(*columns: str, header: bool = True) -> Table:
    return Table(*columns, show_header=header)


def models_table(models: list[dict[str, Any]]) -> None:
    table = _table("name", "latest", "production", "staging", "aliases", "description")
    for m in models:
        table.add_row(
            inert(m.get("name")),
            inert(m.get("latest_version") or None),
            _joined(m.get("production")),
            _joined(m.get("staging")),
            _aliases(m.get("aliases")),
            inert(str(m.get("description") or "")[:60]),
        )
    console.print(table)


def _detail(record: dict[str, Any], keys: tuple[str, ...]) -> None:
    table = _table("", "", header=False)
    for key in keys:
        table.add_row(key, inert(record.get(key)))
    console.print(table)


def model_detail(m: dict[str, Any]) -> None:
    _detail(
        m,
        (
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
        ),
    )


def versions_table(versions: list[dict[str, Any]]) -> None:
    table = _table("model", "version", "stage", "aliases", "artifact", "created by", "created at")
    for v in versions:
        table.add_row(
            inert(v.get("model")),
            inert(v.get("number")),
            inert(v.get("stage")),
            _joined(v.get("aliases")),
            inert(v.get("artifact_uri")),
            inert(v.get("created_by")),
            _when(v.get("created_at")),
        )
    console.print(table)


def version_detail(v: dict[str, Any]) -> None:
    _detail(
        v,
        (
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
            "hyperparameters",
            "lineage",
            "tags",
            "description",
            "model_card",
            "created_by",
            "created_at",
        ),
    )
    requests = v.get("approval_requests") or []
    if requests:
        reviews = _table("request", "stage", "status", "requested by", "approvals")
        for r in requests:
            approvals = r.get("approvals") or []
            who = ", ".join(str(a.get("actor")) for a in approvals)
            reviews.add_row(
                inert(r.get("id")),
                inert(r.get("stage")),
                inert(r.get("status")),
                inert(r.get("requested_by")),
                inert(f"{len(approvals)}/{r.get('required_approvals')} {who}".strip()),
            )
        console.print(reviews)
    gates = v.get("gates")
    if gates:
        verdict = "passed" if gates.get("passed") else "FAILED"
        if gates.get("overridden_by"):
            verdict += ", overridden by " + ", ".join(str(s) for s in gates["overridden_by"])
        console.print(
            Text.assemble(
                "gates at the last promotion: policy ",
                inert(gates.get("policy")),
                " v",
                inert(gates.get("policy_version")),
                ", ",
                inert(verdict),
            )
        )
        rules = _table("rule", "result", "message", "saw")
        for r in gates.get("rules") or []:
            rules.add_row(
                inert(r.get("name")),
                inert("pass" if r.get("passed") else "FAIL"),
                inert(r.get("message")),
                inert(r.get("saw")),
            )
        console.print(rules)


def status_table(health: dict[str, Any]) -> None:
    console.print(
        Text.assemble(
            "status ",
            inert(health.get("status")),
            ", log head at position ",
            inert(health.get("position")),
            *(() if "followers" not in health else (", followers ", inert(health["followers"]))),
        )
    )
    table = _table("view", "position", "behind (events)", "behind (seconds)")
    for name, lag in sorted((health.get("views") or {}).items()):
        table.add_row(
            inert(name),
            inert(lag.get("position")),
            inert(lag.get("events")),
            inert(lag.get("seconds")),
        )
    for name, lag in sorted((health.get("relays") or {}).items()):
        table.add_row(
            inert(f"relay {name}"), inert(lag.get("position")), inert(lag.get("events")), "-"
        )
    console.print(table)


def stage_holders(answer: dict[str, Any]) -> None:
    console.print(
        Text.assemble(
            inert(answer.get("model")),
            " in ",
            inert(answer.get("stage")),
            " as of ",
            inert(answer.get("as_of")),
            ":",
        ),
        soft_wrap=True,
    )
    if not answer.get("versions"):
        console.print("  no version")
        return
    table = _table("version", "since", "until", "promoted by", "approved by", "reason")
    for v in answer["versions"]:
        table.add_row(
            inert(v.get("number")),
            _when(v.get("valid_from")),
            _when(v.get("valid_to")),
            inert(v.get("promoted_by")),
            _joined(v.get("approved_by")),
            inert(v.get("reason")),
        )
    console.print(table)


def timeline_table(events: list[dict[str, Any]]) -> None:
    table = _table("position", "at", "who", "event", "version", "reason")
    for e in events:
        table.add_row(
            inert(e.get("position")),
            _when(e.get("at")),
            inert(e.get("actor")),
            inert(e.get("event")),
            inert(e.get("version")),
            inert(e.get("reason")),
        )
    console.print(table)


def verified_entries(report: dict[str, Any]) -> list[dict[str, Any]]:
    """A verification report's files, or its one reference as a file named by its URI."""
    if "reference" in report:
        ref = report["reference"] or {}
        return [
            {
                "path": ref.get("uri"),
                "sha256": ref.get("sha256"),
                "actual": ref.get("actual"),
                "ok": report.get("ok"),
                "status": report.get("status"),
            }
        ]
    return list(report.get("files") or [])


def entry_status(entry: dict[str, Any]) -> str:
    """ok, missing or altered. A server older than the status field said only ok, and
    no digest (actual) for bytes it did not find."""
    status = entry.get("status")
    if status in ("ok", "missing", "altered"):
        return str(status)
    if entry.get("ok"):
        return "ok"
    return "missing" if entry.get("actual") is None else "altered"


_STATUS_CELLS = {
    "ok": Text("ok"),
    "missing": Text("MISSING", style="yellow"),
    "altered": Text("ALTERED", style="red"),
}


def verify_table(report: dict[str, Any]) -> None:
    table = _table("file", "sha256", "stored bytes")
    for f in verified_entries(report):
        digest = f.get("sha256")
        table.add_row(
            inert(f.get("path")),
            inert(digest[:16] + "…" if isinstance(digest, str) else digest),
            _STATUS_CELLS[entry_status(f)],
        )
    console.print(table)


def whoami_detail(me: dict[str, Any]) -> None:
    table = _table("", "", header=False)
    for key in ("subject", "display_name", "kind", "groups", "via", "credential"):
        table.add_row(key, _joined(me.get(key)))
    console.print(table)
    grants = me.get("grants") or []
    if not grants:
        console.print("no grants: ask an owner for a role (registrum grants add)")
        return
    table = _table("principal", "role", "scope")
    for g in grants:
        table.add_row(inert(g.get("principal")), inert(g.get("role")), inert(g.get("scope")))
    console.print(table)


def _token_state(t: dict[str, Any]) -> Text:
    if t.get("revoked_at"):
        return Text.assemble("revoked by ", inert(t.get("revoked_by")))
    expires = t.get("expires_at")
    try:
        expired = datetime.fromisoformat(str(expires)) <= datetime.now(UTC)
    except (TypeError, ValueError):  # not a time we can read: not ours to judge
        return inert(None)
    return Text("expired") if expired else Text("active")


def tokens_table(tokens: list[dict[str, Any]]) -> None:
    table = _table("id", "subject", "name", "kind", "groups", "expires", "state", "description")
    for t in tokens:
        table.add_row(
            inert(t.get("id")),
            inert(t.get("subject")),
            inert(t.get("display_name")),
            inert(t.get("kind")),
            _joined(t.get("groups")),
            _when(t.get("expires_at")),
            _token_state(t),
            inert(t.get("description")),
        )
    console.print(table)


def grants_table(grants: list[dict[str, Any]]) -> None:
    table = _table("principal", "role", "scope", "granted by", "since", "until", "revoked by")
    for g in grants:
        table.add_row(
            inert(g.get("principal")),
            inert(g.get("role")),
            inert(g.get("scope")),
            inert(g.get("granted_by")),
            _when(g.get("valid_from")),
            _when(g.get("valid_to")),
            inert(g.get("revoked_by")),
        )
    console.print(table)


def size_text(size: Any) -> str:
    """Bytes for people: 1536 -> "1.5 KiB"."""
    if not isinstance(size, int):
        return "-"
    value, unit = float(size), "bytes"
    for bigger in ("KiB", "MiB", "GiB", "TiB"):
        if value < 1024:
            break
        value, unit = value / 1024, bigger
    return f"{size} bytes" if unit == "bytes" else f"{value:.1f} {unit}"


def gc_report(report: dict[str, Any]) -> None:
    """The objects garbage collection removed (or would), then one summary line."""
    applied = report.get("applied") is True
    found = report.get("removed" if applied else "would_remove") or []
    if found:
        table = _table("sha256", "size", "modified (UTC)")
        for o in found:
            table.add_row(
                inert(o.get("sha256")), inert(size_text(o.get("size"))), _when(o.get("modified"))
            )
        console.print(table)
    what = "removed" if applied else "would remove"
    count = len(found)
    say(
        f"{what} {count} object{'' if count == 1 else 's'} ({size_text(report.get('bytes'))}); ",
        "kept ",
        inert(report.get("referenced")),
        " referenced, ",
        inert(report.get("kept_young")),
        " younger than the grace period",
        "" if applied or not found else "; --apply removes them",
    )
