"""Loading an audit export into an empty registry: every event at its original position,
with its link, so the replica verifies as the source did and its views, rebuilt by the
projector, come out identical to the source's.

The export is verified first (a separate pass over the file); one that does not verify
is refused, and nothing is loaded.
"""

from __future__ import annotations

from collections.abc import Iterable
from itertools import islice

import asyncpg

from services.audit.chain_table import CHAIN_TABLE
from services.audit.verify import EventRow, LinkRow
from services.eventlog.reading import EVENTS_TABLE

BATCH = 5000


class NotEmpty(RuntimeError):
    """The target registry already holds events."""


async def load(
    conn: asyncpg.Connection, rows: Iterable[tuple[EventRow | None, LinkRow | None]]
) -> int:
    """Loads rows (a verified export's) into the empty event store at conn, in one
    transaction under the writers' lock; returns how many events it loaded."""
    loaded = 0
    async with conn.transaction():
        await conn.execute(f'LOCK TABLE "{EVENTS_TABLE}" IN EXCLUSIVE MODE')
        if await conn.fetchval(f'SELECT EXISTS (SELECT 1 FROM "{EVENTS_TABLE}")'):
            raise NotEmpty("the registry already holds events; replay needs an empty one")
        await conn.execute(f'DELETE FROM "{CHAIN_TABLE}"')  # links of nothing
        source = iter(rows)
        while batch := list(islice(source, BATCH)):
            events = [
                (e.position, e.stream_id, e.stream_version, e.topic, e.state)
                for e, _ in batch
                if e is not None
            ]
            links = [(c.position, c.head, c.payload, c.link) for _, c in batch if c is not None]
            await conn.copy_records_to_table(
                EVENTS_TABLE,
                records=events,
                columns=[
                    "notification_id",
                    "originator_id",
                    "originator_version",
                    "topic",
                    "state",
                ],
            )
            await conn.copy_records_to_table(
                CHAIN_TABLE, records=links, columns=["position", "head", "payload", "link"]
            )
            loaded += len(events)
        await conn.execute(
            f"SELECT setval(pg_get_serial_sequence('\"{EVENTS_TABLE}\"', 'notification_id'),"
            f' GREATEST((SELECT max(notification_id) FROM "{EVENTS_TABLE}"), 1))'
        )
        await conn.execute(f'NOTIFY "{EVENTS_TABLE}"')  # followers wake at once
    return loaded
