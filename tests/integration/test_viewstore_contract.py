"""The read side's ViewStore port's contract, run against the in-memory store (what unit
tests of the projector use) and PostgreSQL: positions move only by compare-and-set, and a
transaction takes effect whole or, after an exception, not at all."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

import asyncpg
import pytest

from services.catalogue import store
from services.catalogue.port import ViewStore
from services.catalogue.store import PostgresViewStore, quoted
from services.catalogue.views import View
from tests.fakes.views import MemoryViewStore

INSERT = "INSERT INTO {s}.seen (position) VALUES ($1)"


class Boom(Exception):
    pass


class MemoryBackend:
    def __init__(self, view: View) -> None:
        self.store = MemoryViewStore([view.name])
        self.view = view

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[ViewStore]:
        yield self.store

    async def rows(self) -> list[int]:
        return [args[0] for _, args in self.store.statements(self.view.name)]


class PostgresBackend:
    def __init__(self, database_url: str, view: View) -> None:
        self.url, self.view = database_url, view
        self.conn: asyncpg.Connection | None = None

    @contextlib.asynccontextmanager
    async def open(self) -> AsyncIterator[ViewStore]:
        self.conn = await asyncpg.connect(self.url)
        try:
            await store.ensure(self.conn, [self.view])
            yield PostgresViewStore(self.conn)
        finally:
            await self.conn.close()

    async def rows(self) -> list[int]:
        assert self.conn is not None
        schema = quoted(self.view.name, 1)
        return [
            r[0] for r in await self.conn.fetch(f"SELECT position FROM {schema}.seen ORDER BY 1")
        ]


@pytest.fixture(params=["memory", "postgres"])
def backend(request: pytest.FixtureRequest, unique: str) -> Any:
    view = View(f"seen{unique}", ["CREATE TABLE {s}.seen (position bigint PRIMARY KEY)"])
    if request.param == "memory":
        return MemoryBackend(view)
    return PostgresBackend(request.getfixturevalue("database_url"), view)


def test_the_view_store_contract(backend: Any) -> None:
    name = backend.view.name
    sql = INSERT.format(s=quoted(name, 1))

    async def scenario() -> None:
        async with backend.open() as views:
            # A new view: generation 1, position 0, no rows.
            assert (await views.active())[name] == (1, 0)

            # A transaction that moves the position and writes rows takes effect.
            async with views.transaction():
                assert await views.move_position(name, 1, 0, 2)
                await views.run(sql, [(1,), (2,)])
            assert (await views.active())[name] == (1, 2)
            assert await backend.rows() == [1, 2]

            # Compare-and-set: from a position it is not at, nothing moves.
            assert not await views.move_position(name, 1, 0, 5)
            assert not await views.move_position(name, 2, 2, 5)
            assert (await views.active())[name] == (1, 2)

            # A transaction left by an exception leaves no trace: position and rows as
            # they were.
            with pytest.raises(Boom):
                async with views.transaction():
                    assert await views.move_position(name, 1, 2, 4)
                    await views.run(sql, [(3,)])
                    await views.run(sql, [(4,)])
                    raise Boom
            assert (await views.active())[name] == (1, 2)
            assert await backend.rows() == [1, 2]

    asyncio.run(scenario())
