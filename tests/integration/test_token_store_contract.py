"""The token store's contract, once, against PostgreSQL and the in-memory fake: records
kept without their secrets, found by id, listed, revoked once; and what an Authenticator
over each makes of good, unknown, tampered, expired and revoked tokens."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from datetime import UTC, datetime, timedelta
from typing import Any

import asyncpg
import pytest

from services.auth import tokens
from services.auth.authenticate import Authenticator
from services.auth.identity import Unauthenticated
from services.auth.token_cache import CachedTokenStore
from services.auth.token_store import TABLE, PostgresTokenStore, keep_token
from services.auth.tokens import MemoryTokenStore, TokenStore

NOW = datetime(2026, 11, 27, 12, 0, tzinfo=UTC)


@pytest.fixture(params=["postgres", "cached", "memory"])
def run_with_store(
    request: pytest.FixtureRequest, database_url: str
) -> Callable[[Callable[[TokenStore], Coroutine[Any, Any, Any]]], Any]:
    """Runs a scenario against a fresh store of each kind (PostgreSQL's over its table)."""

    def run(scenario: Callable[[TokenStore], Coroutine[Any, Any, Any]]) -> Any:
        async def main() -> Any:
            store: TokenStore
            if request.param == "memory":
                store = MemoryTokenStore()
                await store.setup()
                return await scenario(store)
            postgres: PostgresTokenStore | CachedTokenStore
            postgres = PostgresTokenStore(database_url, max_size=2)
            if request.param == "cached":
                postgres = CachedTokenStore(postgres)
            await postgres.setup()
            await postgres.setup()  # harmless to repeat
            try:
                return await scenario(postgres)
            finally:
                await postgres.close()

        return asyncio.run(main())

    return run


def issued(subject: str = "alice", days: int = 1, **extra: Any) -> tokens.Issued:
    return tokens.issue(
        subject,
        display_name=subject.title(),
        kind=extra.pop("kind", "user"),
        lifetime=timedelta(days=days),
        created_by="admin",
        now=NOW,
        **extra,
    )


def test_a_record_keeps_everything_but_the_secret(run_with_store: Any) -> None:
    made = issued(groups=["risk", "ml"], description="laptop")

    async def scenario(store: TokenStore) -> None:
        await store.add(made.record)
        found = await store.find(made.record.token_id)
        assert found == made.record
        assert found is not None and found.groups == ("ml", "risk")
        # The secret is nowhere in the record, only its hash.
        secret = made.secret.split("_", 2)[2]
        assert secret not in repr(found) and secret.encode() not in found.secret_sha256
        assert await store.find("nosuchtokenx") is None

    run_with_store(scenario)


def test_listing_and_revoking_once(run_with_store: Any, unique: str) -> None:
    alice, bob = issued(f"alice-{unique}"), issued(f"bob-{unique}")

    async def scenario(store: TokenStore) -> None:
        await store.add(alice.record)
        await store.add(bob.record)
        mine = await store.listed(f"alice-{unique}")
        assert [r.token_id for r in mine] == [alice.record.token_id]
        everyone = {r.token_id for r in await store.listed()}
        assert {alice.record.token_id, bob.record.token_id} <= everyone
        first = await store.revoke(alice.record.token_id, "admin", NOW)
        again = await store.revoke(alice.record.token_id, "mallory", NOW + timedelta(hours=1))
        # The first revocation stands: its time and author are not overwritten.
        assert first is not None and again is not None
        assert (again.revoked_at, again.revoked_by) == (NOW, "admin")
        assert await store.revoke("nosuchtokenx", "admin", NOW) is None

    run_with_store(scenario)


def test_revoking_a_token_revokes_the_sessions_opened_with_it(
    run_with_store: Any, unique: str
) -> None:
    parent, other = issued(f"carol-{unique}"), issued(f"carol-{unique}")
    session = issued(f"carol-{unique}", parent_id=parent.record.token_id)
    closed = issued(f"carol-{unique}", parent_id=parent.record.token_id)

    async def scenario(store: TokenStore) -> None:
        for made in (parent, other, session, closed):
            await store.add(made.record)
        found = await store.find(session.record.token_id)
        assert found is not None and found.parent_id == parent.record.token_id
        assert found.public()["session_of"] == parent.record.shown_id
        # Signing out revokes the session alone.
        await store.revoke(closed.record.token_id, f"carol-{unique}", NOW)
        still = await store.find(parent.record.token_id, fresh=True)
        assert still is not None and still.revoked_at is None
        # Revoking the token revokes its sessions with it; another token of carol's stays.
        revoked = await store.revoke(parent.record.token_id, "admin", NOW + timedelta(hours=1))
        assert revoked is not None and revoked.token_id == parent.record.token_id
        gone = await store.find(session.record.token_id, fresh=True)
        assert gone is not None and (gone.revoked_at, gone.revoked_by) == (
            NOW + timedelta(hours=1),
            "admin",
        )
        first = await store.find(closed.record.token_id, fresh=True)
        assert first is not None and first.revoked_by == f"carol-{unique}"  # kept
        kept = await store.find(other.record.token_id, fresh=True)
        assert kept is not None and kept.revoked_at is None

    run_with_store(scenario)


def test_sessions_long_expired_are_pruned_and_nothing_else(
    run_with_store: Any, unique: str
) -> None:
    parent = issued(f"erin-{unique}", days=30)
    old = issued(f"erin-{unique}", days=1, parent_id=parent.record.token_id)
    live = tokens.issue(
        f"erin-{unique}",
        display_name="Erin",
        kind="user",
        lifetime=timedelta(hours=8),
        created_by=f"erin-{unique}",
        now=NOW + timedelta(days=3),
        parent_id=parent.record.token_id,
    )
    lapsed = issued(f"frank-{unique}", days=1)  # an expired token that is not a session

    async def scenario(store: TokenStore) -> None:
        for made in (parent, old, live, lapsed):
            await store.add(made.record)
        # Sessions that expired before the cut go; every other row stays.
        assert await store.prune_sessions(NOW + timedelta(days=2)) >= 1
        assert await store.find(old.record.token_id, fresh=True) is None
        for kept in (parent, live, lapsed):
            assert await store.find(kept.record.token_id, fresh=True) is not None

    run_with_store(scenario)


def test_what_an_authenticator_accepts_and_refuses(run_with_store: Any) -> None:
    good, old, gone = issued("Carol".casefold()), issued("dave", days=1), issued("erin")
    clock = [NOW + timedelta(hours=1)]

    async def scenario(store: TokenStore) -> dict[str, str]:
        for made in (good, old, gone):
            await store.add(made.record)
        await store.revoke(gone.record.token_id, "admin", NOW)
        auth = Authenticator(store, clock=lambda: clock[0])
        me = await auth.authenticate(good.secret)
        assert (me.subject, me.display_name, me.via) == ("carol", "Carol", "token")
        assert me.credential == good.record.shown_id
        tampered = good.secret[:-2] + ("AA" if not good.secret.endswith("AA") else "BB")
        attempts = {
            "missing": None,
            "unknown": "rgm_abcdefghijkl_" + "x" * 43,
            "tampered": tampered,
            "malformed": "rgm_short",
            "revoked": gone.secret,
        }
        reasons = {}
        for label, credential in attempts.items():
            with pytest.raises(Unauthenticated) as refused:
                await auth.authenticate(credential)
            reasons[label] = refused.value.reason
        clock[0] = NOW + timedelta(days=1, seconds=1)
        with pytest.raises(Unauthenticated) as expired:
            await auth.authenticate(old.secret)
        reasons["expired"] = expired.value.reason
        return reasons

    assert run_with_store(scenario) == {
        "missing": "missing",
        "unknown": "unknown_token",
        # A wrong secret for a real id says no more than an unknown id.
        "tampered": "unknown_token",
        "malformed": "malformed",
        "revoked": "revoked",
        "expired": "expired",
    }


def test_postgres_keeps_no_secret_in_any_column(database_url: str) -> None:
    made = issued("frank")

    async def scenario() -> list[Any]:
        await keep_token(database_url, made.record)
        connection = await asyncpg.connect(database_url)
        try:
            row = await connection.fetchrow(
                f"SELECT * FROM {TABLE} WHERE token_id = $1", made.record.token_id
            )
            return [value for value in row.values()]
        finally:
            await connection.close()

    secret = made.secret.split("_", 2)[2]
    assert not any(secret in str(value) for value in asyncio.run(scenario()))


def test_a_revocation_refuses_writes_everywhere_at_once_and_clears_every_cache(
    database_url: str,
) -> None:
    # Three API processes, each with its cache; the token is used (and cached) in all.
    made = issued("gina")
    token_id = made.record.token_id

    async def scenario() -> tuple[str | None, bool, str | None, bool]:
        first, writer, reader = (
            CachedTokenStore(PostgresTokenStore(database_url, max_size=1)) for _ in range(3)
        )
        for store in (first, writer, reader):
            await store.setup()
        try:
            await first.add(made.record)
            for store in (first, writer, reader):
                found = await store.find(token_id)
                assert found is not None and found.revoked_at is None
                assert token_id in store._records
            await first.revoke(token_id, "admin", NOW)
            # No pause: a write's lookup reads the row, so another process refuses it.
            fresh = await writer.find(token_id, fresh=True)
            # A read's lookup drops the cached record once its listener has heard.
            loop = asyncio.get_running_loop()
            deadline = loop.time() + 5
            while token_id in reader._records:
                assert loop.time() < deadline, "the notice never came"
                await asyncio.sleep(0.01)
            heard = token_id not in reader._records
            again = await reader.find(token_id)
            return (
                fresh.revoked_by if fresh else None,
                heard,
                again.revoked_by if again else None,
                token_id in reader._records,
            )
        finally:
            for store in (first, writer, reader):
                await store.close()

    fresh_by, heard, read_by, cached_again = asyncio.run(scenario())
    assert fresh_by == "admin"
    assert heard
    assert read_by == "admin"
    assert cached_again  # read afresh (revoked), then cached as such


def test_without_its_listener_the_cache_reads_every_time(database_url: str) -> None:
    made = issued("hugo")

    async def scenario() -> str | None:
        cache = CachedTokenStore(PostgresTokenStore(database_url, max_size=2), retry_seconds=60)
        await cache.setup()
        try:
            await cache.add(made.record)
            await cache.find(made.record.token_id)
            assert cache._listener is not None
            # The listener's connection dies (a restarted database, a network cut)...
            async with cache.store.pool.acquire() as connection:
                await connection.execute(
                    "SELECT pg_terminate_backend($1)", cache._listener.get_server_pid()
                )
            for _ in range(200):
                if not cache._records:
                    break
                await asyncio.sleep(0.01)
            # ...so what it cached is dropped (it may have heard nothing in between)...
            assert cache._records == {}
            # ...and a change it never heard of is seen: nothing was kept.
            async with cache.store.pool.acquire() as connection:
                await connection.execute(
                    f"UPDATE {TABLE} SET revoked_at = now(), revoked_by = 'dba'"
                    " WHERE token_id = $1",
                    made.record.token_id,
                )
            found = await cache.find(made.record.token_id)
            return found.revoked_by if found else None
        finally:
            await cache.close()

    assert asyncio.run(scenario()) == "dba"
