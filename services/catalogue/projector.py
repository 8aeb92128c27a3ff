"""The projector: follows the event log and keeps every view up to date.

It wakes on LISTEN for the events table's channel (with a slow fallback poll), reads
events in batches after the lowest view position, and applies each batch to each view
in one transaction per view (apply.py). A session advisory lock lets one projector
run at a time; others wait and take over when it dies.
"""

from __future__ import annotations

import asyncio
import logging
import os
from collections.abc import Sequence

import asyncpg

from services.catalogue import source, store
from services.catalogue.apply import StalePosition, apply_batch
from services.catalogue.views import View
from services.catalogue.views.registry import VIEWS
from services.follower import Waker, hold_lock, keep_running

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
        self._waker = Waker(poll_seconds)

    async def _connect(self) -> tuple[asyncpg.Connection, asyncpg.Connection]:
        # The process id in application_name tells operators (and tests) who holds the lock.
        settings = {"application_name": f"registrum-projector:{os.getpid()}"}
        read = await asyncpg.connect(self.read_dsn, server_settings=settings)
        if self.events_dsn == self.read_dsn:
            return read, read
        return read, await asyncpg.connect(self.events_dsn, server_settings=settings)

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until stop is set; waits for the lock while another projector holds it.

        After a failure the projector starts over from the views' stored positions:
        nothing is skipped, and /health shows the lag growing meanwhile.
        """
        await keep_running("projector", self._run_once, stop)

    async def _run_once(self, stop: asyncio.Event) -> None:
        read, events = await self._connect()
        try:
            await store.ensure(read, self.views)
            if not await hold_lock(read, PROJECTOR_LOCK, stop):
                return
            log.info("projector active")
            self.active.set()
            await self._waker.listen(events)
            while not stop.is_set():
                if await self.step(read, events) < self.batch_size:
                    await self._waker.sleep(stop)
        finally:
            self.active.clear()
            await read.close()
            if events is not read:
                await events.close()

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
