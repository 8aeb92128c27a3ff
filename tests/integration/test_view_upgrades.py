"""Views made by an older release gain the columns a newer one adds, at start, without a
rebuild (only columns no earlier event could have filled are added this way)."""

from __future__ import annotations

import asyncio

import asyncpg

from services.catalogue import queries, store
from services.catalogue.views.all import VIEWS
from tests.services import fresh_database


async def columns(url: str, view: str, table: str) -> set[str]:
    conn = await asyncpg.connect(url)
    try:
        schema = getattr(await queries.schemas(conn), view).strip('"')
        rows = await conn.fetch(
            "SELECT column_name FROM information_schema.columns"
            " WHERE table_schema = $1 AND table_name = $2",
            schema,
            table,
        )
        return {r[0] for r in rows}
    finally:
        await conn.close()


async def ensure(url: str, drop: list[tuple[str, str, str]] | None = None) -> None:
    conn = await asyncpg.connect(url)
    try:
        await store.ensure(conn, list(VIEWS.values()))
        for view, table, column in drop or []:
            schema = getattr(await queries.schemas(conn), view)
            await conn.execute(f"ALTER TABLE {schema}.{table} DROP COLUMN {column}")
    finally:
        await conn.close()


def test_a_generation_without_the_new_columns_gains_them_at_start(
    database_url: str, unique: str
) -> None:
    url = fresh_database(database_url, f"upgrade_{unique}")
    # As an older release left them: no gate columns.
    old = [("catalogue", "versions", "gates"), ("history", "stage_history", "policy")]
    asyncio.run(ensure(url, drop=old))
    assert "gates" not in asyncio.run(columns(url, "catalogue", "versions"))
    asyncio.run(ensure(url))
    assert "gates" in asyncio.run(columns(url, "catalogue", "versions"))
    assert "policy" in asyncio.run(columns(url, "history", "stage_history"))
