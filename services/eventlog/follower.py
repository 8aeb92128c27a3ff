"""What every follower of the event log shares (projector, relay): one active instance
per lease (lease.py: a hung holder loses it, and its late writes are fenced off), waking
on the events table's NOTIFY with a slow poll as fallback, and retrying from its stored
position after any failure. Subclass Follower and give it a step."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Awaitable, Callable
from typing import ClassVar

import asyncpg

from services.eventlog import lease
from services.eventlog.lease import Lease, LeaseLost
from services.eventlog.reading import EVENTS_TABLE

log = logging.getLogger(__name__)


class Waker:
    """Sleeps until new events are committed, stop is set, or the poll interval passes.

    A notification that arrives while the follower is busy is kept, so its next sleep
    returns at once: a follower never waits a poll interval for events already there.
    """

    def __init__(self, poll_seconds: float) -> None:
        self.poll_seconds = poll_seconds
        self._wake = asyncio.Event()

    def notify(self, *_: object) -> None:
        self._wake.set()

    async def listen(self, conn: asyncpg.Connection) -> None:
        await conn.add_listener(EVENTS_TABLE, self.notify)

    async def sleep(self, stop: asyncio.Event, seconds: float | None = None) -> None:
        waiters = [asyncio.ensure_future(self._wake.wait()), asyncio.ensure_future(stop.wait())]
        timeout = self.poll_seconds if seconds is None else seconds
        await asyncio.wait(waiters, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
        for waiter in waiters:
            waiter.cancel()
        # Cleared after waking, before the follower reads: whatever commits from now on
        # notifies again.
        self._wake.clear()


async def settle(stop: asyncio.Event, since: float, gap: float) -> None:
    """Waits until gap seconds have passed since since (the event loop's clock), or stop."""
    remaining = gap - (asyncio.get_running_loop().time() - since)
    if remaining > 0:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=remaining)


async def keep_running(
    name: str, run_once: Callable[[asyncio.Event], Awaitable[None]], stop: asyncio.Event
) -> None:
    """Runs run_once until stop is set. A failure (lost connection, a broker away) is
    logged and run_once starts over after a growing pause: a dead follower would leave its
    readers silently stale."""
    pause = 0.5
    while not stop.is_set():
        try:
            await run_once(stop)
            return
        except Exception:
            log.exception("%s failed; retrying in %.1fs", name, pause)
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        pause = min(pause * 2, 5.0)


class Follower:
    """Reads the log in batches from its own stored position; subclasses say how."""

    role: ClassVar[str]  # names it in logs and in application_name
    # The least time between two steps that follow notifications: events committed in
    # a burst are handled in one batch, not one step each (each step costs queries and
    # CPU that a busy registry's requests would share). After a quiet spell a step runs at
    # once, so a lone write is seen without delay.
    step_gap_seconds: ClassVar[float] = 0.0

    def __init__(
        self,
        read_dsn: str,
        events_dsn: str | None,
        batch_size: int,
        poll_seconds: float,
        lease_seconds: float = lease.DEFAULT_SECONDS,
    ) -> None:
        self.read_dsn = read_dsn
        self.events_dsn = events_dsn or read_dsn
        self.batch_size = batch_size
        self.lease_seconds = lease_seconds
        self.active = asyncio.Event()  # set while this instance holds the lease
        self.lease: Lease | None = None  # the lease it holds or waits for, once connected
        # Sleeps end in time to renew the lease before a third of it has passed.
        self._waker = Waker(min(poll_seconds, lease_seconds / 4))

    @property
    def fence(self) -> Lease | None:
        """The lease its writes are conditional on while it leads; none for a tool's
        catch-up outside the lease."""
        return self.lease if self.active.is_set() else None

    @property
    def lease_name(self) -> str:
        """The lease that keeps one instance of this follower active."""
        return self.role

    async def prepare(self, read: asyncpg.Connection) -> None:
        """Readies what the follower keeps its position in (the projector makes its views'
        first generation; the tables themselves are the schema migrations') and forgets what
        it held in memory (it runs again after each takeover: another instance may have
        moved on meanwhile)."""

    async def step(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Handles one batch after the stored position; returns how many events it read."""
        raise NotImplementedError

    async def run(self, stop: asyncio.Event) -> None:
        """Runs until stop is set; stands by while another instance holds the lease."""
        await keep_running(self.role, self._run_once, stop)

    async def connect(self) -> tuple[asyncpg.Connection, asyncpg.Connection]:
        """(read, events) connections; one connection when both are the same database."""
        # The process id in application_name tells operators (and tests) who runs.
        settings = {
            "application_name": f"registrum-{self.role}:{os.getpid()}",
            **lease.session_settings(self.lease_seconds),
        }
        read = await asyncpg.connect(self.read_dsn, server_settings=settings)
        if self.events_dsn == self.read_dsn:
            return read, read
        try:
            return read, await asyncpg.connect(self.events_dsn, server_settings=settings)
        except BaseException:
            await read.close()
            raise

    async def _run_once(self, stop: asyncio.Event) -> None:
        read, events = await self.connect()
        try:
            await self.prepare(read)  # what readers need exists while this one stands by
            self.lease = Lease(read, self.lease_name, self.lease_seconds)
            await self._waker.listen(events)
            while await self.lease.wait(stop):
                try:
                    await self._lead(read, events, self.lease, stop)
                except LeaseLost as lost:
                    log.warning("%s; standing by", lost)
                finally:
                    self.active.clear()
        finally:
            await close(read, events)

    async def _lead(
        self, read: asyncpg.Connection, events: asyncpg.Connection, held: Lease, stop: asyncio.Event
    ) -> None:
        """Steps while this instance holds the lease; releases it when stopped."""
        await self.prepare(read)
        self.active.set()
        loop = asyncio.get_running_loop()
        while not stop.is_set():
            await held.keep()
            stepped = loop.time()
            if await self.step(read, events) < self.batch_size:
                await self._waker.sleep(stop)
                await settle(stop, stepped, self.step_gap_seconds)
        with contextlib.suppress(asyncpg.PostgresError, OSError):
            await held.release()


async def close(read: asyncpg.Connection, events: asyncpg.Connection) -> None:
    """Closes a follower's connections (one, when both are the same)."""
    await read.close()
    if events is not read:
        await events.close()
