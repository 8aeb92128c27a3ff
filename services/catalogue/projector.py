"""The projector: follows the event log and keeps every view up to date.

It wakes on LISTEN for the events table's channel (with a slow fallback poll), reads
events in batches after the lowest view position, and applies each batch to each view
in one transaction per view (apply.py). A session advisory lock lets one projector
run at a time; others wait and take over when it dies.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Sequence

import asyncpg

from services.catalogue import source, store
from services.catalogue.apply import StalePosition, apply_batch
from services.catalogue.views import View
from services.catalogue.views.registry import VIEWS

log = logging.getLogger(__name__)

PROJECTOR_LOCK = 0x5245_4750  # "REGP"


class Projector:
    def __init__(
        self,
        read_dsn: str,
        events_dsn: str | None = None,
        views: Sequence[View] | None = None,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 1.0,
    ) -> None:
        self.read_dsn = read_dsn
        self.events_dsn = events_dsn or read_dsn
        self.views = list(views or VIEWS.values())
        self.batch_size = batch_size
        self.poll_seconds = poll_seconds
        self.active = asyncio.Event()  # set while this instance holds the lock
        self._wake = asyncio.Event()

    async def _connect(self) -> tuple[asyncpg.Connection, asyncpg.Connection]:
        # The process id in application_name tells operators (and tests) who holds the lock.
        settings = {"application_name": f"registrum-projector:{os.getpid()}"}
        read = await asyncpg.connect(self.read_dsn, server_settings=settings)
        if self.events_dsn == self.read_dsn:
            return read, read
        return read, await asyncpg.connect(self.events_dsn, server_settings=settings)

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until stop is set; waits for the lock while another projector holds it.

        A failure (lost connection, a statement the database refuses) is logged and the
        projector starts over from the views' stored positions after a pause: nothing is
        skipped, and /health shows the lag growing meanwhile.
        """
        pause = 0.5
        while not stop.is_set():
            try:
                await self._run_once(stop)
                return
            except Exception:  # a dead projector would leave the views silently stale
                log.exception("projector failed; retrying in %.1fs", pause)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=pause)
            pause = min(pause * 2, 30.0)

    async def _run_once(self, stop: asyncio.Event) -> None:
        read, events = await self._connect()
        try:
            await store.ensure(read, self.views)
            if not await self._lock(read, stop):
                return
            self.active.set()
            await self._listen(events)
            while not stop.is_set():
                if await self.step(read, events) < self.batch_size:
                    await self._sleep(stop)
        finally:
            self.active.clear()
            await read.close()
            if events is not read:
                await events.close()

    async def _lock(self, conn: asyncpg.Connection, stop: asyncio.Event) -> bool:
        while not stop.is_set():
            if await conn.fetchval("SELECT pg_try_advisory_lock($1)", PROJECTOR_LOCK):
                log.info("projector active")
                return True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=0.5)
        return False

    async def _listen(self, conn: asyncpg.Connection) -> None:
        def wake(*_: object) -> None:
            self._wake.set()

        # The events table may not exist yet when nothing was ever written.
        await conn.add_listener(source.EVENTS_TABLE, wake)

    async def _sleep(self, stop: asyncio.Event) -> None:
        self._wake.clear()
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        await asyncio.wait(waiters, timeout=self.poll_seconds, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()

    async def step(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Applies one batch to every view; returns how many events were read."""
        positions = await store.active(read)
        lowest = min(positions[v.name][1] for v in self.views)
        batch = await source.read_after(events, lowest, self.batch_size)
        for view in self.views:
            generation, position = positions[view.name]
            try:
                await apply_batch(read, view, generation, position, batch)
            except StalePosition:
                log.warning("%s moved under us; re-reading its position", view.name)
        return len(batch)

    async def catch_up(self) -> int:
        """Runs batches until every view reaches the head; returns the head (for tools)."""
        read, events = await self._connect()
        try:
            await store.ensure(read, self.views)
            while await self.step(read, events) == self.batch_size:
                pass
            return await source.head(events)
        finally:
            await read.close()
            if events is not read:
                await events.close()
