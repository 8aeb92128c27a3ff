"""Reading the event store's notification log with asyncpg."""

from __future__ import annotations

import asyncpg

from services.catalogue.events import StoredEvent, decode

EVENTS_TABLE = "registry_events"  # the Registry application's table, also its NOTIFY channel


async def read_after(
    conn: asyncpg.Connection, position: int, limit: int, table: str = EVENTS_TABLE
) -> list[StoredEvent]:
    """Events after position, in log order; none while nothing was ever written (the
    table appears with the first write)."""
    # Notification ids have gaps (failed inserts use up sequence values); the writers'
    # table lock guarantees ids commit in order, so reading "> position" never skips.
    try:
        rows = await conn.fetch(
            f"SELECT notification_id, originator_id, originator_version, topic, state"
            f' FROM "{table}" WHERE notification_id > $1 ORDER BY notification_id LIMIT $2',
            position,
            limit,
        )
    except asyncpg.UndefinedTableError:
        return []
    return [decode(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def head(conn: asyncpg.Connection, table: str = EVENTS_TABLE) -> int:
    try:
        value = await conn.fetchval(f'SELECT max(notification_id) FROM "{table}"')
    except asyncpg.UndefinedTableError:
        return 0
    return int(value or 0)
