"""Leases with fencing, so that one follower of each kind is active and a hung one is
replaced.

An advisory lock belongs to a session: a holder that hangs (SIGSTOP, a stuck call, a
partition that keeps its TCP connection open) keeps it forever, and its standby waits
forever. A lease instead lapses unless its holder renews it, which it does only from
its step loop, so a holder that stops making progress loses it within `seconds` and a
standby takes it. A holder whose database session has ended (the process died, or its
connection was cut) is replaced at once, without waiting for the lease to lapse. Every
takeover raises the lease's token.

The token fences the old holder: each write of a position (the projector's views, the
relay's mark) carries a condition that the lease is still held with that token and has
not lapsed, with FOR SHARE on the lease's row. A takeover therefore waits for a write in
flight to commit, and a write after the takeover changes nothing: the old holder learns
it lost the lease (LeaseLost) and stands by again. The database's clock decides lapse,
so the machines' clocks need not agree.

Follower connections set idle_in_transaction_session_timeout to the lease time (see
`session_settings`): a holder frozen inside a transaction would otherwise keep the row
lock, and its standby could not take over.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import socket
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

import asyncpg

log = logging.getLogger("registrum")

Runner = Callable[[asyncio.Event], Awaitable[None]]

DEFAULT_SECONDS = 10.0
TABLE = "registrum_leases"  # made by the schema migrations (services/schema/v2_leases.py)

# A write of a position goes through only while its writer still holds the lease.
# Parameters: the lease's name, holder and token, at the positions given to `condition`.
_HELD = (
    "EXISTS (SELECT FROM " + TABLE + " WHERE name = ${0} AND holder = ${1} AND token = ${2}"
    " AND expires_at > statement_timestamp() FOR SHARE)"
)

_ACQUIRE = f"""
INSERT INTO {TABLE} AS l (name, holder, token, expires_at, renewed_at, backend_pid)
VALUES ($1, $2, 1, now() + make_interval(secs => $3), now(), pg_backend_pid())
ON CONFLICT (name) DO UPDATE
    SET holder = excluded.holder, token = l.token + 1, expires_at = excluded.expires_at,
        renewed_at = now(), backend_pid = excluded.backend_pid
    WHERE l.expires_at <= now()
       OR NOT EXISTS (SELECT FROM pg_stat_activity a WHERE a.pid = l.backend_pid)
RETURNING token, (SELECT h.holder FROM {TABLE} h WHERE h.name = $1) AS previous
"""

_RENEW = f"""
UPDATE {TABLE} SET expires_at = now() + make_interval(secs => $4), renewed_at = now()
WHERE name = $1 AND holder = $2 AND token = $3 AND expires_at > now()
"""

_RELEASE = f"UPDATE {TABLE} SET expires_at = now() WHERE name = $1 AND holder = $2 AND token = $3"


class LeaseLost(Exception):
    """This process no longer holds the lease: another took it over, or it lapsed."""


def holder_id() -> str:
    """Who holds a lease: the machine, the process, and a nonce for this holder."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def session_settings(seconds: float) -> dict[str, str]:
    """Server settings for a follower's connections under a lease of seconds."""
    return {"idle_in_transaction_session_timeout": str(int(seconds * 1000))}


@dataclass(frozen=True)
class Holding:
    name: str
    holder: str
    expires_at: datetime


async def holding(conn: asyncpg.Connection, name: str) -> Holding | None:
    """Who holds the lease name and until when (possibly lapsed); None if never taken."""
    row = await conn.fetchrow(f"SELECT holder, expires_at FROM {TABLE} WHERE name = $1", name)
    return None if row is None else Holding(name, row["holder"], row["expires_at"])


class Lease:
    """One process's claim on the lease name, on one connection (the read database's)."""

    def __init__(
        self, conn: asyncpg.Connection, name: str, seconds: float = DEFAULT_SECONDS
    ) -> None:
        self.conn = conn
        self.name = name
        self.seconds = seconds
        self.holder = holder_id()
        self.token: int | None = None
        self._renewed = 0.0

    async def take(self) -> bool:
        """Takes the lease if it is free or lapsed (raising its token); False if another
        holds it. A takeover waits at most a second for a write in flight to commit."""
        async with self.conn.transaction():
            await self.conn.execute("SET LOCAL lock_timeout = '1s'")
            try:
                row = await self.conn.fetchrow(_ACQUIRE, self.name, self.holder, self.seconds)
            except asyncpg.LockNotAvailableError:
                return False
        if row is None:
            return False
        self.token = row["token"]
        self._renewed = asyncio.get_running_loop().time()
        previous = row["previous"]
        if previous and previous != self.holder and self.token > 1:
            log.warning(
                "%s: took over the lease from %s (token %d)", self.name, previous, self.token
            )
        else:
            log.info("%s: holds the lease (token %d)", self.name, self.token)
        return True

    async def wait(self, stop: asyncio.Event, every: float = 0.5) -> bool:
        """Stands by until the lease is taken (True) or stop is set (False)."""
        said = False
        while not stop.is_set():
            if await self.take():
                return True
            if not said:
                now = await holding(self.conn, self.name)
                log.info(
                    "%s: stands by; the lease is held by %s",
                    self.name,
                    now.holder if now else "nobody",
                )
                said = True
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), timeout=every)
        return False

    async def keep(self) -> None:
        """Renews the lease when a third of its time has passed; LeaseLost if it is gone.
        Called from the follower's loop, so only a follower that makes progress keeps it."""
        if asyncio.get_running_loop().time() - self._renewed < self.seconds / 3:
            return
        renewed = await self.conn.execute(_RENEW, self.name, self.holder, self.token, self.seconds)
        if renewed != "UPDATE 1":
            self._lost()
        self._renewed = asyncio.get_running_loop().time()

    async def check(self) -> None:
        """LeaseLost unless the lease is still held with this token and has not lapsed."""
        held = await self.conn.fetchval(
            f"SELECT {self.condition(1)}", self.name, self.holder, self.token
        )
        if not held:
            self._lost()

    async def release(self) -> None:
        """Lets a standby take over at once (a clean stop)."""
        if self.token is not None:
            await self.conn.execute(_RELEASE, self.name, self.holder, self.token)
            self.token = None

    def condition(self, first: int) -> str:
        """The SQL condition that fences a write: its parameters are `params()`, from
        position first on."""
        return _HELD.format(first, first + 1, first + 2)

    def params(self) -> tuple[str, str, int | None]:
        return self.name, self.holder, self.token

    def _lost(self) -> None:
        token, self.token = self.token, None
        raise LeaseLost(f"{self.name}: lost the lease (token {token}) to another holder")


async def run_leased(
    dsn: str, name: str, seconds: float, runner: Runner, stop: asyncio.Event
) -> None:
    """Runs runner only while this process holds the lease name (a standby waits): a role
    whose work is not a log follower's steps (the checkpoint signer) but must still run
    once. The lease is renewed from this loop, and runner is stopped when it is lost."""
    conn = await asyncpg.connect(dsn, server_settings=session_settings(seconds))
    try:
        held = Lease(conn, name, seconds)
        stopping = asyncio.ensure_future(stop.wait())
        while await held.wait(stop):
            working = asyncio.Event()
            task = asyncio.ensure_future(runner(working))
            try:
                while not stop.is_set() and not task.done():
                    await asyncio.wait(
                        {task, stopping}, timeout=seconds / 4, return_when=asyncio.FIRST_COMPLETED
                    )
                    await held.keep()
                if not task.done():
                    working.set()
                    await task
                    await held.release()
                    return
                task.result()  # a runner that ended by itself: its error, or its end
                return
            except LeaseLost as lost:
                log.warning("%s; standing by", lost)
                working.set()
                with contextlib.suppress(Exception):
                    await task
    finally:
        stopping.cancel()
        await conn.close()
