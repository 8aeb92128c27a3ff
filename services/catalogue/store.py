"""Where the views live in the read database, and their positions.

Each view has generations: its tables live in schema `catalogue_<view>_g<N>`, and
catalogue_meta.views names the active one. A rebuild fills generation N+1 from
position 0 while queries keep reading N, then swaps the pointer in one transaction.
"""

from __future__ import annotations

from collections.abc import Sequence
from contextlib import AbstractAsyncContextManager
from typing import Any

import asyncpg

from services.catalogue.views import View
from services.eventlog.lease import Lease

META = "catalogue_meta"
_SETUP_LOCK = 0x5245_4749  # "REGI": serialises schema setup between processes


def schema_name(view: str, generation: int) -> str:
    return f"catalogue_{view}_g{generation}"


def quoted(view: str, generation: int) -> str:
    return '"' + schema_name(view, generation) + '"'


async def ensure(conn: asyncpg.Connection, views: list[View]) -> None:
    """Creates the meta tables and generation 1 of every view that has none."""
    async with conn.transaction():
        await _ensure_meta(conn)
        for view in views:
            exists = await conn.fetchval(f"SELECT 1 FROM {META}.views WHERE view = $1", view.name)
            if not exists:
                await _create_generation(conn, view, 1)
                await conn.execute(
                    f"INSERT INTO {META}.views (view, generation) VALUES ($1, 1)", view.name
                )
            elif view.upgrades:
                generations = await conn.fetch(
                    f"SELECT generation FROM {META}.positions WHERE view = $1", view.name
                )
                for (generation,) in generations:
                    for upgrade in view.upgrades:
                        await conn.execute(upgrade.format(s=quoted(view.name, generation)))


async def _ensure_meta(conn: asyncpg.Connection) -> None:
    await conn.execute("SELECT pg_advisory_xact_lock($1)", _SETUP_LOCK)
    await conn.execute(f"CREATE SCHEMA IF NOT EXISTS {META}")
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META}.views ("
        " view text PRIMARY KEY, generation integer NOT NULL)"
    )
    await conn.execute(
        f"CREATE TABLE IF NOT EXISTS {META}.positions ("
        " view text NOT NULL, generation integer NOT NULL, position bigint NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (view, generation))"
    )


async def _create_generation(conn: asyncpg.Connection, view: View, generation: int) -> None:
    schema = quoted(view.name, generation)
    await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
    await conn.execute(f"CREATE SCHEMA {schema}")
    for ddl in view.ddl:
        await conn.execute(ddl.format(s=schema))
    await conn.execute(
        f"INSERT INTO {META}.positions (view, generation, position) VALUES ($1, $2, 0)"
        " ON CONFLICT (view, generation) DO UPDATE SET position = 0",
        view.name,
        generation,
    )


async def new_generation(conn: asyncpg.Connection, view: View) -> int:
    """An empty, inactive generation after every existing one."""
    async with conn.transaction():
        await _ensure_meta(conn)
        latest = await conn.fetchval(
            f"SELECT max(generation) FROM {META}.positions WHERE view = $1", view.name
        )
        generation = int(latest or 0) + 1
        await _create_generation(conn, view, generation)
        return generation


async def active(conn: asyncpg.Connection) -> dict[str, tuple[int, int]]:
    """view -> (active generation, its position)."""
    rows = await conn.fetch(
        f"SELECT v.view, v.generation, p.position FROM {META}.views v"
        f" JOIN {META}.positions p ON p.view = v.view AND p.generation = v.generation"
    )
    return {r["view"]: (r["generation"], r["position"]) for r in rows}


# How stale a caught-up view's updated_at may grow before the projector touches it.
FRESH_SECONDS = 5


async def touch(conn: asyncpg.Connection) -> None:
    """Marks the active views as checked now, when the last mark is FRESH_SECONDS old: a
    projector that finds nothing new says so, and /health can then tell "waiting for
    events" from "stuck" by the age of updated_at (a no-op write otherwise)."""
    await conn.execute(
        f"UPDATE {META}.positions p SET updated_at = now() FROM {META}.views v"
        " WHERE p.view = v.view AND p.generation = v.generation"
        f" AND p.updated_at < now() - make_interval(secs => {FRESH_SECONDS})"
    )


class PostgresViewStore:
    """The ViewStore port on one asyncpg connection to the read database. With a fence (the
    projector's lease), a position moves only while the lease is held: LeaseLost if not."""

    def __init__(self, conn: asyncpg.Connection, fence: Lease | None = None) -> None:
        self.conn = conn
        self.fence = fence

    async def active(self) -> dict[str, tuple[int, int]]:
        return await active(self.conn)

    def transaction(self) -> AbstractAsyncContextManager[Any]:
        return self.conn.transaction()  # type: ignore[no-any-return]

    async def move_position(self, view: str, generation: int, expected: int, new: int) -> bool:
        sql = (
            f"UPDATE {META}.positions SET position = $4, updated_at = now()"
            " WHERE view = $1 AND generation = $2 AND position = $3"
        )
        fenced = () if self.fence is None else self.fence.params()
        if self.fence is not None:
            sql += " AND " + self.fence.condition(5)
        moved = await self.conn.execute(sql, view, generation, expected, new, *fenced)
        if moved == "UPDATE 1":
            return True
        if self.fence is not None:
            await self.fence.check()
        return False

    async def run(self, sql: str, rows: Sequence[Sequence[Any]]) -> None:
        if len(rows) == 1:
            await self.conn.execute(sql, *rows[0])
        else:
            await self.conn.executemany(sql, rows)


async def drop_generation(conn: asyncpg.Connection, view: str, generation: int) -> None:
    active = await conn.fetchval(f"SELECT generation FROM {META}.views WHERE view = $1", view)
    if active == generation:
        raise ValueError(f"generation {generation} of {view} is active")
    await conn.execute(f"DROP SCHEMA IF EXISTS {quoted(view, generation)} CASCADE")
    await conn.execute(
        f"DELETE FROM {META}.positions WHERE view = $1 AND generation = $2", view, generation
    )


async def drop_old_generations(conn: asyncpg.Connection, view: str, keep_from: int) -> None:
    rows = await conn.fetch(
        f"SELECT generation FROM {META}.positions WHERE view = $1 AND generation < $2",
        view,
        keep_from,
    )
    for row in rows:
        await drop_generation(conn, view, row["generation"])
