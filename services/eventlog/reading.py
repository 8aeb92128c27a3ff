"""Reading the event store's notification log with asyncpg: the events after a position,
and the log's head."""

from __future__ import annotations

import asyncpg

from services.eventlog.record import StoredEvent, decode

EVENTS_TABLE = "registry_events"  # the Registry application's table, also its NOTIFY channel

COLUMNS = "notification_id, originator_id, originator_version, topic, state"


def decode_row(row: asyncpg.Record) -> StoredEvent:
    """The record of a row selected with COLUMNS."""
    return decode(row[0], row[1], row[2], row[3], row[4])


async def read_after(
    conn: asyncpg.Connection, position: int, limit: int, table: str = EVENTS_TABLE
) -> list[StoredEvent]:
    """Events after position, in log order; none while nothing was ever written (the
    table appears with the first write)."""
    # Notification ids have gaps (failed inserts use up sequence values); the writers'
    # table lock guarantees ids commit in order, so reading "> position" never skips.
    try:
        rows = await conn.fetch(
            f'SELECT {COLUMNS} FROM "{table}" WHERE notification_id > $1'
            " ORDER BY notification_id LIMIT $2",
            position,
            limit,
        )
    except asyncpg.UndefinedTableError:
        return []
    return [decode_row(r) for r in rows]


async def head(conn: asyncpg.Connection, table: str = EVENTS_TABLE) -> int:
    """The position of the log's last event; 0 while it is empty."""
    try:
        value = await conn.fetchval(f'SELECT max(notification_id) FROM "{table}"')
    except asyncpg.UndefinedTableError:
        return 0
    return int(value or 0)
