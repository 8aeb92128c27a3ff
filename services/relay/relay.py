"""The relay: follows the event log and publishes it to Kafka (the events table is the
outbox; nothing is published from a request).

Each step reads a batch after the stored position, publishes every message, waits until
the broker acknowledged all of them, and only then stores the new position: a relay that
dies in between publishes the batch again on restart (at-least-once; consumers
deduplicate by ce_id). Before each batch it asks the broker how many messages
registry.events holds; none, after it had published some, means a new or emptied cluster
(an embedded broker restarted, the topic deleted), and the relay republishes the log from
the start.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import asyncpg

from services.bus.topics import EVENTS
from services.eventlog import lease
from services.eventlog.follower import Follower
from services.eventlog.port import EventLog
from services.eventlog.postgres import PostgresEventLog
from services.eventlog.record import StoredEvent
from services.relay import positions
from services.relay.facts import StoreFacts
from services.relay.port import Sink
from services.relay.positions import Mark, Marks, PostgresMarks
from services.relay.translate import Outgoing, translate

log = logging.getLogger(__name__)


class LogPublisher:
    """One batch at a time from the event log to the sink, over ports only (the Relay
    below runs it on PostgreSQL; unit tests run it on fakes)."""

    def __init__(self, sink: Sink, *, store_id: str, batch_size: int) -> None:
        self.sink = sink
        self.store_id = store_id
        self.batch_size = batch_size
        self.published = 0  # messages acknowledged since start, for tools and benches
        self._facts = StoreFacts()

    def forget(self) -> None:
        """Drops what it learnt from the log (another instance may have moved on)."""
        self._facts.clear()

    async def step(self, events: EventLog, marks: Marks) -> int:
        """Publishes one batch after the stored mark; returns how many events it read."""
        mark = await self._check_cluster(marks, await marks.load())
        batch = await events.read_after(mark.position, self.batch_size)
        if not batch:
            return 0
        try:
            outgoing = await self._messages(events, batch)
            acks = await self.sink.publish(outgoing)
        except BaseException:
            # The cache has seen this batch (renames included); the retry must not.
            self._facts.clear()
            raise
        self.published += len(outgoing)
        sent = sum(1 for o in outgoing if o.topic == EVENTS)
        acked = {partition: high for partition, (_, high) in acks.items()}
        if any(low <= mark.offsets.get(p, -1) for p, (low, _) in acks.items()):
            # The broker was replaced while this batch was in flight (the producer retried
            # it into the new one): offsets went back. Republish what the new one lacks.
            await self._start_over(marks, "offsets on registry.events went back", sent, acked)
            return len(batch)
        offsets = {**mark.offsets, **acked}
        await marks.store(Mark(batch[-1].position, mark.events_end + sent, offsets))
        return len(batch)

    async def _check_cluster(self, marks: Marks, mark: Mark) -> Mark:
        # Only "none at all" counts: Tansu reports a partition's end as the start of its
        # last write batch plus one, so a smaller count than was published is normal there.
        end = await self.sink.events_end()
        if end is None or end > 0 or mark.events_end == 0:
            return mark
        return await self._start_over(marks, f"registry.events is empty ({mark.events_end} sent)")

    async def _start_over(
        self, marks: Marks, why: str, sent: int = 0, offsets: dict[int, int] | None = None
    ) -> Mark:
        log.warning("a new or emptied cluster: %s; republishing the log from the start", why)
        self._facts.clear()  # names as of now would be wrong for old events
        await self.sink.reset()
        fresh = Mark(0, sent, offsets or {})
        await marks.store(fresh)
        return fresh

    async def _messages(self, events: EventLog, batch: Sequence[StoredEvent]) -> list[Outgoing]:
        await self._facts.load(events, batch)
        # The trace each event's command was sent in (kept with its record, never in the
        # event): one lookup per batch.
        traces = await events.trace_contexts(
            {c for e in batch if isinstance(c := e.data.get("command_id"), str)}
        )
        outgoing = []
        for event in batch:
            self._facts.observe(event)
            trace = traces.get(event.data.get("command_id") or "")
            outgoing += translate(self.store_id, event, self._facts, trace)
        return outgoing


class Relay(Follower):
    """The LogPublisher as a follower of the PostgreSQL event log, keeping its mark in the
    read database (table relay_positions, its row named `name`)."""

    role = "relay"
    step_gap_seconds = 0.02

    def __init__(
        self,
        sink: Sink,
        read_dsn: str,
        events_dsn: str | None = None,
        *,
        store_id: str = "registry",
        name: str = "kafka",
        batch_size: int = 500,
        poll_seconds: float = 1.0,
        lease_seconds: float = lease.DEFAULT_SECONDS,
    ) -> None:
        super().__init__(read_dsn, events_dsn, batch_size, poll_seconds, lease_seconds)
        self.name = name
        self.publisher = LogPublisher(sink, store_id=store_id, batch_size=batch_size)

    @property
    def published(self) -> int:
        """Messages acknowledged since start, for tools and benches."""
        return self.publisher.published

    async def prepare(self, read: asyncpg.Connection) -> None:
        self.publisher.forget()  # another instance may have moved on meanwhile

    async def step(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Publishes one batch; returns how many events it read."""
        marks = PostgresMarks(read, self.name, self.fence)
        read_count = await self.publisher.step(PostgresEventLog(events), marks)
        if read_count == 0:
            await positions.touch(read, self.name)
        return read_count

    @property
    def lease_name(self) -> str:
        return f"relay:{self.name}"
