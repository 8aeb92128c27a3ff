"""Where the views stand against the event log, for the projector tests."""

from __future__ import annotations

import asyncio
import time

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
