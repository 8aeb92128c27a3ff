"""The event log in PostgreSQL (the write side's events table), read over one asyncpg
connection."""

from __future__ import annotations

from collections.abc import Collection

import asyncpg

from services.eventlog import lookups, reading
from services.eventlog.reading import EVENTS_TABLE
from services.eventlog.record import StoredEvent


class PostgresEventLog:
    """The EventLog port over an asyncpg connection to the events database."""

    def __init__(self, conn: asyncpg.Connection, table: str = EVENTS_TABLE) -> None:
        self.conn = conn
        self.table = table

    async def read_after(self, position: int, limit: int) -> list[StoredEvent]:
        return await reading.read_after(self.conn, position, limit, self.table)

    async def head(self) -> int:
        return await reading.head(self.conn, self.table)

    async def model_name_at(self, model_id: str, before: int) -> str | None:
        return await lookups.model_name_at(self.conn, model_id, before, self.table)

    async def registrations(self, version_ids: Collection[str]) -> dict[str, StoredEvent]:
        return await lookups.registrations(self.conn, version_ids, self.table)

    async def registrations_after(self, position: int, limit: int) -> list[StoredEvent]:
        return await lookups.registrations_after(self.conn, position, limit, self.table)

    async def trace_contexts(self, command_ids: Collection[str]) -> dict[str, str]:
        return await lookups.trace_contexts(self.conn, command_ids)
