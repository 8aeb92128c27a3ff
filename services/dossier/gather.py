"""Gathering a version's dossier: the version and model from the write side, their events
from the log (stage history, gate evaluations, the last position touching the version),
the owners from the grants, a re-hash of the artefact now, and the proof: the first
signed checkpoint at or after the version's last event, with the whole chain verified
up to the log's head against the checkpoints and keys the log holds."""

from __future__ import annotations

import asyncio
import base64
from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.artifacts.port import ArtifactStore
from services.artifacts.verify import CannotVerify, verify_version
from services.audit import reading
from services.audit.signing import Checkpoint, public_pem
from services.audit.verify import Report, Verifier
from services.dossier.assemble import Evidence
from services.eventlog.reading import COLUMNS, EVENTS_TABLE, decode_row
from services.registry.application import Registry
from services.registry.domain.access import Target

STAGE_EVENTS = {"VersionPromoted", "VersionArchived", "VersionRegistered", "VersionDeleted"}


async def gather(
    registry: Registry, events_dsn: str, name: str, number: int, artifacts: ArtifactStore | None
) -> Evidence:
    version = await asyncio.to_thread(registry.get_version, name, number)
    model = await asyncio.to_thread(registry.get_model, name)
    conn = await asyncpg.connect(events_dsn)
    try:
        async with reading.snapshot(conn):
            events = await _events(conn, version["model_id"], version["id"], number)
            checkpoints, keys = await reading.recorded(conn)
            verifier = Verifier(checkpoints, keys)
            async for logged, linked in reading.spans(conn):
                verifier.feed_batch(logged, linked)
            report = verifier.finish()
    finally:
        await conn.close()
    last = max(e.position for e in events)
    return Evidence(
        version=version,
        model=model,
        stage_history=[_stage_change(e) for e in events if e.kind in STAGE_EVENTS],
        evaluations=[
            {"at": e.timestamp.isoformat(), "position": e.position, **e.data["evaluation"]}
            for e in events
            if e.kind == "VersionPromoted" and e.data.get("evaluation")
        ],
        owners_by_grant=_owners(registry, model),
        artifact_check=await asyncio.to_thread(_rehash, version, artifacts),
        proof=_proof(last, checkpoints, keys, report),
        generated_at=datetime.now(UTC),
    )


async def _events(conn: asyncpg.Connection, model_id: str, version_id: str, number: int) -> list:  # type: ignore[type-arg]
    """The version's own events, and its model's that are about it, in log order."""
    rows = await conn.fetch(
        f'SELECT {COLUMNS} FROM "{EVENTS_TABLE}" WHERE originator_id = ANY($1::uuid[])'
        " ORDER BY notification_id",
        [model_id, version_id],
    )
    events = [decode_row(r) for r in rows]
    return [e for e in events if e.originator_id == version_id or e.data.get("number") == number]


def _stage_change(e: Any) -> dict[str, Any]:
    d = e.data
    return {
        "event": e.kind,
        "at": e.timestamp.isoformat(),
        "by": d.get("actor"),
        "from": d.get("from_stage"),
        "to": d.get("to_stage")
        or {"VersionArchived": "archived", "VersionRegistered": "development"}.get(e.kind),
        "reason": d.get("reason"),
        "request_id": d.get("request_id"),
        "approved_by": [a["actor"] for a in d.get("approvals") or [] if not a.get("override")],
        "superseded_by": d.get("superseded_by"),
        "position": e.position,
    }


def _owners(registry: Registry, model: dict[str, Any]) -> list[str]:
    from uuid import UUID

    policy = registry.scope.current_access()
    if policy is None:
        return []
    target = Target(model_id=UUID(model["id"]), name=model["name"])
    return sorted(
        {
            g["principal"]
            for g in policy.all_grants()
            if g["role"] == "owner" and target.covered_by(g["scope_kind"], g["scope_value"])
        }
    )


def _rehash(version: dict[str, Any], artifacts: ArtifactStore | None) -> dict[str, Any]:
    checked_at = datetime.now(UTC).isoformat()
    try:
        return {"checked_at": checked_at, **verify_version(version, artifacts)}
    except CannotVerify as exc:
        return {"checked_at": checked_at, "ok": None, "why": str(exc)}


def _proof(
    last: int, checkpoints: list[Checkpoint], keys: dict[str, bytes], report: Report
) -> dict[str, Any]:
    covering = min(
        (c for c in checkpoints if c.position >= last), key=lambda c: c.position, default=None
    )
    verification = {
        "clean": report.clean,
        "events": report.events,
        "checkpoints": report.checkpoints,
        "head": report.head,
        "findings": [f.as_json() for f in report.findings[:50]],
    }
    if covering is None:
        return {
            "covers_position": last,
            "checkpoint": None,
            "verified": False,
            "status": f"no signed checkpoint covers position {last} yet; the next one will "
            "(REGISTRUM_AUDIT_CHECKPOINT_SECONDS)",
            "verification": verification,
        }
    key = keys.get(covering.key_id)
    findings_at = [f for f in report.findings if f.position == covering.position]
    verified = report.clean and key is not None and not findings_at
    return {
        "covers_position": last,
        "checkpoint": covering.as_json(),
        "public_key": base64.b64encode(key).decode() if key else None,
        "public_key_pem": public_pem(key) if key else None,
        "verified": verified,
        "status": "verified: the chain recomputes clean through the checkpoint and its "
        "signature holds"
        if verified
        else "NOT verified: see the findings",
        "verification": verification,
    }
