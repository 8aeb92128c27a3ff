"""The command log's contract (the registry's recorder: events plus each command's first
outcome in one atomic write), run against the in-memory recorder that unit tests use and
against PostgreSQL: the same answers, so what a unit test learns from the fake holds."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor

import asyncpg
import pytest

from schemas import commands as c
from services.eventlog.postgres import PostgresEventLog
from services.registry.application import CommandIdReused, Registry
from services.registry.domain.errors import DuplicateName
from tests.fakes.registry import memory_registry
from tests.people import person

ALICE, BOB = person("alice"), person("bob")


@pytest.fixture(params=["memory", "postgres"])
def log(request: pytest.FixtureRequest) -> Iterator[Registry]:
    if request.param == "memory":
        registry = memory_registry()
        yield registry
        registry.close()
    else:
        yield request.getfixturevalue("registry")


def test_a_command_id_is_answered_once_with_its_first_outcome(log: Registry, unique: str) -> None:
    create = c.RegisterModel(name=f"once-{unique}", command_id=f"create-{unique}")
    first = log.handle(create, ALICE)
    record = log.command_log.find_command(f"create-{unique}")
    assert record is not None and record.position == first.position
    assert record.result == first.result
    events = log.command_log.count_events()
    again = log.handle(create, ALICE)
    assert (again.result, again.position, again.replayed) == (first.result, first.position, True)
    assert log.command_log.count_events() == events


def test_a_commands_trace_context_is_kept_with_its_record(log: Registry, unique: str) -> None:
    traced = f"00-{'1' * 32}-{'2' * 16}-01"
    log.handle(
        c.RegisterModel(name=f"tr-{unique}", command_id=f"tr-{unique}"), ALICE, traceparent=traced
    )
    log.handle(c.RegisterModel(name=f"un-{unique}", command_id=f"un-{unique}"), ALICE)
    kept = log.command_log.find_command(f"tr-{unique}")
    assert kept is not None and kept.traceparent == traced
    untraced = log.command_log.find_command(f"un-{unique}")
    assert untraced is not None and untraced.traceparent is None


def test_the_relay_reads_kept_trace_contexts_by_command_id(
    registry: Registry, database_url: str, unique: str
) -> None:
    traced = f"00-{'3' * 32}-{'4' * 16}-01"
    registry.handle(
        c.RegisterModel(name=f"rt-{unique}", command_id=f"rt-{unique}"), ALICE, traceparent=traced
    )
    registry.handle(c.RegisterModel(name=f"ru-{unique}", command_id=f"ru-{unique}"), ALICE)

    async def read() -> dict[str, str]:
        conn = await asyncpg.connect(database_url)
        try:
            ids = [f"rt-{unique}", f"ru-{unique}", f"never-{unique}"]
            return await PostgresEventLog(conn).trace_contexts(ids)
        finally:
            await conn.close()

    assert asyncio.run(read()) == {f"rt-{unique}": traced}


def test_a_reused_command_id_appends_nothing(log: Registry, unique: str) -> None:
    log.handle(c.RegisterModel(name=f"first-{unique}", command_id=f"id-{unique}"), ALICE)
    events = log.command_log.count_events()
    with pytest.raises(CommandIdReused):
        log.handle(c.RegisterModel(name=f"second-{unique}", command_id=f"id-{unique}"), ALICE)
    with pytest.raises(CommandIdReused):  # the same command from someone else
        log.handle(c.RegisterModel(name=f"first-{unique}", command_id=f"id-{unique}"), BOB)
    assert log.command_log.count_events() == events


def test_a_refused_command_records_no_outcome(log: Registry, unique: str) -> None:
    log.handle(c.RegisterModel(name=f"taken-{unique}"), ALICE)
    with pytest.raises(DuplicateName):
        log.handle(c.RegisterModel(name=f"taken-{unique}", command_id=f"dup-{unique}"), BOB)
    # Nothing was recorded under the id: once the name is free it can still be used.
    assert log.command_log.find_command(f"dup-{unique}") is None


def test_concurrent_retries_of_one_command_append_once(log: Registry, unique: str) -> None:
    name = f"race-{unique}"
    log.handle(c.RegisterModel(name=name), ALICE)
    register = c.RegisterVersion(model=name, artifact_uri="s3://m", command_id=f"reg-{unique}")
    start = threading.Barrier(4)

    def send(_: int) -> tuple[int, int | None]:
        start.wait()
        outcome = log.handle(register, ALICE)
        return outcome.result["number"], outcome.position

    with ThreadPoolExecutor(4) as pool:
        assert len(set(pool.map(send, range(4)))) == 1
    assert log.get_model(name)["latest_version"] == 1


def test_a_command_log_from_before_traces_gains_the_column(database_url: str, unique: str) -> None:
    from services.bootstrap import build_registry
    from services.settings import Settings
    from tests.people import open_to_testers
    from tests.services import fresh_database, migrated

    name = f"old_log_{unique}"
    url = fresh_database(database_url, name, migrate=False)

    async def old_table() -> None:
        conn = await asyncpg.connect(url)
        try:
            # The command log as the registry made it before traces were kept.
            await conn.execute(
                "CREATE TABLE registrum_commands (command_id text PRIMARY KEY,"
                " fingerprint text NOT NULL, result jsonb NOT NULL, position bigint,"
                " recorded_at timestamptz NOT NULL DEFAULT now())"
            )
        finally:
            await conn.close()

    async def drop() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await conn.execute(f'DROP DATABASE "{name}" WITH (FORCE)')
        finally:
            await conn.close()

    asyncio.run(old_table())
    try:
        migrated(url)  # `registrum db migrate`: the baseline adds the column
        registry = build_registry(Settings(), url)
        open_to_testers(registry)
        try:
            traced = f"00-{'7' * 32}-{'8' * 16}-01"
            command = c.RegisterModel(name="upgraded", command_id="after-upgrade")
            registry.handle(command, ALICE, traceparent=traced)
            kept = registry.command_log.find_command("after-upgrade")
            assert kept is not None and kept.traceparent == traced
        finally:
            registry.close()
    finally:
        asyncio.run(drop())
