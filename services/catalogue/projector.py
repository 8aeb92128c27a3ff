"""The projector: follows the event log and keeps every view up to date.

It wakes on LISTEN for the events table's channel (with a slow fallback poll), reads
events in batches after the lowest view position, and applies each batch to each view
in one transaction per view (apply.py). A lease (services/eventlog/lease.py) lets one
projector run at a time; others stand by and take over when it dies or hangs.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from services.catalogue import store
from services.catalogue.apply import StalePosition, apply_batch
from services.catalogue.port import ViewStore
from services.catalogue.store import PostgresViewStore
from services.catalogue.views import View
from services.catalogue.views.all import VIEWS
from services.eventlog import lease, reading
from services.eventlog.follower import Follower, close
from services.eventlog.port import EventLog
from services.eventlog.postgres import PostgresEventLog

log = logging.getLogger(__name__)


async def project_batch(
    events: EventLog, target: ViewStore, views: Sequence[View], batch_size: int
) -> int:
    """Reads one batch after the lowest of the views' positions and applies it to each
    view in a transaction of its own; returns how many events were read. A view whose
    position moved meanwhile (another instance applied the batch) is left as it is."""
    positions = await target.active()
    lowest = min(positions[v.name][1] for v in views)
    batch = await events.read_after(lowest, batch_size)
    for view in views:
        generation, position = positions[view.name]
        try:
            await apply_batch(target, view, generation, position, batch)
        except StalePosition:
            log.warning("%s moved under us; re-reading its position", view.name)
    return len(batch)


class Projector(Follower):
    """After a failure the projector starts over from the views' stored positions:
    nothing is skipped, and /health shows the lag growing meanwhile."""

    role = "projector"
    step_gap_seconds = 0.01

    def __init__(
        self,
        read_dsn: str,
        events_dsn: str | None = None,
        views: Sequence[View] | None = None,
        *,
        batch_size: int = 2000,
        poll_seconds: float = 1.0,
        lease_seconds: float = lease.DEFAULT_SECONDS,
    ) -> None:
        super().__init__(read_dsn, events_dsn, batch_size, poll_seconds, lease_seconds)
        self.views = list(views or VIEWS.values())

    async def prepare(self, read: asyncpg.Connection) -> None:
        await store.ensure(read, self.views)

    async def step(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Applies one batch to every view; returns how many events were read."""
        read_count = await project_batch(
            PostgresEventLog(events),
            PostgresViewStore(read, self.fence),
            self.views,
            self.batch_size,
        )
        if read_count == 0:
            await store.touch(read)
        return read_count

    async def catch_up(self) -> int:
        """Runs batches until every view reaches the head; returns the head (for tools)."""
        read, events = await self.connect()
        try:
            await self.prepare(read)
            while await self.step(read, events) == self.batch_size:
                pass
            return await reading.head(events)
        finally:
            await close(read, events)
