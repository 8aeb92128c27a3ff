"""The projector against real PostgreSQL: exactly-once under crashes, duplicate batches,
one active instance with takeover, and rebuilds equal to incremental views."""

from __future__ import annotations

import asyncio
import os
import random
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest

from schemas import commands as c
from services.catalogue import store
from services.catalogue.apply import StalePosition, apply_batch
from services.catalogue.projector import PROJECTOR_LOCK
from services.catalogue.rebuild import rebuild
from services.catalogue.store import PostgresViewStore
from services.catalogue.views.all import VIEWS
from services.eventlog import reading
from services.registry.application import Caller, Registry
from tests.workload import step

REGISTRUM = str(Path(sys.executable).parent / "registrum")


def start_projector(database_url: str) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRUM_")}
    env["REGISTRUM_DATABASE_URL"] = database_url
    return subprocess.Popen(
        [REGISTRUM, "projector"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )


async def positions(database_url: str) -> tuple[int, dict[str, tuple[int, int]]]:
    conn = await asyncpg.connect(database_url)
    try:
        return await reading.head(conn), await store.active(conn)
    finally:
        await conn.close()


def wait_until_caught_up(database_url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        head, active = asyncio.run(positions(database_url))
        if all(position >= head for _, position in active.values()):
            return
        time.sleep(0.1)
    raise AssertionError(f"views did not reach the head within {timeout}s")


async def table_rows(conn: asyncpg.Connection, schema: str, table: str) -> list[Any]:
    return sorted(map(tuple, await conn.fetch(f"SELECT * FROM {schema}.{table}")), key=repr)


async def differences(database_url: str, old: dict[str, int], new: dict[str, int]) -> list[str]:
    conn = await asyncpg.connect(database_url)
    found = []
    try:
        for name in VIEWS:
            tables = await conn.fetch(
                "SELECT tablename FROM pg_tables WHERE schemaname = $1",
                store.schema_name(name, new[name]),
            )
            for row in tables:
                a = await table_rows(conn, store.quoted(name, old[name]), row["tablename"])
                b = await table_rows(conn, store.quoted(name, new[name]), row["tablename"])
                if a != b:
                    found.append(f"{name}.{row['tablename']}: {len(a)} vs {len(b)} rows")
    finally:
        await conn.close()
    return found


def test_a_duplicated_batch_is_rejected(registry: Registry, database_url: str, unique: str) -> None:
    registry.handle(c.RegisterModel(name=f"dup-{unique}"), Caller("alice"))
    view = VIEWS["catalogue"]

    async def scenario() -> tuple[int, int]:
        conn = await asyncpg.connect(database_url)
        try:
            generation = await store.new_generation(conn, view)  # a private, inactive copy
            batch = await reading.read_after(conn, 0, 100_000)
            reached = await apply_batch(PostgresViewStore(conn), view, generation, 0, batch)
            schema = store.quoted(view.name, generation)
            before = await conn.fetchval(f"SELECT count(*) FROM {schema}.models")
            # The same batch again, from the same starting position: refused whole.
            with pytest.raises(StalePosition):
                await apply_batch(PostgresViewStore(conn), view, generation, 0, batch)
            after = await conn.fetchval(f"SELECT count(*) FROM {schema}.models")
            await store.drop_generation(conn, view.name, generation)
            assert before == after
            return reached, batch[-1].position
        finally:
            await conn.close()

    reached, last = asyncio.run(scenario())
    assert reached == last


def test_a_projector_killed_at_random_ends_equal_to_a_rebuild(
    registry: Registry, database_url: str, unique: str
) -> None:
    rng = random.Random(unique)
    done = threading.Event()
    ran: list[str] = []

    def write() -> None:
        models: list[str] = []
        deadline = time.monotonic() + 8
        while time.monotonic() < deadline:
            ran.append(step(registry, rng, models, f"crash-{unique}"))
        done.set()

    writer = threading.Thread(target=write)
    writer.start()
    kills = 0
    while not done.is_set():
        projector = start_projector(database_url)
        time.sleep(rng.uniform(0.3, 1.2))
        projector.send_signal(signal.SIGKILL)  # no chance to finish a transaction cleanly
        projector.wait()
        kills += 1
    writer.join()
    assert kills >= 4 and len(ran) > 100

    survivor = start_projector(database_url)
    try:
        wait_until_caught_up(database_url)
    finally:
        survivor.terminate()
        survivor.wait(timeout=30)

    _, before = asyncio.run(positions(database_url))
    asyncio.run(rebuild(database_url, database_url, list(VIEWS.values())))
    _, after = asyncio.run(positions(database_url))
    old = {name: generation for name, (generation, _) in before.items()}
    new = {name: generation for name, (generation, _) in after.items()}
    assert old != new
    assert asyncio.run(differences(database_url, old, new)) == []


async def lock_holder(database_url: str) -> int | None:
    conn = await asyncpg.connect(database_url)
    try:
        name = await conn.fetchval(
            "SELECT a.application_name FROM pg_locks l JOIN pg_stat_activity a USING (pid)"
            " WHERE l.locktype = 'advisory' AND l.objid = $1 AND l.granted",
            PROJECTOR_LOCK,
        )
    finally:
        await conn.close()
    return int(name.rpartition(":")[2]) if name else None


def wait_for_holder(database_url: str, candidates: set[int], timeout: float = 30) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        holder = asyncio.run(lock_holder(database_url))
        if holder in candidates:
            return holder
        time.sleep(0.1)
    raise AssertionError(f"none of {candidates} took the projector lock")


def test_one_projector_is_active_and_another_takes_over(
    registry: Registry, database_url: str, unique: str, sql: Callable[..., list]
) -> None:
    first, second = start_projector(database_url), start_projector(database_url)
    processes = {first.pid: first, second.pid: second}
    try:
        active = wait_for_holder(database_url, set(processes))
        standby = (set(processes) - {active}).pop()
        time.sleep(1)
        assert asyncio.run(lock_holder(database_url)) == active  # still only one

        processes[active].send_signal(signal.SIGKILL)
        processes[active].wait()
        assert wait_for_holder(database_url, {standby}) == standby

        # The survivor keeps the views current.
        registry.handle(c.RegisterModel(name=f"takeover-{unique}"), Caller("alice"))
        wait_until_caught_up(database_url)
        assert sql("SELECT name FROM {catalogue}.models WHERE name = $1", f"takeover-{unique}")
    finally:
        for process in processes.values():
            if process.poll() is None:
                process.terminate()
                process.wait(timeout=30)


def test_the_projector_survives_losing_its_database_connection(
    registry: Registry, database_url: str, unique: str, sql: Callable[..., list]
) -> None:
    from services.catalogue.projector import Projector

    async def scenario() -> None:
        projector = Projector(database_url, poll_seconds=0.2)
        stop = asyncio.Event()
        task = asyncio.create_task(projector.run(stop))
        await asyncio.wait_for(projector.active.wait(), timeout=30)
        # Cut every projector connection from the server side, as a failover would.
        admin = await asyncpg.connect(database_url)
        await admin.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE application_name LIKE 'registrum-projector:%'"
        )
        await admin.close()
        survivor = c.RegisterModel(name=f"survivor-{unique}")
        await asyncio.to_thread(registry.handle, survivor, Caller("alice"))
        head = await asyncio.to_thread(registry.head_position)
        deadline = asyncio.get_running_loop().time() + 30
        while asyncio.get_running_loop().time() < deadline:
            _, active = await positions(database_url)
            if all(position >= head for _, position in active.values()):
                break
            await asyncio.sleep(0.1)
        stop.set()
        await asyncio.wait_for(task, timeout=30)

    asyncio.run(scenario())
    assert sql("SELECT name FROM {catalogue}.models WHERE name = $1", f"survivor-{unique}")
