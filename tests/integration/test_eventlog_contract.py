"""The EventLog port's contract, run against the in-memory log (what unit tests use) and
PostgreSQL (an events table written by eventsourcing's own recorder, as the registry
writes it): events in log order after a position, the head, gaps in positions, a model's
name as of a position, and versions' registrations (by id, and all of them in turn)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from typing import Any
from uuid import UUID, uuid4

import asyncpg
import pytest
from eventsourcing.persistence import IntegrityError
from eventsourcing.persistence import StoredEvent as Row
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg.conninfo import conninfo_to_dict

from services.eventlog.port import EventLog
from services.eventlog.postgres import PostgresEventLog
from tests.fakes.eventlog import MemoryEventLog, RegistryEvents


class MemoryBackend:
    def __init__(self) -> None:
        self.log = MemoryEventLog()

    def append(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        self.log.append(originator_id, version, topic, state)

    def skip(self) -> None:
        self.log.skip()

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[EventLog]:
        yield self.log


class PostgresBackend:
    """A fresh events table, created by the first append as the registry's is."""

    def __init__(self, database_url: str, table: str) -> None:
        parts = conninfo_to_dict(database_url)
        self.url, self.table = database_url, table
        self.datastore = PostgresDatastore(
            dbname=str(parts["dbname"]),
            host=str(parts["host"]),
            port=str(parts.get("port") or 5432),
            user=str(parts.get("user") or "postgres"),
            password=str(parts.get("password") or ""),
        )
        self.recorder = PostgresApplicationRecorder(self.datastore, events_table_name=table)
        self.rows: list[Row] = []

    def append(self, originator_id: UUID, version: int, topic: str, state: bytes) -> None:
        if not self.rows:
            self.recorder.create_table()
        row = Row(originator_id, version, topic, state)
        self.recorder.insert_events([row])
        self.rows.append(row)

    def skip(self) -> None:
        # A write that loses a concurrency conflict still uses up a notification id.
        with pytest.raises(IntegrityError):
            self.recorder.insert_events([self.rows[-1]])

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[EventLog]:
        conn = await asyncpg.connect(self.url)
        try:
            yield PostgresEventLog(conn, self.table)
        finally:
            await conn.close()


@pytest.fixture(params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest, unique: str) -> Iterator[Any]:
    if request.param == "memory":
        yield MemoryBackend()
        return
    postgres = PostgresBackend(request.getfixturevalue("database_url"), f"events_{unique}")
    try:
        yield postgres
    finally:
        postgres.datastore.close()


def test_the_event_log_contract(backend: Any) -> None:
    nobody = str(uuid4())

    async def empty() -> tuple[Any, ...]:
        async with backend.open() as log:
            return (
                await log.head(),
                await log.read_after(0, 10),
                await log.model_name_at(nobody, 1_000),
                await log.registrations([nobody]),
                await log.registrations_after(0, 10),
            )

    # Before the first write there is nothing, and no error either.
    assert asyncio.run(empty()) == (0, [], None, {}, [])

    # A model, its first version, a rename after a lost write, then a promotion.
    write = RegistryEvents(backend.append)
    fraud = write.register_model("fraud")
    version = write.register_version(fraud, 1, sha256="ab" * 32, size=2048)
    backend.skip()
    write.rename_model(fraud, "fraud-v2")
    write.promote(fraud, 1)

    async def read() -> dict[str, Any]:
        async with backend.open() as log:
            events = await log.read_after(0, 100)
            renamed = events[3].position
            return {
                "events": events,
                "head": await log.head(),
                "after_second": await log.read_after(events[1].position, 2),
                "after_last": await log.read_after(events[-1].position, 10),
                "name_before_any": await log.model_name_at(str(fraud), events[0].position),
                "name_before_rename": await log.model_name_at(str(fraud), renamed),
                "name_after_rename": await log.model_name_at(str(fraud), renamed + 1),
                "registrations": await log.registrations([str(version), str(fraud), nobody]),
            }

    seen = asyncio.run(read())
    events = seen["events"]
    # Log order, with the gap left by the lost write: positions grow, never repeat.
    assert [(e.aggregate, e.kind) for e in events] == [
        ("RegisteredModel", "ModelRegistered"),
        ("RegisteredModel", "VersionAdded"),
        ("ModelVersion", "VersionRegistered"),
        ("RegisteredModel", "ModelRenamed"),
        ("RegisteredModel", "VersionPromoted"),
    ]
    positions = [e.position for e in events]
    assert positions == sorted(set(positions)) and positions[0] >= 1
    assert positions[3] - positions[2] > 1
    assert seen["head"] == positions[-1]
    # Reading after a position returns what follows it, up to the limit, across the gap.
    assert seen["after_second"] == events[2:4]
    assert seen["after_last"] == []
    # Fields come back as plain values: ids as text, times as aware datetimes.
    registered = events[2]
    assert registered.originator_id == str(version) and registered.originator_version == 1
    assert registered.data["model_id"] == str(fraud)
    assert (registered.data["number"], registered.data["size"]) == (1, 2048)
    assert registered.timestamp.tzinfo is not None
    assert events[4].data["version_id"] == str(version)
    # The name as of a position follows renames, and is unknown before the model existed.
    assert seen["name_before_any"] is None
    assert seen["name_before_rename"] == "fraud"
    assert seen["name_after_rename"] == "fraud-v2"
    # Registrations: only of versions the log holds (a model id is not a version).
    assert seen["registrations"] == {str(version): registered}


def test_every_registration_in_turn(backend: Any) -> None:
    write = RegistryEvents(backend.append)
    fraud, churn = write.register_model("fraud"), write.register_model("churn")
    files = [{"path": "model.bin", "sha256": "cd" * 32, "size": 10}]
    first = write.register_version(fraud, 1, manifest=files)
    write.promote(fraud, 1)
    backend.skip()
    second = write.register_version(churn, 1, sha256="ef" * 32)
    write.tag_model(churn, "team", "risk")

    async def walk() -> list[list[Any]]:
        async with backend.open() as log:
            page = await log.registrations_after(0, 1)
            rest = await log.registrations_after(page[0].position, 10)
            return [page, rest, await log.registrations_after(rest[-1].position, 10)]

    page, rest, after_last = asyncio.run(walk())
    # Only the registrations, in log order, a page at a time, across the gap.
    assert [e.originator_id for e in page + rest] == [str(first), str(second)]
    assert {e.kind for e in page + rest} == {"VersionRegistered"}
    assert page[0].data["manifest"] == files
    assert rest[0].data["sha256"] == "ef" * 32
    assert after_last == []
