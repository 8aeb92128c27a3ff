"""GET /health: the log's head, how far each view and relay lags behind it, who holds the
followers' leases, and whether anything needs an operator (then HTTP 503).

Not ok ("degraded"): a follower this registry expects (the projector; the Kafka relay
when Kafka is on; the webhooks follower while some webhook is active) whose lease nobody
holds, or a view or relay with events to handle
that has not moved for longer than the allowed lag. In `serve`, also while its
followers' process starts or restarts (status "starting" or "restarting").
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Request, Response

from services.catalogue import lag
from services.eventlog.lease import TABLE as LEASES
from services.webhooks import store as webhook_store
from services.webhooks.follower import NAME as WEBHOOKS_LEASE

router = APIRouter(tags=["operations"])


@router.get(
    "/health",
    response_model=dict[str, Any],
    responses={503: {"description": "Degraded, or the followers' process is (re)starting"}},
)
async def health(request: Request) -> Response:
    """The log's head, each view's and relay's lag (events and seconds), the followers'
    leases, and the problems found (503 unless there are none)."""
    state = request.app.state
    head = await asyncio.to_thread(state.registry.head_position)
    now = datetime.now(UTC)
    async with state.read_pool.acquire() as conn:
        views = await lag.views(conn, head)
        relays = await lag.relays(conn, head)
        expected = state.expected_leases
        if await webhook_store.any_active(conn):
            # Deliveries are owed: a registry with a webhook needs its deliverer running.
            expected = (*expected, WEBHOOKS_LEASE)
        leases = await _leases(conn, expected, now)
    problems = [
        f"{name}: nobody holds its lease" for name, lease in leases.items() if not lease["held"]
    ]
    # Relays this registry runs (a row left by one that no longer runs is shown, not judged).
    ours = {n.removeprefix("relay:") for n in expected if n.startswith("relay:")}
    ours |= {WEBHOOKS_LEASE} & set(expected)
    judged = [("view", views, set(views)), ("relay", relays, ours)]
    problems += [
        f"{kind} {name}: {behind['events']} events behind, not moved for {behind['seconds']} s"
        for kind, lags, names in judged
        for name, behind in lags.items()
        if name in names and behind["seconds"] > state.max_lag_seconds
    ]
    body: dict[str, Any] = {
        "status": "degraded" if problems else "ok",
        "position": head,
        "views": views,
        "relays": relays,
        "leases": leases,
        "problems": problems,
    }
    if state.followers is not None:
        body["followers"] = state.followers()
        if body["followers"] != "running":
            body["status"] = body["followers"]
    return Response(
        orjson.dumps(body),
        status_code=200 if body["status"] == "ok" else 503,
        media_type="application/json",
    )


async def _leases(
    conn: asyncpg.Connection, expected: tuple[str, ...], now: datetime
) -> dict[str, Any]:
    """Each expected lease, and any other one held now: held or not, by whom, its token."""
    rows = await conn.fetch(f"SELECT name, holder, token, expires_at FROM {LEASES}")
    found = {r["name"]: r for r in rows}
    leases = {}
    for name in sorted(set(expected) | set(found)):
        row = found.get(name)
        held = row is not None and row["expires_at"] > now
        if held or name in expected:
            leases[name] = {
                "held": held,
                "holder": row["holder"] if row is not None and held else None,
                "token": row["token"] if row is not None else None,
                "expected": name in expected,
            }
    return leases
