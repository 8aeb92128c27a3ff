"""Rebuilding views from position 0 while the current ones keep serving, then a swap.

The log is read and decoded once per batch; each view applies it on its own connection,
concurrently, into a fresh generation. When the new generations have caught up, each is
swapped in under its meta row's lock after a last catch-up.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Sequence

import asyncpg

from services.catalogue import store
from services.catalogue.apply import apply_batch
from services.catalogue.store import PostgresViewStore
from services.catalogue.views import View
from services.eventlog import reading

log = logging.getLogger(__name__)


async def rebuild(
    read_dsn: str, events_dsn: str, views: Sequence[View], batch_size: int = 5000
) -> dict[str, int]:
    """Fills a new generation of each view from the whole log, swaps it in, and drops
    the generations before the previous one. Returns view -> events applied."""
    events = await asyncpg.connect(events_dsn)
    writers = [await asyncpg.connect(read_dsn) for _ in views]
    try:
        await store.ensure(writers[0], list(views))
        generations = [await store.new_generation(writers[0], v) for v in views]
        positions = [0] * len(views)
        count = 0
        while batch := await reading.read_after(events, min(positions), batch_size):
            positions = list(
                await asyncio.gather(
                    *(
                        apply_batch(PostgresViewStore(conn), view, generation, position, batch)
                        for conn, view, generation, position in zip(
                            writers, views, generations, positions, strict=True
                        )
                    )
                )
            )
            count += len(batch)
        for conn, view, generation, position in zip(
            writers, views, generations, positions, strict=True
        ):
            await _swap(conn, events, view, generation, position, batch_size)
            log.info("rebuilt %s: generation %s", view.name, generation)
        return {view.name: count for view in views}
    finally:
        await events.close()
        for conn in writers:
            await conn.close()


async def _swap(
    conn: asyncpg.Connection,
    events: asyncpg.Connection,
    view: View,
    generation: int,
    position: int,
    batch_size: int,
) -> None:
    # Under the meta row's lock, after a last catch-up: writes that landed meanwhile are
    # applied before the new generation goes live.
    target = PostgresViewStore(conn)
    async with conn.transaction():
        previous = await conn.fetchval(
            f"SELECT generation FROM {store.META}.views WHERE view = $1 FOR UPDATE", view.name
        )
        while batch := await reading.read_after(events, position, batch_size):
            position = await apply_batch(target, view, generation, position, batch)
        await conn.execute(
            f"UPDATE {store.META}.views SET generation = $2 WHERE view = $1",
            view.name,
            generation,
        )
    await store.drop_old_generations(conn, view.name, keep_from=previous)
