"""The chain's table beside the events table (psycopg, the write side's driver): one row
per event with its digests and link, written in the events' own transaction. The table
is made by the schema migrations (services/schema/v1_baseline.py), which also call
backfill once.

The events table's lock serialises writers, so "the last link" read inside the insert is
the previous event's, and links are written in position order.
"""

from __future__ import annotations

from typing import Any

from eventsourcing.persistence import StoredEvent
from psycopg import Connection
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composed, Identifier

from services.audit.chain import GENESIS, head_digest, link, payload_digest

CHAIN_TABLE = "registrum_chain"


def table(schema: str) -> Composed:
    return SQL("{}.{}").format(Identifier(schema), Identifier(CHAIN_TABLE))


def link_by_stream(schema: str, events_table: str) -> Composed:
    """Links one event found by its stream and version (inserted earlier in the same
    transaction, its position not yet known to the client to a save that takes one round
    trip): every save runs it once per event, in position order. Parameters:
    head, payload, GENESIS, head, payload, stream id, stream version."""
    t = table(schema)
    events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
    return SQL(
        "INSERT INTO {t} (position, head, payload, link)"
        " SELECT e.notification_id, %s, %s, sha256(COALESCE("
        "(SELECT link FROM {t} ORDER BY position DESC LIMIT 1), %s)"
        " || int8send(e.notification_id) || %s || %s)"
        " FROM {events} e WHERE e.originator_id = %s AND e.originator_version = %s"
    ).format(t=t, events=events)


def link_parameters(event: StoredEvent) -> tuple[Any, ...]:
    """link_by_stream's parameters for event."""
    head = head_digest(event.originator_id, event.originator_version, event.topic)
    payload = payload_digest(event.state)
    return (head, payload, GENESIS, head, payload, event.originator_id, event.originator_version)


def backfill(conn: Connection[DictRow], schema: str, events_table: str) -> int:
    """Links every event of a log written before the chain existed, once: only while the
    chain is empty (an event later found without a link was not written by the registry).
    Runs under the events table's lock; returns how many it linked."""
    t = table(schema)
    events = SQL("{}.{}").format(Identifier(schema), Identifier(events_table))
    insert = SQL("INSERT INTO {} (position, head, payload, link) VALUES (%s, %s, %s, %s)").format(t)
    linked = 0
    with conn.transaction(), conn.cursor() as curs:
        curs.execute(SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(events))
        curs.execute(SQL("SELECT 1 FROM {} LIMIT 1").format(t))
        if curs.fetchone() is not None:
            return 0
        with conn.cursor(name="registrum_chain_backfill") as reader:
            reader.itersize = 5000
            reader.execute(
                SQL(
                    "SELECT notification_id, originator_id, originator_version, topic, state"
                    " FROM {} ORDER BY notification_id"
                ).format(events)
            )
            previous = GENESIS
            while batch := reader.fetchmany(5000):
                rows = []
                for r in batch:
                    position, stream, version, topic, state = _values(r)
                    head, payload = head_digest(stream, version, topic), payload_digest(state)
                    previous = link(previous, position, head, payload)
                    rows.append((position, head, payload, previous))
                curs.executemany(insert, rows)
                linked += len(rows)
    return linked


def _values(row: dict[str, Any]) -> tuple[int, str, int, str, bytes]:
    return (
        row["notification_id"],
        str(row["originator_id"]),
        row["originator_version"],
        row["topic"],
        bytes(row["state"]),
    )
