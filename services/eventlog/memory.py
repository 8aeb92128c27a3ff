"""The event log in memory, for unit tests: rows go in as the write side stores them
(originator, topic, JSON state) and come out through the same decoding as PostgreSQL's."""

from __future__ import annotations

import bisect
import itertools
from collections.abc import Collection
from uuid import UUID

from services.eventlog.lookups import NAMING_KINDS, REGISTRATION_KIND, name_in
from services.eventlog.record import StoredEvent, decode


class MemoryEventLog:
    """The EventLog port over a list; positions start at 1 and grow by one per event,
    unless `skip` leaves a gap (as a failed insert does in PostgreSQL)."""

    def __init__(self) -> None:
        self._events: list[StoredEvent] = []
        self._positions: list[int] = []
        self._next = 1
        self.traces: dict[str, str] = {}  # command id -> traceparent, as the command log keeps

    def append(
        self, originator_id: UUID | str, originator_version: int, topic: str, state: bytes
    ) -> StoredEvent:
        """Records one event at the next position and returns it as readers see it."""
        event = decode(self._next, originator_id, originator_version, topic, state)
        self._events.append(event)
        self._positions.append(event.position)
        self._next += 1
        return event

    def skip(self, count: int = 1) -> None:
        """Uses up positions without events: the log's ids have gaps."""
        self._next += count

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]:
        start = bisect.bisect_right(self._positions, position)
        return self._events[start : start + limit]

    async def head(self) -> int:
        return self._events[-1].position if self._events else 0

    async def model_name_at(self, model_id: str, before: int) -> str | None:
        model_id = str(UUID(model_id))
        naming = [
            e
            for e in self._events
            if e.originator_id == model_id and e.position < before and e.kind in NAMING_KINDS
        ]
        if not naming:
            return None
        return name_in(max(naming, key=lambda e: e.originator_version).data)

    async def registrations(self, version_ids: Collection[str]) -> dict[str, StoredEvent]:
        wanted = {str(UUID(v)) for v in version_ids}
        return {
            e.originator_id: e
            for e in self._events
            if e.originator_id in wanted
            and e.originator_version == 1
            and e.kind == REGISTRATION_KIND
        }

    async def registrations_after(self, position: int, limit: int) -> list[StoredEvent]:
        start = bisect.bisect_right(self._positions, position)
        found = (
            e
            for e in self._events[start:]
            if e.originator_version == 1 and e.kind == REGISTRATION_KIND
        )
        return list(itertools.islice(found, limit))

    async def trace_contexts(self, command_ids: Collection[str]) -> dict[str, str]:
        return {i: self.traces[i] for i in command_ids if i in self.traces}
