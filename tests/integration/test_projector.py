"""The projector against real PostgreSQL, in-process: a duplicated batch is refused whole,
and a lost database connection is survived. (As processes, killed at random and two at
once: tests/e2e/test_projector_processes.py.)"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

import asyncpg
import pytest

from schemas import commands as c
from services.catalogue import store
from services.catalogue.apply import StalePosition, apply_batch
from services.catalogue.store import PostgresViewStore
from services.catalogue.views.all import VIEWS
from services.eventlog import reading
from services.registry.application import Registry
from tests.people import person
from tests.projection_checks import positions


def test_a_duplicated_batch_is_rejected(registry: Registry, database_url: str, unique: str) -> None:
    registry.handle(c.RegisterModel(name=f"dup-{unique}"), person("alice"))
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
        await asyncio.to_thread(registry.handle, survivor, person("alice"))
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
