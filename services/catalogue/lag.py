"""How far the views and the relays lag behind the log, as /health reports it and as a
follower's /metrics measures it: events not yet handled, and seconds since the follower
last moved (or last found nothing to do) while events wait; 0 when caught up. Their
tables are the schema migrations' (version 1), which every process checks at start."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import asyncpg

from services.catalogue import store

_VIEWS = (
    f"SELECT v.view AS name, p.position, p.updated_at FROM {store.META}.views v"
    f" JOIN {store.META}.positions p USING (view, generation)"
)
_RELAYS = "SELECT name, position, updated_at FROM relay_positions"


async def views(conn: asyncpg.Connection, head: int) -> dict[str, dict[str, Any]]:
    """view -> its lag (none before a projector made the views)."""
    return _lags(await conn.fetch(_VIEWS), head)


async def relays(conn: asyncpg.Connection, head: int) -> dict[str, dict[str, Any]]:
    """relay name -> its lag (none before a relay ran)."""
    return _lags(await conn.fetch(_RELAYS), head)


def _lags(rows: list[asyncpg.Record], head: int) -> dict[str, dict[str, Any]]:
    now = datetime.now(UTC)
    return {
        r["name"]: {
            "position": r["position"],
            "events": max(head - r["position"], 0),
            "seconds": round((now - r["updated_at"]).total_seconds(), 3)
            if head > r["position"]
            else 0.0,
        }
        for r in rows
    }
