"""Rebuilding views from position 0 while the current ones keep serving, then a swap."""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from services.catalogue import source, store
from services.catalogue.apply import apply_batch
from services.catalogue.views import View

log = logging.getLogger(__name__)


async def rebuild(
    read_dsn: str, events_dsn: str, views: Sequence[View], batch_size: int = 5000
) -> dict[str, int]:
    """Fills a new generation of each view from the whole log, swaps it in, and drops
    the generations before the previous one. Returns view -> events applied."""
    read = await asyncpg.connect(read_dsn)
    events = read if events_dsn == read_dsn else await asyncpg.connect(events_dsn)
    applied: dict[str, int] = {}
    try:
        await store.ensure(read, list(views))
        for view in views:
            generation = await store.new_generation(read, view)
            position = count = 0
            while True:
                batch = await _batch(events, position, batch_size)
                if not batch:
                    break
                position = await apply_batch(read, view, generation, position, batch)
                count += len(batch)
            # Swap under the meta row's lock, after a last catch-up: writes that landed
            # meanwhile are applied before the new generation goes live.
            async with read.transaction():
                previous = await read.fetchval(
                    f"SELECT generation FROM {store.META}.views WHERE view = $1 FOR UPDATE",
                    view.name,
                )
                while batch := await _batch(events, position, batch_size):
                    position = await apply_batch(read, view, generation, position, batch)
                    count += len(batch)
                await read.execute(
                    f"UPDATE {store.META}.views SET generation = $2 WHERE view = $1",
                    view.name,
                    generation,
                )
            await store.drop_old_generations(read, view.name, keep_from=previous)
            applied[view.name] = count
            log.info("rebuilt %s: generation %s, %s events", view.name, generation, count)
        return applied
    finally:
        await read.close()
        if events is not read:
            await events.close()


async def _batch(events: asyncpg.Connection, position: int, size: int) -> list:
    if not await source.table_exists(events):
        return []
    return await source.read_after(events, position, size)
