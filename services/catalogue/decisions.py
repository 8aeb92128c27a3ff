"""Reads for people who decide: the approval requests still open, the promotions
made lately, a model's stage history and a version's events. Callers keep to the
models the reader may read (the first three filter; the last two take a model id the
caller has already found readable)."""

from __future__ import annotations

from typing import Any

import asyncpg

from services.catalogue.queries import Schemas
from services.catalogue.rows import json_value
from services.catalogue.visibility import visible

MAX_OPEN = 500


async def open_requests(
    conn: asyncpg.Connection, s: Schemas, who: list[str], limit: int = MAX_OPEN
) -> list[dict[str, Any]]:
    """Pending approval requests on versions of models who may read, oldest first, each
    with its model's id and name (for the reader's permission check) and version."""
    rows = await _requests(conn, s, "r.status = 'pending'", who, limit)
    return [
        {
            "id": r["request_id"],
            "model": r["model"],
            "model_id": r["model_id"],
            "version": r["number"],
            "version_stage": r["version_stage"],
            "stage": r["stage"],
            "requested_by": r["requested_by"],
            "requested_at": r["requested_at"].isoformat(),
            "reason": r["reason"],
            "required_approvals": r["required"],
            "approvals": json_value(r["approvals"]),
        }
        for r in rows
    ]


async def approved_unpromoted(
    conn: asyncpg.Connection, s: Schemas, who: list[str], limit: int = MAX_OPEN
) -> list[dict[str, Any]]:
    """Approved stage requests whose version is not in that stage yet: ready to promote."""
    rows = await _requests(
        conn,
        s,
        "r.status = 'approved' AND v.stage <> r.stage"
        " AND r.stage IN ('staging', 'production') AND v.stage <> 'archived'",
        who,
        limit,
    )
    return [
        {
            "id": r["request_id"],
            "model": r["model"],
            "model_id": r["model_id"],
            "version": r["number"],
            "stage": r["stage"],
            "requested_by": r["requested_by"],
            "approved_by": [a["actor"] for a in json_value(r["approvals"])],
        }
        for r in rows
    ]


async def _requests(
    conn: asyncpg.Connection, s: Schemas, where: str, who: list[str], limit: int
) -> list[asyncpg.Record]:
    """Approval requests matching where (a condition of ours, never a caller's text) on
    live versions of models who may read, oldest first."""
    return await conn.fetch(
        f"SELECT r.*, v.number, v.stage AS version_stage, m.model_id, m.name AS model"
        f" FROM {s.catalogue}.approvals r"
        f" JOIN {s.catalogue}.versions v ON v.version_id = r.version_id"
        f" JOIN {s.catalogue}.models m ON m.model_id = v.model_id"
        f" WHERE {where} AND NOT v.deleted AND NOT m.deleted"
        f" AND {visible(s.access, 'm', '$1')}"
        " ORDER BY r.requested_at, r.request_id LIMIT $2",
        who,
        limit,
    )


async def recent_promotions(
    conn: asyncpg.Connection, s: Schemas, who: list[str], limit: int = 8
) -> list[dict[str, Any]]:
    """The latest moves into staging or production, newest first."""
    rows = await conn.fetch(
        f"SELECT h.number, h.stage, h.valid_from, h.changed_by, m.name AS model"
        f" FROM {s.history}.stage_history h JOIN {s.catalogue}.models m"
        " ON m.model_id = h.model_id"
        " WHERE h.stage IN ('staging', 'production') AND NOT m.deleted"
        f" AND {visible(s.access, 'm', '$1')}"
        " ORDER BY h.valid_from DESC, h.position DESC LIMIT $2",
        who,
        limit,
    )
    return [
        {
            "model": r["model"],
            "version": r["number"],
            "stage": r["stage"],
            "at": r["valid_from"].isoformat(),
            "by": r["changed_by"],
        }
        for r in rows
    ]


async def stage_changes(
    conn: asyncpg.Connection, s: Schemas, model_id: Any, limit: int = 200
) -> list[dict[str, Any]]:
    """A model's moves between stages, newest first: who moved which version, why, on
    whose approval and under which policy."""
    rows = await conn.fetch(
        f"SELECT number, stage, valid_from, valid_to, changed_by, reason, request_id,"
        f" approvals, policy FROM {s.history}.stage_history WHERE model_id = $1"
        " ORDER BY valid_from DESC, position DESC LIMIT $2",
        model_id,
        limit,
    )
    return [
        {
            "version": r["number"],
            "stage": r["stage"],
            "at": r["valid_from"].isoformat(),
            "until": r["valid_to"].isoformat() if r["valid_to"] else None,
            "by": r["changed_by"],
            "reason": r["reason"],
            "request_id": r["request_id"],
            "approved_by": [a["actor"] for a in json_value(r["approvals"]) or []],
            "policy": json_value(r["policy"]),
        }
        for r in rows
    ]


async def activity(
    conn: asyncpg.Connection, s: Schemas, model_id: Any, number: int, limit: int = 200
) -> list[dict[str, Any]]:
    """One version's events, newest first, from the timeline view."""
    rows = await conn.fetch(
        f"SELECT position, at, actor, kind, reason, details FROM {s.timeline}.activity"
        " WHERE model_id = $1 AND number = $2 ORDER BY position DESC LIMIT $3",
        model_id,
        number,
        limit,
    )
    return [
        {
            "position": r["position"],
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "event": r["kind"],
            "reason": r["reason"],
            "details": json_value(r["details"]),
        }
        for r in rows
    ]
