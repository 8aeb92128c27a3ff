"""What every follower of the event log shares (projector, relay): one active instance
per advisory lock, waking on the events table's NOTIFY with a slow poll as fallback, and
retrying from its stored position after any failure."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Awaitable, Callable

import asyncpg

from services.catalogue.source import EVENTS_TABLE

log = logging.getLogger(__name__)


async def hold_lock(conn: asyncpg.Connection, key: int, stop: asyncio.Event) -> bool:
    """Waits for the session advisory lock; False when stopped first."""
    while not stop.is_set():
        if await conn.fetchval("SELECT pg_try_advisory_lock($1)", key):
            return True
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=0.5)
    return False


class Waker:
    """Sleeps until new events are committed, stop is set, or the poll interval passes.

    A notification that arrives while the follower is busy is kept, so its next sleep
    returns at once: a follower never waits a poll interval for events already there.
    """

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def notify(self, *_: object) -> None:
        self._wake.set()

    async def listen(self, conn: asyncpg.Connection) -> None:
        await conn.add_listener(EVENTS_TABLE, self.notify)

    async def sleep(self, stop: asyncio.Event, seconds: float | None = None) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        timeout = self.poll_seconds if seconds is None else seconds
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        # Cleared after waking, before the follower reads: whatever commits from now on
        # notifies again.
        self._wake.clear()


async def keep_running(
    name: str, run_once: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Runs run_once until stop is set. A failure (lost connection, a broker away) is
    logged and run_once starts over after a growing pause: a dead follower would leave its
    readers silently stale."""
    pause = 0.5
    while not stop.is_set():
        try:
            await run_once(stop)
            return
        except Exception:
            log.exception("%s failed; retrying in %.1fs", name, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        pause = min(pause * 2, 5.0)
