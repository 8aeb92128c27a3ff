"""Reading the chain from the event store (asyncpg): its head, the events and links in
position order for verify and export, and the checkpoints and keys the log holds.

Events and links are read a batch at a time (keyset pages on their primary keys) in one
REPEATABLE READ transaction, so every page sees one snapshot of the log, and merged by
position here (a join ordered by either side would sort the whole log).
"""

from __future__ import annotations

import base64
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import asyncpg
import orjson

from services.audit.chain_table import CHAIN_TABLE
from services.audit.signing import Checkpoint
from services.audit.verify import EventRow, LinkRow
from services.eventlog.reading import COLUMNS, EVENTS_TABLE, decode_row

_AUDIT = "services.registry.domain.audit:"
CHECKPOINT_TOPIC = _AUDIT + "Checkpoint.CheckpointSigned"
KEY_TOPIC = _AUDIT + "SigningKeys.SigningKeyAdded"
BATCH = 5000


async def head(conn: asyncpg.Connection) -> tuple[int, bytes] | None:
    """The chain's last position and link; None while nothing is linked."""
    try:
        row = await conn.fetchrow(
            f'SELECT position, link FROM "{CHAIN_TABLE}" ORDER BY position DESC LIMIT 1'
        )
    except asyncpg.UndefinedTableError:
        return None
    return (row[0], bytes(row[1])) if row else None


async def last_checkpoint_event(conn: asyncpg.Connection) -> int:
    """The position of the last checkpoint recorded in the log; 0 when there is none."""
    try:
        value = await conn.fetchval(
            f'SELECT max(notification_id) FROM "{EVENTS_TABLE}" WHERE topic = $1',
            CHECKPOINT_TOPIC,
        )
    except asyncpg.UndefinedTableError:
        return 0
    return int(value or 0)


async def recorded(conn: asyncpg.Connection) -> tuple[list[Checkpoint], dict[str, bytes]]:
    """The checkpoints and the signing keys recorded in the log."""
    try:
        rows = await conn.fetch(
            f'SELECT topic, state FROM "{EVENTS_TABLE}" WHERE topic = ANY($1::text[])'
            " ORDER BY notification_id",
            [CHECKPOINT_TOPIC, KEY_TOPIC],
        )
    except asyncpg.UndefinedTableError:
        return [], {}
    checkpoints, keys = [], {}
    for topic, state in rows:
        data = orjson.loads(state)
        try:
            if topic == KEY_TOPIC:
                keys[data["key_id"]] = base64.b64decode(data["public_key"], validate=True)
            else:
                checkpoints.append(Checkpoint.from_json(data))
        except (KeyError, ValueError):
            continue  # a malformed row: the chain reports it as edited or inserted
    return checkpoints, keys


@asynccontextmanager
async def snapshot(conn: asyncpg.Connection) -> AsyncIterator[None]:
    async with conn.transaction(isolation="repeatable_read", readonly=True):
        yield


async def spans(
    conn: asyncpg.Connection, batch: int = BATCH
) -> AsyncIterator[tuple[list[asyncpg.Record], list[asyncpg.Record]]]:
    """The events and the links of one span of positions at a time, in position order, as
    the database returned them (for Verifier.feed_batch). Call inside snapshot(conn). Each
    span holds up to `batch` events and the links up to the last of them (after the last
    event: every link left). Keyset pages on both primary keys."""
    after = 0
    while True:
        events = await conn.fetch(
            "SELECT notification_id, originator_id, originator_version, topic, state"
            f' FROM "{EVENTS_TABLE}" WHERE notification_id > $1 ORDER BY notification_id'
            " LIMIT $2",
            after,
            batch,
        )
        last = events[-1][0] if len(events) == batch else None
        links = await conn.fetch(
            f'SELECT position, head, payload, link FROM "{CHAIN_TABLE}" WHERE position > $1'
            " AND ($2::bigint IS NULL OR position <= $2) ORDER BY position",
            after,
            last,
        )
        yield events, links
        if last is None:
            return
        after = last


async def batches(
    conn: asyncpg.Connection, batch: int = BATCH
) -> AsyncIterator[list[tuple[EventRow | None, LinkRow | None]]]:
    """Every position holding an event or a link, in order, with what it holds, a batch
    at a time. Call inside snapshot(conn). Each batch takes up to `batch` events and the
    links up to the last of them (after the last event: every link left)."""
    async for events, links in spans(conn, batch):
        yield merge([EventRow(*e) for e in events], [LinkRow(*c) for c in links])


def merge(
    events: list[EventRow], links: list[LinkRow]
) -> list[tuple[EventRow | None, LinkRow | None]]:
    """Events and links paired by position (either may be missing at one)."""
    out: list[tuple[EventRow | None, LinkRow | None]] = []
    i = j = 0
    while i < len(events) or j < len(links):
        e = events[i] if i < len(events) else None
        c = links[j] if j < len(links) else None
        if e is not None and (c is None or e.position < c.position):
            out.append((e, None))
            i += 1
        elif c is not None and (e is None or c.position < e.position):
            out.append((None, c))
            j += 1
        else:
            out.append((e, c))
            i += 1
            j += 1
    return out


async def rows(
    conn: asyncpg.Connection, batch: int = BATCH
) -> AsyncIterator[tuple[EventRow | None, LinkRow | None]]:
    """The pairs of batches(), one at a time."""
    async for pairs in batches(conn, batch):
        for pair in pairs:
            yield pair


@dataclass(frozen=True)
class Recorded:
    """An audit event as the log holds it: where, when, and its fields."""

    position: int
    time: datetime
    data: dict[str, Any]


async def recorded_page(
    conn: asyncpg.Connection, topic: str, after: int, limit: int
) -> list[Recorded]:
    """Up to limit checkpoint (CHECKPOINT_TOPIC) or key (KEY_TOPIC) events after the log
    position after, in log order."""
    try:
        rows = await conn.fetch(
            f'SELECT {COLUMNS} FROM "{EVENTS_TABLE}" WHERE topic = $1'
            " AND notification_id > $2 ORDER BY notification_id LIMIT $3",
            topic,
            after,
            limit,
        )
    except asyncpg.UndefinedTableError:
        return []
    events = [decode_row(r) for r in rows]
    return [Recorded(e.position, e.timestamp, e.data) for e in events]
