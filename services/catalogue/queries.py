"""Reads behind the API: one model or version, aliases, as-of questions, timelines,
lineage, and waiting for the views to reach a position (read-your-writes)."""

from __future__ import annotations

import asyncio
import time
from datetime import datetime
from typing import Any

import asyncpg

from services.catalogue import store
from services.catalogue.rows import json_value as _json
from services.catalogue.rows import model_row, version_row
from services.catalogue.search import ALIASES, APPROVALS, MODEL_EXTRAS
from services.catalogue.visibility import visible
from services.registry.domain.errors import InvalidInput, NotFound


class ViewsLagging(Exception):
    """The views did not reach the asked position within the wait."""

    def __init__(self, wanted: int, reached: int, waited: float) -> None:
        super().__init__(f"views reached {reached}, not {wanted}, within {waited:.1f}s")
        self.wanted, self.reached, self.waited = wanted, reached, waited


class Schemas:
    """The active schema of each view, read once per request."""

    def __init__(self, active: dict[str, tuple[int, int]]) -> None:
        self.active = active

    def __getattr__(self, view: str) -> str:
        try:
            return store.quoted(view, self.active[view][0])
        except KeyError:
            raise AttributeError(view) from None

    @property
    def position(self) -> int:
        return self.reached()

    def reached(self, views: frozenset[str] | None = None) -> int:
        """How far every view (or every one of views) has come."""
        held = [p for v, (_, p) in self.active.items() if views is None or v in views]
        return min(held) if held else 0


async def schemas(conn: asyncpg.Connection) -> Schemas:
    return Schemas(await store.active(conn))


async def wait_for(
    conn: asyncpg.Connection,
    position: int,
    timeout: float,
    views: frozenset[str] | None = None,
) -> Schemas:
    """Returns once every view (or every one of views) has reached position, or raises
    ViewsLagging. Polls every 1-5 ms: a projector applies a write within milliseconds,
    and a longer pause would be most of a fresh read's time."""
    started = time.monotonic()
    pause = 0.001
    while True:
        current = await schemas(conn)
        if current.reached(views) >= position:
            return current
        waited = time.monotonic() - started
        if waited >= timeout:
            raise ViewsLagging(position, current.reached(views), waited)
        await asyncio.sleep(min(pause, timeout - waited))
        pause = min(pause * 2, 0.005)


async def model_id(conn: asyncpg.Connection, s: Schemas, name: str, who: list[str]) -> Any:
    """The id of the live model named name, if who may read it; else NotFound."""
    found = await conn.fetchval(
        f"SELECT m.model_id FROM {s.catalogue}.models m WHERE m.name = $1 AND NOT m.deleted"
        f" AND {visible(s.access, 'm', '$2')}",
        name,
        who,
    )
    if found is None:
        raise NotFound(f"no model named {name!r}", model=name)
    return found


async def get_model(
    conn: asyncpg.Connection, s: Schemas, name: str, who: list[str]
) -> dict[str, Any]:
    row = await conn.fetchrow(
        f"SELECT m.*, {MODEL_EXTRAS.format(c=s.catalogue)} FROM {s.catalogue}.models m"
        f" WHERE m.name = $1 AND NOT m.deleted AND {visible(s.access, 'm', '$2')}",
        name,
        who,
    )
    if row is None:
        raise NotFound(f"no model named {name!r}", model=name)
    return model_row(row)


_VERSION = (
    "SELECT v.*, m.name AS model_name, {aliases} AS aliases, {approvals} AS approval_requests"
    " FROM {c}.versions v JOIN {c}.models m ON m.model_id = v.model_id"
    " WHERE m.name = $1 AND NOT m.deleted AND NOT v.deleted AND v.number = {number}"
    " AND {visible}"
)


async def get_version(
    conn: asyncpg.Connection, s: Schemas, name: str, number: int, who: list[str]
) -> dict[str, Any]:
    if number < 1:
        raise InvalidInput("a version number is a positive integer", field="version")
    row = await conn.fetchrow(_version_sql(s, "$2"), name, number, who)
    if row is None:
        await model_id(conn, s, name, who)  # a clear "no model" before "no version"
        raise NotFound(f"model {name!r} has no version {number}", version=number)
    return version_row(row)


async def resolve_alias(
    conn: asyncpg.Connection, s: Schemas, name: str, alias: str, who: list[str]
) -> dict[str, Any]:
    number_sql = (
        f"(SELECT a.number FROM {s.catalogue}.aliases a"
        " WHERE a.model_id = m.model_id AND a.alias = $2)"
    )
    row = await conn.fetchrow(_version_sql(s, number_sql), name, alias, who)
    if row is None:
        await model_id(conn, s, name, who)
        raise NotFound(f"model {name!r} has no alias {alias!r}", alias=alias)
    return version_row(row)


def _version_sql(s: Schemas, number: str) -> str:
    c = s.catalogue
    return _VERSION.format(
        c=c,
        number=number,
        aliases=ALIASES.format(c=c),
        approvals=APPROVALS.format(c=c),
        visible=visible(s.access, "m", "$3"),
    )


async def stage_as_of(
    conn: asyncpg.Connection, s: Schemas, name: str, stage: str, at: datetime, who: list[str]
) -> dict[str, Any]:
    """Which versions held stage at time at, who moved them there and who approved."""
    mid = await model_id(conn, s, name, who)
    rows = await conn.fetch(
        f"SELECT number, stage, valid_from, valid_to, changed_by, reason, request_id,"
        f" approvals, policy FROM {s.history}.stage_history WHERE model_id = $1 AND stage = $2"
        " AND valid_from <= $3 AND (valid_to IS NULL OR valid_to > $3) ORDER BY number",
        mid,
        stage,
        at,
    )
    return {
        "model": name,
        "stage": stage,
        "as_of": at.isoformat(),
        "versions": [_held(r) for r in rows],
    }


async def alias_as_of(
    conn: asyncpg.Connection, s: Schemas, name: str, alias: str, at: datetime, who: list[str]
) -> dict[str, Any]:
    mid = await model_id(conn, s, name, who)
    row = await conn.fetchrow(
        f"SELECT number, valid_from, valid_to, assigned_by FROM {s.history}.alias_history"
        " WHERE model_id = $1 AND alias = $2 AND valid_from <= $3"
        " AND (valid_to IS NULL OR valid_to > $3)",
        mid,
        alias,
        at,
    )
    if row is None:
        raise NotFound(
            f"alias {alias!r} of {name!r} pointed nowhere at {at.isoformat()}",
            alias=alias,
            as_of=at.isoformat(),
        )
    return {
        "model": name,
        "alias": alias,
        "as_of": at.isoformat(),
        "number": row["number"],
        "valid_from": row["valid_from"].isoformat(),
        "valid_to": row["valid_to"].isoformat() if row["valid_to"] else None,
        "assigned_by": row["assigned_by"],
    }


def _held(r: asyncpg.Record) -> dict[str, Any]:
    approvals = _json(r["approvals"]) or []
    return {
        "number": r["number"],
        "valid_from": r["valid_from"].isoformat(),
        "valid_to": r["valid_to"].isoformat() if r["valid_to"] else None,
        "promoted_by": r["changed_by"],
        "reason": r["reason"],
        "request_id": r["request_id"],
        "approved_by": [a["actor"] for a in approvals if not a.get("override")],
        "approvals": approvals,
        # The gates it passed: the policy in force then (null before any was published).
        "policy": _json(r["policy"]),
    }


async def timeline(
    conn: asyncpg.Connection,
    s: Schemas,
    name: str,
    limit: int,
    before: int | None,
    who: list[str],
) -> dict[str, Any]:
    mid = await model_id(conn, s, name, who)
    rows = await conn.fetch(
        f"SELECT position, at, actor, kind, number, reason, command_id, details"
        f" FROM {s.timeline}.activity WHERE model_id = $1 AND position < $2"
        " ORDER BY position DESC LIMIT $3",
        mid,
        before or 2**62,
        limit,
    )
    items = [
        {
            "position": r["position"],
            "at": r["at"].isoformat(),
            "actor": r["actor"],
            "event": r["kind"],
            "version": r["number"],
            "reason": r["reason"],
            "command_id": r["command_id"],
            "details": _json(r["details"]),
        }
        for r in rows
    ]
    following = items[-1]["position"] if len(items) == limit else None
    return {"model": name, "events": items, "next_page_token": following}


async def lineage(
    conn: asyncpg.Connection,
    s: Schemas,
    kind: str,
    node_id: str,
    direction: str,
    depth: int,
    who: list[str],
) -> dict[str, Any]:
    """The graph around a node, without the versions of models who may not read (nor
    the edges that would reveal them)."""
    if direction not in ("upstream", "downstream"):
        raise InvalidInput("direction is upstream or downstream", field="direction")
    if not 1 <= depth <= 20:
        raise InvalidInput("depth is between 1 and 20", field="depth")
    near, far = ("dst", "src") if direction == "upstream" else ("src", "dst")
    rows = await conn.fetch(
        f"WITH RECURSIVE walk(src_kind, src_id, dst_kind, dst_id, relation, depth) AS ("
        f" SELECT src_kind, src_id, dst_kind, dst_id, relation, 1 FROM {s.lineage}.edges"
        f" WHERE {near}_kind = $1 AND {near}_id = $2"
        f" UNION SELECT e.src_kind, e.src_id, e.dst_kind, e.dst_id, e.relation, w.depth + 1"
        f" FROM {s.lineage}.edges e JOIN walk w ON e.{near}_kind = w.{far}_kind"
        f" AND e.{near}_id = w.{far}_id WHERE w.depth < $3)"
        " SELECT src_kind, src_id, dst_kind, dst_id, relation, min(depth) AS depth FROM walk"
        " GROUP BY 1, 2, 3, 4, 5 ORDER BY depth, src_kind, src_id, dst_id",
        kind,
        node_id,
        depth,
    )
    labels, hidden = await _version_labels(conn, s, rows, who)
    if kind == "model_version" and node_id in hidden:
        rows = []
    rows = _short_of(rows, (kind, node_id), near, far, hidden, depth)
    edges = [
        {
            "from": {
                "kind": r["src_kind"],
                "id": r["src_id"],
                **labels.get((r["src_kind"], r["src_id"]), {}),
            },
            "to": {
                "kind": r["dst_kind"],
                "id": r["dst_id"],
                **labels.get((r["dst_kind"], r["dst_id"]), {}),
            },
            "relation": r["relation"],
            "depth": at,
        }
        for r, at in rows
    ]
    return {
        "start": {"kind": kind, "id": node_id},
        "direction": direction,
        "depth": depth,
        "edges": edges,
    }


def _short_of(
    rows: list[asyncpg.Record],
    start: tuple[str, str],
    near: str,
    far: str,
    hidden: set[str],
    limit: int,
) -> list[tuple[asyncpg.Record, int]]:
    """The rows reachable from start without passing through a hidden version, each with
    its depth along such paths (the fetched order kept, sorted again by that depth).

    The recursive query walks through every version, so dropping only the edges that touch
    a hidden one would still return those beyond it: what an unreadable version was built
    from, or what was built from it. Here a hidden version is a dead end (the edge into it
    is dropped too), and depths are counted again, as the shortest way may have run through
    it (a way around it longer than limit, fetched through the shorter one, is cut at limit).
    """

    def shown(node: tuple[str, str]) -> bool:
        return not (node[0] == "model_version" and node[1] in hidden)

    leaving: dict[tuple[str, str], list[int]] = {}
    for i, r in enumerate(rows):
        leaving.setdefault((r[f"{near}_kind"], r[f"{near}_id"]), []).append(i)
    # Breadth first, each node expanded once: an edge's depth is the first it is met at.
    depths: dict[int, int] = {}
    frontier, seen, depth = [start], {start}, 1
    while frontier and depth <= limit:
        following = []
        for node in frontier:
            for i in leaving.get(node, []):
                end = (rows[i][f"{far}_kind"], rows[i][f"{far}_id"])
                if not shown(end):
                    continue
                depths[i] = depth
                if end not in seen:
                    seen.add(end)
                    following.append(end)
        frontier, depth = following, depth + 1
    kept = [(r, depths[i]) for i, r in enumerate(rows) if i in depths]
    return sorted(kept, key=lambda kept_row: kept_row[1])


async def _version_labels(
    conn: asyncpg.Connection, s: Schemas, rows: list[asyncpg.Record], who: list[str]
) -> tuple[dict[tuple[str, str], dict[str, Any]], set[str]]:
    """Labels (model, number) of the versions in rows who may read, and the ids of those
    they may not."""
    ids = {
        r[f"{end}_id"]
        for r in rows
        for end in ("src", "dst")
        if r[f"{end}_kind"] == "model_version"
    }
    if not ids:
        return {}, set()
    found = await conn.fetch(
        f"SELECT v.version_id::text AS id, m.name, v.number,"
        f" {visible(s.access, 'm', '$2')} AS readable FROM {s.catalogue}.versions v"
        f" JOIN {s.catalogue}.models m ON m.model_id = v.model_id"
        " WHERE v.version_id::text = ANY($1::text[])",
        list(ids),
        who,
    )
    labels = {
        ("model_version", r["id"]): {"model": r["name"], "version": r["number"]}
        for r in found
        if r["readable"]
    }
    return labels, {r["id"] for r in found if not r["readable"]}


async def digest_access(
    conn: asyncpg.Connection, s: Schemas, digest: str, who: list[str]
) -> tuple[bool, bool]:
    """(whether any version refers to the object, whether who may read one that does)."""
    c = s.catalogue
    row = await conn.fetchrow(
        f"SELECT count(*) > 0 AS referenced, coalesce(bool_or({visible(s.access, 'm', '$2')}),"
        f" false) AS readable FROM {c}.versions v JOIN {c}.models m ON m.model_id = v.model_id"
        " WHERE v.sha256 = $1 OR v.manifest @> jsonb_build_array(jsonb_build_object("
        "'sha256', $1::text))",
        digest,
        who,
    )
    return bool(row["referenced"]), bool(row["readable"])
