"""Where the relay is: the last log position the broker acknowledged, and how many
messages registry.events held then (the broker's own count tells an emptied cluster)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass

import asyncpg

_DDL = """CREATE TABLE IF NOT EXISTS relay_positions (
    name text PRIMARY KEY, position bigint NOT NULL, events_end bigint NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now())"""


@dataclass(frozen=True)
class Mark:
    position: int
    events_end: int


async def ensure(conn: asyncpg.Connection) -> None:
    # Two relays starting at once on a new database may both create the table.
    with contextlib.suppress(asyncpg.UniqueViolationError):
        await conn.execute(_DDL)


async def load(conn: asyncpg.Connection, name: str) -> Mark:
    row = await conn.fetchrow(
        "SELECT position, events_end FROM relay_positions WHERE name = $1", name
    )
    return Mark(row[0], row[1]) if row else Mark(0, 0)


async def store(conn: asyncpg.Connection, name: str, mark: Mark) -> None:
    await conn.execute(
        "INSERT INTO relay_positions (name, position, events_end) VALUES ($1, $2, $3)"
        " ON CONFLICT (name) DO UPDATE SET position = $2, events_end = $3, updated_at = now()",
        name,
        mark.position,
        mark.events_end,
    )
