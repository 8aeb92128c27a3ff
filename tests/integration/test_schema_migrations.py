"""`registrum db migrate` against real PostgreSQL: from an older version to the latest,
over tables an earlier release made at start, two migrators at once, and the refusal a
process gives on a schema older or newer than it knows."""

from __future__ import annotations

import asyncio
import threading
from typing import Any

import asyncpg
import psycopg
import pytest

from schemas import commands as c
from services.bootstrap import NotConfigured, Runtime, build_registry
from services.catalogue import queries
from services.catalogue.projector import Projector
from services.eventlog.lease import Lease
from services.schema import history
from services.schema.migrator import LOCKS, migrate
from services.schema.status import SchemaAhead, SchemaBehind, require_current, states
from services.settings import Settings
from tests.people import open_to_testers, person
from tests.services import fresh_database

ALICE = person("alice")
LATEST = max(m.version for m in history.MIGRATIONS)
ALL = sorted((m.database, m.version) for m in history.MIGRATIONS)


def applied(url: str) -> list[tuple[str, int]]:
    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT database, version FROM registrum_schema ORDER BY 2, 1")
        return [(r[0], r[1]) for r in rows.fetchall()]


def registers_and_projects(events_url: str, read_url: str, name: str) -> list[dict[str, Any]]:
    """A registry on these databases takes a model and a version, and the projector shows
    them in the catalogue; returns the catalogue's rows for name."""
    registry = build_registry(Settings(db_pool_size=2), events_url)
    try:
        open_to_testers(registry)
        registry.handle(c.RegisterModel(name=name), ALICE)
        registry.handle(c.RegisterVersion(model=name, artifact_uri="s3://models/m"), ALICE)
    finally:
        registry.close()

    async def catalogue() -> list[dict[str, Any]]:
        await Projector(read_url, events_url).catch_up()
        conn = await asyncpg.connect(read_url)
        try:
            s = await queries.schemas(conn)
            rows = await conn.fetch(
                f"SELECT m.name, m.latest_version FROM {s.catalogue}.models m WHERE m.name = $1",
                name,
            )
            return [dict(r) for r in rows]
        finally:
            await conn.close()

    return asyncio.run(catalogue())


async def takes_a_lease(url: str) -> bool:
    conn = await asyncpg.connect(url)
    try:
        return await Lease(conn, "projector", 5).take()
    finally:
        await conn.close()


def test_a_database_at_the_previous_version_migrates_to_the_latest_and_then_works(
    database_url: str, unique: str
) -> None:
    url = fresh_database(database_url, f"previous_{unique}", migrate=False)
    # As the previous release left it: version 1 only.
    migrate(url, url, upto=LATEST - 1)
    with pytest.raises(SchemaBehind) as behind:
        require_current(url, url)
    assert str(behind.value) == (
        f"the database is at schema version {LATEST - 1}, this Registrum needs {LATEST}: "
        "run `registrum db migrate`"
    )

    done = migrate(url, url)
    assert [(d.migration.database, d.migration.version) for d in done] == [
        (m.database, m.version) for m in history.MIGRATIONS if m.version == LATEST
    ]
    require_current(url, url)  # nothing raised: a process may start
    assert migrate(url, url) == []  # and again, nothing to do

    assert registers_and_projects(url, url, f"m-{unique}") == [
        {"name": f"m-{unique}", "latest_version": 1}
    ]
    assert asyncio.run(takes_a_lease(url))  # the followers' leases live in version 2


def test_each_database_keeps_its_own_versions(database_url: str, unique: str) -> None:
    events = fresh_database(database_url, f"events_{unique}", migrate=False)
    read = fresh_database(database_url, f"read_{unique}", migrate=False)
    migrate(events, read)

    assert applied(events) == [(m.database, m.version) for m in history.of("events")]
    assert applied(read) == [(m.database, m.version) for m in history.of("read")]
    with psycopg.connect(events) as conn:
        found = conn.execute("SELECT to_regclass('catalogue_meta.views')").fetchone()
        assert found == (None,)  # the views' tables are not in the events database
    with psycopg.connect(read) as conn:
        assert conn.execute("SELECT to_regclass('registry_events')").fetchone() == (None,)
    assert [s.problem for s in states(events, read)] == [None, None]
    assert registers_and_projects(events, read, f"m-{unique}") == [
        {"name": f"m-{unique}", "latest_version": 1}
    ]


def test_a_role_refuses_an_unmigrated_database_and_names_the_command(
    database_url: str, unique: str, tmp_path: Any
) -> None:
    url = fresh_database(database_url, f"bare_{unique}", migrate=False)
    settings = Settings(database_url=url, data_dir=tmp_path, kafka=False)
    with Runtime(settings) as runtime, pytest.raises(NotConfigured) as refused:
        runtime.projector()
    assert str(refused.value) == (
        f"the database is at schema version 0, this Registrum needs {LATEST}: "
        "run `registrum db migrate`"
    )
    with psycopg.connect(url) as conn:  # and it made nothing there
        assert conn.execute("SELECT to_regclass('registry_events')").fetchone() == (None,)


def test_a_database_newer_than_this_registrum_is_refused_and_left_alone(
    database_url: str, unique: str, tmp_path: Any
) -> None:
    url = fresh_database(database_url, f"newer_{unique}")
    # What a later release would record.
    with psycopg.connect(url) as conn:
        conn.execute(
            "INSERT INTO registrum_schema (database, version, description, checksum,"
            " applied_by, registrum) VALUES ('read', %s, 'from the future', '', 'x', '9')",
            (LATEST + 1,),
        )
    message = (
        f"the database is at schema version {LATEST + 1}, newer than this Registrum "
        f"knows ({LATEST}): upgrade Registrum"
    )
    with pytest.raises(SchemaAhead) as ahead:
        require_current(url, url)
    assert str(ahead.value) == message
    with pytest.raises(SchemaAhead):
        migrate(url, url)
    settings = Settings(database_url=url, data_dir=tmp_path, kafka=False)
    for migrating in (False, True):  # neither a role nor serve runs on it
        with Runtime(settings, migrate=migrating) as runtime, pytest.raises(NotConfigured) as no:
            _ = runtime.registry
        assert str(no.value) == message
    assert len(applied(url)) == len(history.MIGRATIONS) + 1  # nothing applied or removed


def test_two_migrators_at_once_apply_each_migration_once(database_url: str, unique: str) -> None:
    url = fresh_database(database_url, f"race_{unique}", migrate=False)
    waited = threading.Semaphore(0)
    results: list[list[Any]] = []
    failures: list[BaseException] = []

    def run() -> None:
        try:
            results.append(migrate(url, url, waiting=lambda _: waited.release()))
        except BaseException as exc:  # reported below
            failures.append(exc)

    # Someone holds the migration lock: both migrators start, and both wait for it.
    with psycopg.connect(url, autocommit=True) as holder:
        holder.execute("SELECT pg_advisory_lock(%s)", (LOCKS["events"],))
        threads = [threading.Thread(target=run) for _ in range(2)]
        for thread in threads:
            thread.start()
        assert waited.acquire(timeout=30) and waited.acquire(timeout=30)
    # The holder is gone: they race, one after the other.
    for thread in threads:
        thread.join(timeout=60)
    assert failures == []
    done = sorted((d.migration.database, d.migration.version) for r in results for d in r)
    assert done == ALL
    assert sorted(applied(url)) == ALL
