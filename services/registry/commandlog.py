"""The command log: each command's first outcome, recorded atomically with its events, so
a repeated command id returns that outcome and appends nothing (idempotent retries over
HTTP and Kafka).

The PostgreSQL recorder also links every event into the audit hash chain
(services/audit/chain_table.py), in the same transaction.

Two adapters of one port (insert_group, read_state, find_command, count_events):
eventsourcing's PostgreSQL recorder extended with a table (registrum_commands) written
in the events' own transaction, and its in-memory (POPO) recorder extended with a dict
written under the events' lock, for unit tests.
"""

from __future__ import annotations

import functools
import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.pq import TransactionStatus
from psycopg.rows import DictRow
from psycopg.sql import SQL, Composable, Identifier

from services.audit import chain_table


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    fingerprint: str
    result: dict[str, Any]
    position: int | None = None
    # The W3C trace context the command was sent in: the relay puts it on the CloudEvents
    # of the command's events. Kept beside the events, never in them (the audit chain
    # hashes events as they were).
    traceparent: str | None = None


@dataclass
class Group:
    """What one save records in one transaction: the events of several commands in
    order, each command's record with the events that are its own (its position is the
    last of them), and snapshots of aggregates as they stand after these events."""

    events: list[StoredEvent] = field(default_factory=list)
    commands: list[tuple[CommandRecord, list[tuple[UUID, int]]]] = field(default_factory=list)
    snapshots: list[StoredEvent] = field(default_factory=list)


@dataclass
class State:
    """One read of what commands need: the events of some streams after the versions a
    process already holds, and the records of some command ids."""

    events: list[StoredEvent]
    commands: dict[str, CommandRecord]


class PostgresCommandRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        # Its table, like the events', is made by the schema migrations (services/schema).
        self.t_commands = SQL("{}.{}").format(schema, Identifier("registrum_commands"))
        events = SQL("{}.{}").format(schema, Identifier(events_table_name))
        self.sql_insert_many = SQL(
            "INSERT INTO {} (originator_id, originator_version, topic, state)"
            " SELECT * FROM unnest(%s::uuid[], %s::bigint[], %s::text[], %s::bytea[])"
            " RETURNING notification_id"
        ).format(events)
        self.sql_link = chain_table.link_by_stream(self.datastore.schema, events_table_name)
        # A command's position: the last of its own events, found by stream and version.
        self.sql_record_command = SQL(
            "INSERT INTO {} (command_id, fingerprint, result, traceparent, position)"
            " SELECT %s, %s, %s, %s, (SELECT max(e.notification_id) FROM {} e"
            " JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v)"
            " ON e.originator_id = k.id AND e.originator_version = k.v)"
        ).format(self.t_commands, events)
        self.sql_events_after = SQL(
            "SELECT e.originator_id, e.originator_version, e.topic, e.state FROM {} e"
            " JOIN unnest(%s::uuid[], %s::bigint[]) AS k(id, v)"
            " ON e.originator_id = k.id AND e.originator_version > k.v"
            " ORDER BY e.originator_id, e.originator_version"
        ).format(events)
        self.sql_find_commands = SQL(
            "SELECT command_id, fingerprint, result, position FROM {} WHERE command_id = ANY(%s)"
        ).format(self.t_commands)
        self._statements: dict[str, Any] | None = None

    # -- the library's own saves (checkpoints, signing keys) -----------------------------
    # Linked into the chain in the events' transaction, after the insert's sync, with the
    # statement a group save uses: one way of linking.

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        link = self._rendered(curs)["link"]
        for event in stored_events:
            curs.execute(link, chain_table.link_parameters(event), prepare=True)
        return ids

    # -- a group of commands saved in one round trip ------------------------------------

    def insert_group(self, group: Group, snapshots_table: str | None = None) -> list[int]:
        """Records group in one transaction and one round trip (one pipeline sync, at the
        commit), under the events table's lock as every save; returns the events'
        positions in order. A stream version or command id already taken raises
        IntegrityError and records nothing."""
        with self.datastore.get_connection() as conn:
            failure: Exception | None = None
            with conn.cursor() as curs, conn.cursor() as inserted:
                # BEGIN and COMMIT as statements of the pipeline: psycopg's transaction
                # block would sync after BEGIN's block and again after COMMIT.
                try:
                    with conn.pipeline():
                        curs.execute("BEGIN")
                        self._write_group(curs, inserted, group, snapshots_table)
                        curs.execute("COMMIT")
                except Exception as exc:
                    failure = exc
                if failure is not None:
                    # The server skipped what followed the failure, COMMIT too.
                    if conn.info.transaction_status != TransactionStatus.IDLE:
                        conn.execute("ROLLBACK")
                    raise failure
                return [r["notification_id"] for r in inserted.fetchall()] if group.events else []

    def _write_group(
        self,
        curs: Cursor[DictRow],
        inserted: Cursor[DictRow],
        group: Group,
        snapshots_table: str | None,
    ) -> None:
        # Prepared: psycopg remembers a preparation only from a successful result, so one
        # skipped after an earlier failure in the pipeline is made again next time
        # (checked against psycopg 3.3; planning is a third of the chain's cost). The
        # statements are rendered once (composing them again is most of the client's time).
        sql = self._rendered(curs)
        events = group.events
        if events:
            for statement in sql["lock"]:
                curs.execute(statement, prepare=True)
            curs.execute(sql["notify"])
            inserted.execute(
                sql["insert_many"],
                (
                    [e.originator_id for e in events],
                    [e.originator_version for e in events],
                    [e.topic for e in events],
                    [e.state for e in events],
                ),
                prepare=True,
            )
            for event in events:
                curs.execute(sql["link"], chain_table.link_parameters(event), prepare=True)
        for record, streams in group.commands:
            curs.execute(
                sql["record_command"],
                (
                    record.command_id,
                    record.fingerprint,
                    json.dumps(record.result),
                    record.traceparent,
                    [stream for stream, _ in streams],
                    [version for _, version in streams],
                ),
                prepare=True,
            )
        if group.snapshots and snapshots_table is not None:
            insert_snapshot = SQL(
                "INSERT INTO {}.{} (originator_id, originator_version, topic, state)"
                " VALUES (%s, %s, %s, %s) ON CONFLICT DO NOTHING"
            ).format(Identifier(self.datastore.schema), Identifier(snapshots_table))
            for snapshot in group.snapshots:
                curs.execute(
                    insert_snapshot,
                    (
                        snapshot.originator_id,
                        snapshot.originator_version,
                        snapshot.topic,
                        snapshot.state,
                    ),
                    prepare=False,
                )

    def _rendered(self, curs: Cursor[DictRow]) -> dict[str, Any]:
        if self._statements is None:
            render = functools.partial(_render, curs)
            self._statements = {
                "lock": [render(q) for q in self.lock_table_statements],
                "notify": render(SQL("NOTIFY {}").format(Identifier(self.channel_name))),
                "insert_many": render(self.sql_insert_many),
                "link": render(self.sql_link),
                "record_command": render(self.sql_record_command),
                "events_after": render(self.sql_events_after),
                "find_commands": render(self.sql_find_commands),
            }
        return self._statements

    # -- reads -----------------------------------------------------------------------

    def read_state(self, streams: Sequence[tuple[UUID, int]], command_ids: Sequence[str]) -> State:
        """In one round trip: the events of each stream after the version given, in order,
        and the records of those command ids that were used."""
        with (
            self.datastore.get_connection() as conn,
            conn.cursor() as events,
            conn.cursor() as commands,
        ):
            sql = self._rendered(events)
            with conn.pipeline():
                if streams:
                    events.execute(
                        sql["events_after"],
                        ([s for s, _ in streams], [v for _, v in streams]),
                        prepare=True,
                    )
                if command_ids:
                    commands.execute(sql["find_commands"], (list(command_ids),), prepare=True)
            rows = events.fetchall() if streams else []
            found = commands.fetchall() if command_ids else []
        return State(
            [
                StoredEvent(
                    originator_id=r["originator_id"],
                    originator_version=r["originator_version"],
                    topic=r["topic"],
                    state=bytes(r["state"]),
                )
                for r in rows
            ],
            {
                r["command_id"]: CommandRecord(
                    r["command_id"], r["fingerprint"], r["result"], r["position"]
                )
                for r in found
            },
        )

    def find_command(self, command_id: str) -> CommandRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT fingerprint, result, position, traceparent FROM {}"
                    " WHERE command_id = %s"
                ).format(self.t_commands),
                (command_id,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return CommandRecord(
            command_id, row["fingerprint"], row["result"], row["position"], row["traceparent"]
        )

    def count_events(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT count(*) AS n FROM {}.{}").format(
                    Identifier(self.datastore.schema), Identifier(self.events_table_name)
                )
            )
            row = curs.fetchone()
        return int(row["n"]) if row else 0


def _render(curs: Cursor[DictRow], query: Any) -> bytes:
    """A composed statement as the bytes psycopg sends (it caches their parsing)."""
    if isinstance(query, Composable):
        return query.as_bytes(curs)
    return query if isinstance(query, bytes) else str(query).encode()


class MemoryCommandRecorder(POPOApplicationRecorder):
    """The in-memory twin: commands kept in a dict, under the same lock as the events."""

    def __init__(self) -> None:
        super().__init__()
        self._commands: dict[str, CommandRecord] = {}

    def insert_group(self, group: Group, snapshots_table: str | None = None) -> list[int]:
        with self._database_lock:
            taken = [r.command_id for r, _ in group.commands if r.command_id in self._commands]
            if taken:
                raise IntegrityError(f"command id {taken[0]!r} already recorded")
            ids = list(self.insert_events(group.events) or []) if group.events else []
            where = {
                (e.originator_id, e.originator_version): i
                for e, i in zip(group.events, ids, strict=True)
            }
            for record, streams in group.commands:
                own = [where[s] for s in streams if s in where]
                self._commands[record.command_id] = CommandRecord(
                    record.command_id,
                    record.fingerprint,
                    record.result,
                    max(own, default=None),
                    record.traceparent,
                )
            return ids

    def read_state(self, streams: Sequence[tuple[UUID, int]], command_ids: Sequence[str]) -> State:
        with self._database_lock:
            events = [
                e for stream, version in streams for e in self.select_events(stream, gt=version)
            ]
            found = {i: self._commands[i] for i in command_ids if i in self._commands}
        return State(events, found)

    def find_command(self, command_id: str) -> CommandRecord | None:
        with self._database_lock:
            return self._commands.get(command_id)

    def count_events(self) -> int:
        with self._database_lock:
            return len(self._stored_events)


class MemoryFactory(POPOFactory):
    """PERSISTENCE_MODULE for an in-memory registry (eventsourcing's POPO factory does
    not read APPLICATION_RECORDER_TOPIC)."""

    def application_recorder(self) -> MemoryCommandRecorder:
        return MemoryCommandRecorder()
