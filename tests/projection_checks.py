"""Where the views stand against the event log, for the projector tests."""

from __future__ import annotations

import asyncio
import time
from typing import Any

import asyncpg

from services.catalogue import store
from services.catalogue.views.all import VIEWS
from services.eventlog import reading


async def positions(database_url: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """The log's head, and each of the projector's views' active (generation, position).
    Views other tests made in the same database (the ViewStore contract's) are left out:
    no projector moves them."""
    conn = await asyncpg.connect(database_url)
    try:
        head, active = await reading.head(conn), await store.active(conn)
    finally:
        await conn.close()
    return head, {view: at for view, at in active.items() if view in VIEWS}


def wait_until_caught_up(database_url: str, timeout: float = 60) -> None:
    """Waits until every view the projector keeps exists and has reached the log's head."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head, active = asyncio.run(positions(database_url))
        if active.keys() == VIEWS.keys() and all(pos >= head for _, pos in active.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"views did not reach the head within {timeout}s")


async def table_rows(conn: asyncpg.Connection, schema: str, table: str) -> list[Any]:
    return sorted(map(tuple, await conn.fetch(f"SELECT * FROM {schema}.{table}")), key=repr)


async def differences(database_url: str, old: dict[str, int], new: dict[str, int]) -> list[str]:
    conn = await asyncpg.connect(database_url)
    found = []
    try:
        for name in VIEWS:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1",
                store.schema_name(name, new[name]),
            )
            for row in tables:
                a = await table_rows(conn, store.quoted(name, old[name]), row["tablename"])
                b = await table_rows(conn, store.quoted(name, new[name]), row["tablename"])
                if a != b:
                    found.append(f"{name}.{row['tablename']}: {len(a)} vs {len(b)} rows")
    finally:
        await conn.close()
    return found
