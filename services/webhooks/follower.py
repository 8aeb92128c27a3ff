"""The webhooks follower: the event log delivered to webhooks, at least once and in order
per model, across receiver outages and restarts.

Like the relay, it follows the log from its own position (its row `webhooks` in
relay_positions, so /health shows its lag with the relays'), one active instance at a
time under the lease `webhooks`. Each step has two halves:

1. Enqueue: read a batch of events after the position, turn each into the notices
   webhooks hear of (services/webhooks/payloads.py), and for every active webhook
   subscribed to a notice's event add a delivery; the deliveries and the new position
   are written in ONE transaction, fenced by the lease. A crash before it commits enqueues
   the batch again; after, never twice. The receiver's state does not hold the position
   back: a receiver that is down only lengthens its own queues.
2. Send: the head of each (webhook, model) queue that is due is posted (concurrently
   across queues, never two of one queue), and each attempt is recorded, fenced too. A
   failure schedules the next attempt after an exponential backoff (capped); the queue
   behind it waits. Sending goes on in rounds until nothing is due or a time budget is
   spent, so that the lease is renewed in time.

Undelivered deliveries live in the table, so a restart (or a standby taking over) simply
carries on with them.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import asyncpg

from services.eventlog import lease
from services.eventlog.follower import Follower
from services.eventlog.postgres import PostgresEventLog
from services.eventlog.reading import read_after
from services.eventlog.record import StoredEvent
from services.relay import positions
from services.relay.facts import StoreFacts
from services.relay.positions import Mark
from services.webhooks import queue, store
from services.webhooks.payloads import notices
from services.webhooks.queue import Due, Queued
from services.webhooks.secrets import Cipher, SecretUnreadable
from services.webhooks.sender import Sender

log = logging.getLogger(__name__)

NAME = "webhooks"  # its row in relay_positions, and its lease


@dataclass(frozen=True)
class Delivery:
    """How deliveries are sent and retried."""

    timeout_seconds: float = 5.0
    first_retry_seconds: float = 1.0
    longest_retry_seconds: float = 300.0
    give_up_after: timedelta = timedelta(hours=72)
    allow_private_urls: bool = False
    concurrency: int = 16  # queues posted to at once


class WebhookFollower(Follower):
    """Enqueues and sends webhook deliveries (see the module's docstring)."""

    role = "webhooks"
    step_gap_seconds = 0.02

    def __init__(
        self,
        cipher: Cipher,
        read_dsn: str,
        events_dsn: str | None = None,
        *,
        store_id: str = "registry",
        delivery: Delivery = Delivery(),
        batch_size: int = 500,
        poll_seconds: float = 0.5,
        lease_seconds: float = lease.DEFAULT_SECONDS,
    ) -> None:
        super().__init__(read_dsn, events_dsn, batch_size, poll_seconds, lease_seconds)
        self.cipher = cipher
        self.store_id = store_id
        self.delivery = delivery
        self.sender = Sender(delivery.timeout_seconds, delivery.allow_private_urls)
        # A round of sending starts only while this much of the step's time is left.
        self.send_budget = min(2.0, lease_seconds / 5)
        self._facts = StoreFacts()

    @property
    def lease_name(self) -> str:
        return NAME

    async def prepare(self, read: asyncpg.Connection) -> None:
        self._facts.clear()  # another instance may have moved on meanwhile

    async def step(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Enqueues one batch and sends what is due; returns how many events it read, or
        a full batch while deliveries are still due (so the follower steps again at once)."""
        read_count = await self.enqueue(read, events)
        more_due = await self.send(read)
        return self.batch_size if more_due else read_count

    async def enqueue(self, read: asyncpg.Connection, events: asyncpg.Connection) -> int:
        """Enqueues one batch's deliveries with the new position, in one fenced transaction;
        with no webhook listening, only the position moves (nothing else is read)."""
        mark = await positions.load(read, NAME)
        batch = await read_after(events, mark.position, self.batch_size)
        if not batch:
            await positions.touch(read, NAME)
            return 0
        try:
            hooks = await store.subscribed(read)
            queued = await self._deliveries(events, batch, hooks) if hooks else []
            async with read.transaction():
                await queue.enqueue(read, queued)
                await positions.store(read, NAME, Mark(batch[-1].position, 0), self.fence)
        except BaseException:
            self._facts.clear()  # the cache saw this batch; the retry must not
            raise
        if not hooks:
            # Nothing listened, so the cache did not follow this batch (renames included).
            self._facts.clear()
        return len(batch)

    async def _deliveries(
        self, events: asyncpg.Connection, batch: list[StoredEvent], hooks: list[store.Webhook]
    ) -> list[Queued]:
        """The deliveries of a batch to these webhooks, in log order."""
        await self._facts.load(PostgresEventLog(events), batch)
        queued: list[Queued] = []
        for event in batch:
            self._facts.observe(event)
            for notice in notices(event, self._facts):
                name = notice.event.name
                queued += [
                    Queued(
                        queue.delivery_id(self.store_id, hook.webhook_id, event.position, name),
                        hook.webhook_id,
                        event.position,
                        name,
                        notice.model_id,
                        notice.model,
                        queue.body(notice),
                    )
                    for hook in hooks
                    if notice.event in hook.events and event.position > hook.after_position
                ]
        return queued

    async def send(self, read: asyncpg.Connection) -> bool:
        """Sends due deliveries in rounds; True when some are still due."""
        loop = asyncio.get_running_loop()
        started = loop.time()
        while loop.time() - started < self.send_budget:
            heads = await queue.due(read, self.delivery.concurrency)
            if not heads:
                return False
            secrets = {w: await self._secret(read, w) for w in {h.webhook_id for h in heads}}
            attempts = await asyncio.gather(*(self._post(h, secrets[h.webhook_id]) for h in heads))
            for head, attempt in zip(heads, attempts, strict=True):
                await self._record(read, head, attempt)
        return True

    async def _secret(self, read: asyncpg.Connection, webhook_id: str) -> str | Exception | None:
        """The webhook's secret; the error when it cannot be decrypted (the key file was
        replaced), which fails that webhook's attempts, never the others'."""
        try:
            return await store.secret_of(read, self.cipher, webhook_id)
        except SecretUnreadable as exc:
            return exc

    async def _post(self, head: Due, secret: str | Exception | None) -> queue.Attempt:
        if isinstance(secret, Exception):  # never sent unsigned
            return queue.Attempt(datetime.now(UTC), 0, error=str(secret))
        attempt, _ = await self.sender.post(head.url, secret, str(head.delivery_id), head.body)
        return attempt

    async def _record(self, read: asyncpg.Connection, head: Due, attempt: queue.Attempt) -> None:
        d = self.delivery
        wait = queue.backoff(head.attempts + 1, d.first_retry_seconds, d.longest_retry_seconds)
        status = await queue.record(
            read, head, attempt, retry_after=wait, give_up_after=d.give_up_after, fence=self.fence
        )
        if status == "failed":
            log.error(
                "webhook delivery %s failed for good after %d attempts",
                head.delivery_id,
                head.attempts + 1,
            )
        elif status == "pending" and head.attempts == 0:
            log.warning(
                "webhook delivery %s to %s failed (%s); retrying",
                head.delivery_id,
                head.webhook_id,
                attempt.error or f"HTTP {attempt.status_code}",
            )

    async def aclose(self) -> None:
        await self.sender.aclose()


async def run_webhooks(follower: WebhookFollower, stop: asyncio.Event) -> None:
    """Runs the follower until stop; closes its HTTP client after."""
    try:
        await follower.run(stop)
    finally:
        await follower.aclose()
