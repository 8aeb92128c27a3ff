"""The delivery queue and log (table registrum_webhook_deliveries, and one row per attempt
in registrum_webhook_attempts).

A delivery is one event for one webhook. Its id is derived from the webhook, the registry
and the event's log position (uuid5), so the same delivery carries the same
X-MLflow-Delivery-Id on every attempt, and even if it were ever enqueued again; receivers
deduplicate on it. Its body is fixed when it is enqueued: every attempt sends the same
bytes (only the timestamp header and the signature are per attempt).

Order: deliveries form one queue per (webhook, model), in log order (`seq`). Only the
head of a queue is ever sent; a later delivery for the same model waits while an earlier
one is being retried, so a receiver never sees a model's events out of order. Queues of
different models and webhooks do not wait for each other.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import asyncpg
import orjson

from services.eventlog.lease import Lease
from services.webhooks.payloads import Notice

NAMESPACE = uuid.UUID("1b1c0d9e-5f6a-4f43-9a0c-7e2f3b8a6d51")  # Registrum's webhook deliveries
STATUSES = ("pending", "delivered", "failed", "cancelled")


def delivery_id(store_id: str, webhook_id: str, position: int, event: str) -> uuid.UUID:
    """Stable per (registry, webhook, log position, event): the same on every attempt."""
    return uuid.uuid5(NAMESPACE, f"{store_id}:{webhook_id}:{position}:{event}")


def body(notice: Notice) -> bytes:
    """MLflow's delivery body: entity, action, timestamp (the event's time, so that every
    attempt sends the same bytes) and data."""
    return orjson.dumps(
        {
            "entity": notice.event.entity,
            "action": notice.event.action,
            "timestamp": notice.time.isoformat(),
            "data": notice.data,
        }
    )


@dataclass(frozen=True)
class Queued:
    """A delivery to enqueue."""

    delivery_id: uuid.UUID
    webhook_id: str
    position: int
    event: str
    model_id: str
    model: str
    body: bytes


async def enqueue(conn: asyncpg.Connection, deliveries: Sequence[Queued]) -> None:
    """Adds deliveries in the order given (their order within each queue)."""
    if not deliveries:
        return
    await conn.executemany(
        "INSERT INTO registrum_webhook_deliveries (delivery_id, webhook_id, position, event,"
        " model_id, model, body, status) VALUES ($1, $2, $3, $4, $5, $6, $7, 'pending')"
        " ON CONFLICT (delivery_id) DO NOTHING",
        [
            (d.delivery_id, d.webhook_id, d.position, d.event, d.model_id, d.model, d.body)
            for d in deliveries
        ],
    )


@dataclass(frozen=True)
class Due:
    """The head of one queue, due to be sent now."""

    delivery_id: uuid.UUID
    webhook_id: str
    url: str
    body: bytes
    attempts: int
    created_at: datetime


async def due(conn: asyncpg.Connection, limit: int) -> list[Due]:
    """Heads of queues whose next attempt is due, of active webhooks, oldest first."""
    rows = await conn.fetch(
        "SELECT h.delivery_id, h.webhook_id, w.url, h.body, h.attempts, h.created_at"
        " FROM (SELECT DISTINCT ON (webhook_id, model_id) delivery_id, webhook_id, body,"
        "   attempts, created_at, next_attempt_at, seq"
        "   FROM registrum_webhook_deliveries WHERE status = 'pending'"
        "   ORDER BY webhook_id, model_id, seq) h"
        " JOIN registrum_webhooks w USING (webhook_id)"
        " WHERE h.next_attempt_at <= now() AND w.status = 'ACTIVE' AND w.deleted_at IS NULL"
        " ORDER BY h.seq LIMIT $1",
        limit,
    )
    return [
        Due(
            r["delivery_id"],
            r["webhook_id"],
            r["url"],
            bytes(r["body"]),
            r["attempts"],
            r["created_at"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class Attempt:
    """What one request did: a status code (any answer) or an error (no answer)."""

    started_at: datetime
    duration_ms: int
    status_code: int | None = None
    error: str | None = None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


def backoff(attempt: int, first: float, longest: float) -> timedelta:
    """The wait after the attempt-th failure: first, doubling, at most longest."""
    return timedelta(seconds=min(first * 2 ** (attempt - 1), longest))


async def record(
    conn: asyncpg.Connection,
    sent: Due,
    attempt: Attempt,
    *,
    retry_after: timedelta,
    give_up_after: timedelta,
    fence: Lease | None,
) -> str:
    """Stores an attempt and the delivery's new state (delivered; pending with its next
    attempt; failed once it is older than give_up_after); returns that state ("cancelled",
    recording nothing, when its webhook was deleted meanwhile). Fenced: a holder that lost
    its lease records nothing (LeaseLost)."""
    number = sent.attempts + 1
    if attempt.delivered:
        status, next_at = "delivered", None
    elif attempt.started_at - sent.created_at >= give_up_after:
        status, next_at = "failed", None
    else:
        status, next_at = "pending", attempt.started_at + retry_after
    held = "" if fence is None else " AND " + fence.condition(8)
    async with conn.transaction():
        updated = await conn.execute(
            "UPDATE registrum_webhook_deliveries SET status = $3, attempts = $2,"
            " next_attempt_at = coalesce($4, next_attempt_at),"
            " finished_at = CASE WHEN $3 = 'pending' THEN NULL ELSE now() END,"
            " last_status_code = $5, last_error = $6"
            " WHERE delivery_id = $1 AND attempts = $7 AND status = 'pending'" + held,
            sent.delivery_id,
            number,
            status,
            next_at,
            attempt.status_code,
            attempt.error,
            sent.attempts,
            *(() if fence is None else fence.params()),
        )
        if updated != "UPDATE 1":
            if fence is not None:
                await fence.check()  # LeaseLost when another sender took over
            # Still this sender's: the delivery was cancelled meanwhile (its webhook deleted).
            return "cancelled"
        await _attempt_row(conn, sent.delivery_id, number, attempt, next_at)
    return status


async def _attempt_row(
    conn: asyncpg.Connection,
    delivery: uuid.UUID,
    number: int,
    attempt: Attempt,
    next_at: datetime | None,
) -> None:
    await conn.execute(
        "INSERT INTO registrum_webhook_attempts (delivery_id, attempt, started_at,"
        " duration_ms, status_code, error, next_attempt_at) VALUES ($1, $2, $3, $4, $5, $6, $7)",
        delivery,
        number,
        attempt.started_at,
        attempt.duration_ms,
        attempt.status_code,
        attempt.error,
        next_at,
    )


async def record_test(
    conn: asyncpg.Connection,
    test_id: uuid.UUID,
    webhook_id: str,
    event: str,
    sent: bytes,
    attempt: Attempt,
) -> None:
    """Logs a test fire (sent at once, by the API, never retried) with its one attempt."""
    async with conn.transaction():
        await conn.execute(
            "INSERT INTO registrum_webhook_deliveries (delivery_id, webhook_id, position,"
            " event, model_id, model, body, status, attempts, finished_at, last_status_code,"
            " last_error, test) VALUES ($1, $2, 0, $3, '', '', $4, $5, 1, now(), $6, $7, true)",
            test_id,
            webhook_id,
            event,
            sent,
            "delivered" if attempt.delivered else "failed",
            attempt.status_code,
            attempt.error,
        )
        await _attempt_row(conn, test_id, 1, attempt, None)


async def deliveries(
    conn: asyncpg.Connection,
    *,
    webhook_id: str | None,
    status: str | None,
    limit: int,
    before: int | None = None,
) -> list[dict[str, Any]]:
    """The delivery log, newest first, with every attempt of each delivery."""
    rows = await conn.fetch(
        "SELECT d.seq, d.delivery_id, d.webhook_id, w.name AS webhook, d.position, d.event,"
        " d.model, d.status, d.attempts, d.created_at, d.finished_at, d.next_attempt_at,"
        " d.last_status_code, d.last_error, d.test,"
        " coalesce((SELECT json_agg(json_build_object('attempt', a.attempt, 'started_at',"
        "   a.started_at, 'duration_ms', a.duration_ms, 'status_code', a.status_code,"
        "   'error', a.error, 'next_attempt_at', a.next_attempt_at) ORDER BY a.attempt)::text"
        "   FROM registrum_webhook_attempts a WHERE a.delivery_id = d.delivery_id), '[]')"
        "   AS attempt_log"
        " FROM registrum_webhook_deliveries d JOIN registrum_webhooks w USING (webhook_id)"
        " WHERE ($1::text IS NULL OR d.webhook_id = $1) AND ($2::text IS NULL OR d.status = $2)"
        " AND ($3::bigint IS NULL OR d.seq < $3)"
        " ORDER BY d.seq DESC LIMIT $4",
        webhook_id,
        status,
        before,
        limit,
    )
    found = []
    for r in rows:
        row = dict(r)
        row["delivery_id"] = str(row["delivery_id"])
        for key in ("created_at", "finished_at", "next_attempt_at"):
            row[key] = row[key].isoformat() if row[key] else None
        if row["status"] != "pending":
            row["next_attempt_at"] = None
        row["attempt_log"] = orjson.loads(row.pop("attempt_log"))
        found.append(row)
    return found


async def counts(conn: asyncpg.Connection) -> dict[str, int]:
    """Deliveries pending and failed, for /health and /metrics."""
    rows = await conn.fetch(
        "SELECT status, count(*) AS n FROM registrum_webhook_deliveries"
        " WHERE status IN ('pending', 'failed') AND NOT test GROUP BY status"
    )
    found = {"pending": 0, "failed": 0}
    found.update({r["status"]: r["n"] for r in rows})
    return found
