"""Webhook records in the read database (table registrum_webhooks, schema version 5; see
services/schema/v5_webhooks.py for why a table and not events).

A secret is stored sealed by the Cipher (services/webhooks/secrets.py) and never leaves
this module in a record: `Webhook` has no secret field, only whether one is set. The
sender asks for it alone (`secret_of`). Deleting a webhook keeps its row, for the delivery
log that names it, and erases its secret.
"""

from __future__ import annotations

import base64
import time
import uuid
from dataclasses import dataclass

import asyncpg
import orjson

from services.webhooks.events import Event
from services.webhooks.secrets import Cipher

ACTIVE, DISABLED = "ACTIVE", "DISABLED"
STATUSES = (ACTIVE, DISABLED)
MAX_PAGE = 1000


class WebhookNotFound(LookupError):
    """No webhook (or a deleted one) has this id."""


class BadPageToken(ValueError):
    """A page token this registry did not hand out."""


@dataclass(frozen=True)
class Webhook:
    webhook_id: str
    name: str
    url: str
    description: str | None
    events: tuple[Event, ...]
    status: str
    has_secret: bool
    after_position: int  # the log position it was created at: it hears of later events
    created_by: str
    updated_by: str
    creation_timestamp: int  # milliseconds since the epoch, as MLflow's
    last_updated_timestamp: int

    def wire(self) -> dict[str, object]:
        """MLflow's JSON for a Webhook message (never a secret)."""
        shaped: dict[str, object] = {
            "webhook_id": self.webhook_id,
            "name": self.name,
            "url": self.url,
            "events": [e.wire() for e in self.events],
            "status": self.status,
            "creation_timestamp": self.creation_timestamp,
            "last_updated_timestamp": self.last_updated_timestamp,
        }
        if self.description:
            shaped["description"] = self.description
        return shaped


_COLUMNS = (
    "webhook_id, name, url, description, events, status, secret IS NOT NULL AS has_secret,"
    " after_position, created_by, updated_by, creation_timestamp, last_updated_timestamp"
)


def _record(row: asyncpg.Record) -> Webhook:
    return Webhook(
        webhook_id=row["webhook_id"],
        name=row["name"],
        url=row["url"],
        description=row["description"],
        events=tuple(Event.named(e) for e in row["events"]),
        status=row["status"],
        has_secret=row["has_secret"],
        after_position=row["after_position"],
        created_by=row["created_by"],
        updated_by=row["updated_by"],
        creation_timestamp=row["creation_timestamp"],
        last_updated_timestamp=row["last_updated_timestamp"],
    )


def now_ms() -> int:
    return time.time_ns() // 1_000_000


async def create(
    conn: asyncpg.Connection,
    cipher: Cipher,
    *,
    name: str,
    url: str,
    events: list[Event],
    description: str | None,
    secret: str | None,
    status: str,
    after_position: int,
    by: str,
) -> Webhook:
    at = now_ms()
    row = await conn.fetchrow(
        "INSERT INTO registrum_webhooks (webhook_id, name, url, description, events, status,"
        " secret, after_position, created_by, updated_by, creation_timestamp,"
        " last_updated_timestamp) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $9, $10, $10)"
        f" RETURNING {_COLUMNS}",
        uuid.uuid4().hex,
        name,
        url,
        description,
        [e.name for e in sorted(set(events))],
        status,
        cipher.seal(secret) if secret else None,
        after_position,
        by,
        at,
    )
    return _record(row)


async def get(conn: asyncpg.Connection, webhook_id: str) -> Webhook:
    row = await conn.fetchrow(
        f"SELECT {_COLUMNS} FROM registrum_webhooks WHERE webhook_id = $1 AND deleted_at IS NULL",
        webhook_id,
    )
    if row is None:
        raise WebhookNotFound(f"webhook {webhook_id!r} does not exist")
    return _record(row)


async def page(
    conn: asyncpg.Connection, max_results: int, token: str | None
) -> tuple[list[Webhook], str | None]:
    """One page of the webhooks not deleted (newest first), and the next page's token."""
    offset = _offset(token)
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM registrum_webhooks WHERE deleted_at IS NULL"
        " ORDER BY creation_timestamp DESC, webhook_id OFFSET $1 LIMIT $2",
        offset,
        max_results + 1,
    )
    more = len(rows) > max_results
    following = _token(offset + max_results) if more else None
    return [_record(r) for r in rows[:max_results]], following


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(orjson.dumps({"offset": offset})).decode()


def _offset(token: str | None) -> int:
    if not token:
        return 0
    try:
        offset = orjson.loads(base64.urlsafe_b64decode(token.encode()))["offset"]
    except (ValueError, KeyError, TypeError):
        raise BadPageToken(f"invalid page token {token!r}") from None
    if not isinstance(offset, int) or offset < 0:
        raise BadPageToken(f"invalid page token {token!r}")
    return offset


async def update(
    conn: asyncpg.Connection,
    cipher: Cipher | None,
    webhook_id: str,
    *,
    by: str,
    name: str | None = None,
    url: str | None = None,
    events: list[Event] | None = None,
    description: str | None = None,
    secret: str | None = None,
    status: str | None = None,
) -> Webhook:
    """Changes the fields given (None: unchanged); a new secret needs the cipher."""
    sealed = None
    if secret:
        if cipher is None:
            raise ValueError("a new secret needs the webhook key")
        sealed = cipher.seal(secret)
    row = await conn.fetchrow(
        "UPDATE registrum_webhooks SET name = coalesce($2, name), url = coalesce($3, url),"
        " events = coalesce($4, events), description = coalesce($5, description),"
        " secret = CASE WHEN $6 THEN $7 ELSE secret END, status = coalesce($8, status),"
        " updated_by = $9, last_updated_timestamp = $10"
        f" WHERE webhook_id = $1 AND deleted_at IS NULL RETURNING {_COLUMNS}",
        webhook_id,
        name,
        url,
        None if events is None else [e.name for e in sorted(set(events))],
        description,
        sealed is not None,
        sealed,
        status,
        by,
        now_ms(),
    )
    if row is None:
        raise WebhookNotFound(f"webhook {webhook_id!r} does not exist")
    return _record(row)


async def delete(conn: asyncpg.Connection, webhook_id: str, by: str) -> None:
    """Marks the webhook deleted, erases its secret, and cancels what it had pending."""
    async with conn.transaction():
        deleted = await conn.execute(
            "UPDATE registrum_webhooks SET deleted_at = now(), deleted_by = $2, secret = NULL,"
            " status = 'DISABLED' WHERE webhook_id = $1 AND deleted_at IS NULL",
            webhook_id,
            by,
        )
        if deleted != "UPDATE 1":
            raise WebhookNotFound(f"webhook {webhook_id!r} does not exist")
        await conn.execute(
            "UPDATE registrum_webhook_deliveries SET status = 'cancelled', finished_at = now()"
            " WHERE webhook_id = $1 AND status = 'pending'",
            webhook_id,
        )


async def subscribed(conn: asyncpg.Connection) -> list[Webhook]:
    """The webhooks that hear of new events: active and not deleted."""
    rows = await conn.fetch(
        f"SELECT {_COLUMNS} FROM registrum_webhooks WHERE status = 'ACTIVE' AND deleted_at IS NULL"
    )
    return [_record(r) for r in rows]


async def secret_of(conn: asyncpg.Connection, cipher: Cipher, webhook_id: str) -> str | None:
    """The webhook's secret in clear, for signing; None when it has none."""
    sealed = await conn.fetchval(
        "SELECT secret FROM registrum_webhooks WHERE webhook_id = $1", webhook_id
    )
    return None if sealed is None else cipher.open(bytes(sealed))


async def any_active(conn: asyncpg.Connection) -> bool:
    """Whether some webhook listens: then a `webhooks` follower must run somewhere."""
    return bool(
        await conn.fetchval(
            "SELECT EXISTS (SELECT 1 FROM registrum_webhooks"
            " WHERE deleted_at IS NULL AND status = 'ACTIVE')"
        )
    )
