"""API token records in PostgreSQL (the event store's database), through asyncpg.

Every use of a token reads its row, so a revocation made through any API process is
refused by all of them on the token's next use; the lookup is one indexed primary-key read
on a prepared statement. The table is made by the schema migrations (services/schema).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import asyncpg

from services.auth.tokens import TokenRecord

TABLE = "registrum_tokens"
CHANNEL = "registrum_tokens"  # NOTIFY payload: the id of a token that changed

_COLUMNS = (
    "token_id, secret_sha256, subject, display_name, kind, groups, description, created_by, "
    "created_at, expires_at, revoked_at, revoked_by, parent_id"
)


def _record(row: Any) -> TokenRecord:
    fields = dict(row)
    fields["groups"] = tuple(fields["groups"])
    fields["secret_sha256"] = bytes(fields["secret_sha256"])
    return TokenRecord(**fields)


class PostgresTokenStore:
    """Token records in one table; the pool is opened by setup() and closed by close()."""

    def __init__(self, dsn: str, *, max_size: int = 4) -> None:
        self.dsn = dsn
        self.max_size = max_size
        self._pool: asyncpg.Pool | None = None

    async def setup(self) -> None:
        if self._pool is None:
            self._pool = await asyncpg.create_pool(
                self.dsn,
                min_size=1,
                max_size=self.max_size,
                command_timeout=30,
                reset=_no_session_state,
            )

    @property
    def pool(self) -> asyncpg.Pool:
        if self._pool is None:
            raise RuntimeError("PostgresTokenStore.setup() was not awaited")
        return self._pool

    async def close(self) -> None:
        if self._pool is not None:
            await self._pool.close()
            self._pool = None

    async def add(self, record: TokenRecord) -> None:
        await self.pool.execute(
            f"INSERT INTO {TABLE} ({_COLUMNS}) "
            "VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13)",
            record.token_id,
            record.secret_sha256,
            record.subject,
            record.display_name,
            record.kind,
            list(record.groups),
            record.description,
            record.created_by,
            record.created_at,
            record.expires_at,
            record.revoked_at,
            record.revoked_by,
            record.parent_id,
        )

    async def find(self, token_id: str, *, fresh: bool = False) -> TokenRecord | None:
        row = await self.pool.fetchrow(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE token_id = $1", token_id
        )
        return None if row is None else _record(row)

    async def listed(self, subject: str | None = None) -> list[TokenRecord]:
        rows = await self.pool.fetch(
            f"SELECT {_COLUMNS} FROM {TABLE} WHERE $1::text IS NULL OR subject = $1 "
            "ORDER BY created_at DESC, token_id",
            subject,
        )
        return [_record(row) for row in rows]

    async def revoke(self, token_id: str, by: str, at: datetime) -> TokenRecord | None:
        # The notification goes out with the commit: every process caching this token
        # (token_cache.py) hears of it at the same moment the change becomes visible.
        # The console sessions opened with the token go with it, in the same transaction.
        async with self.pool.acquire() as connection, connection.transaction():
            rows = await connection.fetch(
                f"UPDATE {TABLE} SET revoked_at = coalesce(revoked_at, $2), "
                "revoked_by = coalesce(revoked_by, $3) WHERE token_id = $1 OR parent_id = $1 "
                f"RETURNING {_COLUMNS}",
                token_id,
                at,
                by,
            )
            for row in rows:
                await connection.execute("SELECT pg_notify($1, $2)", CHANNEL, row["token_id"])
        found = [_record(row) for row in rows if row["token_id"] == token_id]
        return found[0] if found else None

    async def prune_sessions(self, expired_before: datetime) -> int:
        status = await self.pool.execute(
            f"DELETE FROM {TABLE} WHERE parent_id IS NOT NULL AND expires_at < $1",
            expired_before,
        )
        return int(status.split()[-1])


async def _no_session_state(conn: asyncpg.Connection) -> None:
    """The store's statements leave nothing in the session (no LISTEN, SET or session
    lock; its NOTIFY is transactional), so asyncpg's default reset, a round trip on every
    release, is skipped: a write reads its token fresh, and paid it on every command. An
    open transaction is still rolled back by asyncpg itself."""


async def keep_token(dsn: str, record: TokenRecord) -> None:
    """Stores one token record through a connection of its own (start-up, operators)."""
    store = PostgresTokenStore(dsn, max_size=1)
    await store.setup()
    try:
        await store.add(record)
    finally:
        await store.close()
