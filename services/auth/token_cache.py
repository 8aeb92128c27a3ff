"""Token records kept in memory while PostgreSQL tells this process of every change.

Each use of a token would otherwise read its row (~0.2 ms here, more than the budget for
authenticating a read). The cache holds found records only while a LISTEN connection on
the tokens' channel is up: a revocation NOTIFYs with its commit, so every process drops
the record as soon as it hears (milliseconds), and the process that revoked waits for its
own notice before answering. Hearing ours does not prove another process has heard its
own yet (each backend delivers on its own), so writes never use the cache: a command
under a token revoked a moment ago, anywhere, is refused (`find(..., fresh=True)`).
Without the listener (lost, not yet back) nothing is cached and every use reads the row:
the cache fails closed, never stale.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import datetime
from typing import Any

import asyncpg

from services.auth.token_store import CHANNEL, PostgresTokenStore
from services.auth.tokens import TokenRecord

log = logging.getLogger(__name__)

MAX_ENTRIES = 10_000
NOTICE_WAIT = 2.0  # seconds the revoking process waits to hear its own notice


class CachedTokenStore:
    """A PostgresTokenStore with a cache that every revocation clears, in every process."""

    def __init__(self, store: PostgresTokenStore, retry_seconds: float = 1.0) -> None:
        self.store = store
        self.retry_seconds = retry_seconds
        self._records: dict[str, TokenRecord] = {}
        self._generation = 0  # changes heard so far: a lookup racing one is not cached
        self._listener: asyncpg.Connection | None = None
        self._heard: dict[str, asyncio.Event] = {}
        self._reconnect: asyncio.Task[None] | None = None
        self._closing = False

    @property
    def listening(self) -> bool:
        return self._listener is not None and not self._listener.is_closed()

    async def setup(self) -> None:
        await self.store.setup()
        if not self.listening:
            await self._listen()

    async def close(self) -> None:
        self._closing = True
        if self._reconnect is not None:
            self._reconnect.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._reconnect
        if self._listener is not None and not self._listener.is_closed():
            await self._listener.close()
        await self.store.close()

    # -- the store's methods -----------------------------------------------------------

    async def add(self, record: TokenRecord) -> None:
        await self.store.add(record)

    async def listed(self, subject: str | None = None) -> list[TokenRecord]:
        return await self.store.listed(subject)

    async def prune_sessions(self, expired_before: datetime) -> int:
        # Expired sessions are refused from the cache as from the table: nothing to clear.
        return await self.store.prune_sessions(expired_before)

    async def find(self, token_id: str, *, fresh: bool = False) -> TokenRecord | None:
        if not fresh and self.listening and token_id in self._records:
            return self._records[token_id]
        before = self._generation
        record = await self.store.find(token_id)
        if record is not None and self.listening and self._generation == before:
            if len(self._records) >= MAX_ENTRIES:
                self._records.pop(next(iter(self._records)))
            self._records[token_id] = record
        return record

    async def revoke(self, token_id: str, by: str, at: datetime) -> TokenRecord | None:
        heard = self._heard.setdefault(token_id, asyncio.Event())
        try:
            record = await self.store.revoke(token_id, by, at)
            if record is not None and self.listening:
                # Every listener gets the notice at once; hearing ours means theirs is in.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(heard.wait(), NOTICE_WAIT)
            return record
        finally:
            self._heard.pop(token_id, None)

    # -- the listener ------------------------------------------------------------------

    async def _listen(self) -> None:
        connection = await asyncpg.connect(self.store.dsn)
        try:
            connection.add_termination_listener(self._lost)
            await connection.add_listener(CHANNEL, self._changed)
        except BaseException:
            # Failed or cancelled (close() while listening again): never left to the
            # garbage collector, which would warn about it in whatever runs next.
            connection.terminate()
            raise
        self._forget()  # what was cached before we listened may have changed unheard
        self._listener = connection

    def _changed(self, _: Any, __: int, ___: str, token_id: str) -> None:
        self._generation += 1
        self._records.pop(token_id, None)
        heard = self._heard.get(token_id)
        if heard is not None:
            heard.set()

    def _lost(self, connection: Any) -> None:
        connection.terminate()  # its socket is gone; free what is left of it
        self._listener = None
        self._forget()
        if not self._closing:
            log.warning("token notifications lost; reading every token until they are back")
            self._reconnect = asyncio.get_running_loop().create_task(self._listen_again())

    async def _listen_again(self) -> None:
        while not self._closing and not self.listening:
            try:
                await self._listen()
            except (OSError, asyncpg.PostgresError, asyncpg.InterfaceError):
                await asyncio.sleep(self.retry_seconds)

    def _forget(self) -> None:
        self._generation += 1
        self._records.clear()
