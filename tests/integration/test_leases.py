"""Leases with fencing (services/eventlog/lease.py) on real PostgreSQL: one holder at a
time, a lapsed holder replaced and fenced off, a dead holder replaced at once."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Any

import asyncpg
import pytest

from services.catalogue import store
from services.catalogue.store import PostgresViewStore
from services.catalogue.views.all import VIEWS
from services.eventlog import lease
from services.eventlog.lease import Lease, LeaseLost
from services.relay import positions
from services.relay.positions import Mark, PostgresMarks
from tests.services import fresh_database


@pytest.fixture(scope="module")
def leases_url(database_url: str) -> str:
    import uuid

    return fresh_database(database_url, f"leases_{uuid.uuid4().hex[:10]}")


def run(leases_url: str, scenario: Callable[..., Awaitable[Any]]) -> Any:
    async def connected() -> Any:
        one, two = await asyncpg.connect(leases_url), await asyncpg.connect(leases_url)
        try:
            await lease.ensure(one)
            return await scenario(one, two)
        finally:
            await one.close()
            if not two.is_closed():
                await two.close()

    return asyncio.run(connected())


def test_one_holder_at_a_time_and_a_lapsed_one_is_replaced_with_a_higher_token(
    leases_url: str, unique: str
) -> None:
    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        first, second = Lease(one, unique, seconds=1.0), Lease(two, unique, seconds=1.0)
        assert await first.take()
        assert not await second.take()
        await first.check()  # held
        await asyncio.sleep(1.3)  # first stops renewing: a hung holder
        assert await second.take()
        assert first.token is not None and second.token == first.token + 1
        with pytest.raises(LeaseLost):
            await first.check()
        with pytest.raises(LeaseLost):
            first._renewed = -1e9  # due for renewal
            await first.keep()
        await second.check()
        await second.release()
        assert await Lease(one, unique).take()  # released: taken at once

    run(leases_url, scenario)


def test_a_holder_that_renews_keeps_the_lease(leases_url: str, unique: str) -> None:
    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        first, second = Lease(one, unique, seconds=0.9), Lease(two, unique, seconds=0.9)
        assert await first.take()
        for _ in range(8):  # 2.4 s: well past the lease, renewed every 0.3 s
            await asyncio.sleep(0.3)
            await first.keep()
            assert not await second.take()

    run(leases_url, scenario)


def test_a_holder_whose_session_ended_is_replaced_at_once(leases_url: str, unique: str) -> None:
    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        first, second = Lease(two, unique, seconds=60), Lease(one, unique, seconds=60)
        assert await first.take()
        assert not await second.take()
        await two.close()  # the holder's process died: its session is gone
        for _ in range(50):  # the server notices the closed session within moments
            if await second.take():
                break
            await asyncio.sleep(0.1)
        assert second.token == 2

    run(leases_url, scenario)


def test_a_fenced_view_position_does_not_move_after_a_takeover(
    leases_url: str, unique: str
) -> None:
    view = next(iter(VIEWS.values()))

    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        await store.ensure(one, [view])
        generation, position = (await store.active(one))[view.name]
        old, new = Lease(one, f"projector-{unique}", 0.5), Lease(two, f"projector-{unique}", 5)
        assert await old.take()
        views = PostgresViewStore(one, fence=old)
        async with views.transaction():
            assert await views.move_position(view.name, generation, position, position)
        await asyncio.sleep(0.7)
        assert await new.take()
        with pytest.raises(LeaseLost):
            async with views.transaction():
                await views.move_position(view.name, generation, position, position + 5)
        assert (await store.active(one))[view.name] == (generation, position)
        # The new holder's writes go through, and a stale expectation is still just stale.
        fresh = PostgresViewStore(two, fence=new)
        async with fresh.transaction():
            assert await fresh.move_position(view.name, generation, position, position)
            assert not await fresh.move_position(view.name, generation, position + 1, 9)

    run(leases_url, scenario)


def test_a_fenced_relay_mark_is_not_stored_after_a_takeover(leases_url: str, unique: str) -> None:
    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        await positions.ensure(one)
        name = f"relay-{unique}"
        old, new = Lease(one, name, 0.5), Lease(two, name, 5)
        assert await old.take()
        await PostgresMarks(one, name, old).store(Mark(3, 3))
        await asyncio.sleep(0.7)
        assert await new.take()
        with pytest.raises(LeaseLost):
            await PostgresMarks(one, name, old).store(Mark(7, 7))
        assert await PostgresMarks(two, name).load() == Mark(3, 3)
        await PostgresMarks(two, name, new).store(Mark(9, 9))
        assert await PostgresMarks(one, name).load() == Mark(9, 9)

    run(leases_url, scenario)


def test_a_takeover_waits_for_a_fenced_write_in_flight(leases_url: str, unique: str) -> None:
    """A write that passed its fence holds the lease's row until it commits: the takeover
    happens after it, never between its check and its commit."""

    async def scenario(one: asyncpg.Connection, two: asyncpg.Connection) -> None:
        await positions.ensure(one)
        name = f"inflight-{unique}"
        old, new = Lease(one, name, 0.5), Lease(two, name, 5)
        assert await old.take()
        async with one.transaction():
            await PostgresMarks(one, name, old).store(Mark(4, 4))
            await asyncio.sleep(0.7)  # the lease lapses while the write is uncommitted
            assert not await new.take()  # lock_timeout: it waited, then gave up
        assert await new.take()
        assert await PostgresMarks(two, name).load() == Mark(4, 4)

    run(leases_url, scenario)
