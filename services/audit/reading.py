"""Reading the chain from the event store (asyncpg): its head, the events and links in
position order for verify and export, and the checkpoints and keys the log holds.

Events and links are read as two ordered streams in one REPEATABLE READ transaction, so
both see one snapshot of the log, and merged by position here (a join ordered by either
side would sort the whole log).
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


async def rows(
    conn: asyncpg.Connection, batch: int = BATCH
) -> AsyncIterator[tuple[EventRow | None, LinkRow | None]]:
    """Every position holding an event or a link, in order, with what it holds. Call
    inside snapshot(conn)."""
    events = await conn.cursor(
        "SELECT notification_id, originator_id, originator_version, topic, state"
        f' FROM "{EVENTS_TABLE}" ORDER BY notification_id'
    )
    links = await conn.cursor(
        f'SELECT position, head, payload, link FROM "{CHAIN_TABLE}" ORDER BY position'
    )
    event_rows = _stream(events, batch)
    link_rows = _stream(links, batch)
    event = await anext(event_rows, None)
    chained = await anext(link_rows, None)
    while event is not None or chained is not None:
        e = EventRow(*event) if event is not None else None
        c = LinkRow(*chained) if chained is not None else None
        if e is not None and (c is None or e.position < c.position):
            yield e, None
            event = await anext(event_rows, None)
        elif c is not None and (e is None or c.position < e.position):
            yield None, c
            chained = await anext(link_rows, None)
        else:
            yield e, c
            event = await anext(event_rows, None)
            chained = await anext(link_rows, None)


async def _stream(cursor: asyncpg.cursor.Cursor, batch: int) -> AsyncIterator[asyncpg.Record]:
    while chunk := await cursor.fetch(batch):
        for record in chunk:
            yield record


async def tables_exist(conn: asyncpg.Connection) -> bool:
    found = await conn.fetchval(
        "SELECT count(*) FROM pg_tables WHERE tablename = ANY($1::text[])",
        [EVENTS_TABLE, CHAIN_TABLE],
    )
    return int(found) == 2


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
