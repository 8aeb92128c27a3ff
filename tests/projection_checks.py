"""Where the views stand against the event log, for the projector tests."""

from __future__ import annotations

import asyncio
import time

import asyncpg

from services.catalogue import store
from services.eventlog import reading


async def positions(database_url: str) -> tuple[int, dict[str, tuple[int, int]]]:
    """The log's head, and each view's active (generation, position)."""
    conn = await asyncpg.connect(database_url)
    try:
        return await reading.head(conn), await store.active(conn)
    finally:
        await conn.close()


def wait_until_caught_up(database_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head, active = asyncio.run(positions(database_url))
        if all(position >= head for _, position in active.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"views did not reach the head within {timeout}s")
