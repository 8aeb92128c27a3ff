"""The event log as a port: what followers read, and artefact garbage collection
(services/eventlog/postgres.py is the PostgreSQL adapter, services/eventlog/memory.py the
in-memory one)."""

from __future__ import annotations

from collections.abc import Collection
from typing import Protocol

from services.eventlog.record import StoredEvent


class EventLog(Protocol):
    """The registry's events in log order, each at its position (notification id).
    Positions grow but may have gaps; an event once readable never changes or moves."""

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]:
        """Up to limit events after position, in log order; none when it has none."""
        ...

    async def head(self) -> int:
        """The position of the last event; 0 while the log is empty."""
        ...

    async def model_name_at(self, model_id: str, before: int) -> str | None:
        """The model's name just before position `before` (following renames); None
        when it had none yet."""
        ...

    async def registrations(self, version_ids: Collection[str]) -> dict[str, StoredEvent]:
        """The VersionRegistered event of each of these versions the log holds, by id."""
        ...

    async def registrations_after(self, position: int, limit: int) -> list[StoredEvent]:
        """Up to limit VersionRegistered events after position, in log order (deleted
        versions' too): a walk over every registration, without reading other events."""
        ...

    async def trace_contexts(self, command_ids: Collection[str]) -> dict[str, str]:
        """The W3C traceparent each of these commands was sent in, where one was kept
        (by command id)."""
        ...
