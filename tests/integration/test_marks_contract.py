"""The relay's Marks port's contract, run against the in-memory marks (what unit tests of
the relay use) and its row in PostgreSQL: nothing stored reads as the start, and the last
mark stored is the one read back, offsets included."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Any

import asyncpg
import pytest

from services.relay.positions import Mark, Marks, PostgresMarks
from tests.fakes.marks import MemoryMarks


@pytest.fixture(params=["memory", "postgres"])
def open_marks(
    request: pytest.FixtureRequest, unique: str
) -> Callable[[], contextlib.AbstractAsyncContextManager[Marks]]:
    if request.param == "memory":
        memory = MemoryMarks()

        @contextlib.asynccontextmanager
        async def in_memory() -> AsyncIterator[Marks]:
            yield memory

        return in_memory
    url = request.getfixturevalue("database_url")

    @contextlib.asynccontextmanager
    async def in_postgres() -> AsyncIterator[Marks]:
        conn = await asyncpg.connect(url)
        try:
            yield PostgresMarks(conn, f"contract-{unique}")
        finally:
            await conn.close()

    return in_postgres


def test_the_marks_contract(open_marks: Any) -> None:
    async def scenario() -> list[Mark]:
        async with open_marks() as marks:
            seen = [await marks.load()]
            await marks.store(Mark(40, 12, {0: 7, 2: 4}))
            seen.append(await marks.load())
            await marks.store(Mark(0, 3, {}))
        async with open_marks() as marks:  # as the relay finds it after a restart
            seen.append(await marks.load())
        return seen

    assert asyncio.run(scenario()) == [Mark(0, 0), Mark(40, 12, {0: 7, 2: 4}), Mark(0, 3, {})]
