"""Where the relay is: the last log position the broker acknowledged, and what it knows of
the cluster it publishes to: how many messages it sent to registry.events there, and the
highest offset acknowledged on each of its partitions (offsets only grow in one cluster,
so a lower one after a write means a new cluster)."""

from __future__ import annotations

import contextlib
from dataclasses import dataclass, field
from typing import Protocol

import asyncpg
import orjson

from services.eventlog.lease import Lease, LeaseLost

_DDL = [
    """CREATE TABLE IF NOT EXISTS relay_positions (
        name text PRIMARY KEY, position bigint NOT NULL, events_end bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
    "ALTER TABLE relay_positions ADD COLUMN IF NOT EXISTS"
    " events_offsets jsonb NOT NULL DEFAULT '{}'",
]


@dataclass(frozen=True)
class Mark:
    position: int
    events_end: int  # messages sent to registry.events in this cluster
    offsets: dict[int, int] = field(default_factory=dict)  # partition: highest acked offset


class Marks(Protocol):
    """Where one relay keeps its mark (port; PostgresMarks below, a fake in tests/fakes/)."""

    async def load(self) -> Mark:
        """The mark last stored; Mark(0, 0) before the first."""
        ...

    async def store(self, mark: Mark) -> None:
        """Replaces the stored mark."""
        ...


class PostgresMarks:
    """The relay's row in relay_positions (created by `ensure`). With a fence (the relay's
    lease), a mark is stored only while the lease is held: LeaseLost if not."""

    def __init__(self, conn: asyncpg.Connection, name: str, fence: Lease | None = None) -> None:
        self.conn = conn
        self.name = name
        self.fence = fence

    async def load(self) -> Mark:
        return await load(self.conn, self.name)

    async def store(self, mark: Mark) -> None:
        await store(self.conn, self.name, mark, self.fence)


async def ensure(conn: asyncpg.Connection) -> None:
    # Two relays starting at once on a new database may both create the table.
    for statement in _DDL:
        with contextlib.suppress(asyncpg.UniqueViolationError):
            await conn.execute(statement)


async def load(conn: asyncpg.Connection, name: str) -> Mark:
    row = await conn.fetchrow(
        "SELECT position, events_end, events_offsets::text FROM relay_positions WHERE name = $1",
        name,
    )
    if row is None:
        return Mark(0, 0)
    offsets = {int(p): int(o) for p, o in orjson.loads(row[2]).items()}
    return Mark(row[0], row[1], offsets)


async def store(
    conn: asyncpg.Connection, name: str, mark: Mark, fence: Lease | None = None
) -> None:
    held = "" if fence is None else " WHERE " + fence.condition(5)
    stored = await conn.execute(
        "INSERT INTO relay_positions (name, position, events_end, events_offsets)"
        f" SELECT $1, $2, $3, $4::text::jsonb{held} ON CONFLICT (name) DO UPDATE"
        " SET position = $2, events_end = $3, events_offsets = $4::text::jsonb,"
        " updated_at = now()",
        name,
        mark.position,
        mark.events_end,
        orjson.dumps({str(p): o for p, o in mark.offsets.items()}).decode(),
        *(() if fence is None else fence.params()),
    )
    if stored != "INSERT 0 1" and fence is not None:
        await fence.check()
        raise LeaseLost(f"{fence.name}: the mark was not stored")


async def touch(conn: asyncpg.Connection, name: str, fresh_seconds: int = 5) -> None:
    """Marks the relay name as checked now when its last mark is fresh_seconds old (a
    relay with nothing to publish says so; see store.touch for the views)."""
    await conn.execute(
        "UPDATE relay_positions SET updated_at = now() WHERE name = $1"
        " AND updated_at < now() - make_interval(secs => $2)",
        name,
        fresh_seconds,
    )
