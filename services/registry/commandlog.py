"""The command log: each command's first outcome, recorded atomically with its events, so
a repeated command id returns that outcome and appends nothing (idempotent retries over
HTTP and Kafka).

The PostgreSQL recorder also links every event into the audit hash chain
(services/audit/chain_table.py), in the same transaction.

Two adapters of one port (find_command, count_events, and a `command=` keyword on
insert_events): eventsourcing's PostgreSQL recorder extended with a table
(registrum_commands) written in the events' own transaction, and its in-memory (POPO)
recorder extended with a dict written under the events' lock, for unit tests.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from eventsourcing.persistence import IntegrityError, StoredEvent
from eventsourcing.popo import POPOApplicationRecorder, POPOFactory
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier

from services.audit import chain_table

# The advisory lock held while the event store's tables are created ("rgm-schm").
SCHEMA_LOCK = 0x72676D2D7363686D


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    fingerprint: str
    result: dict[str, Any]
    position: int | None = None


class PostgresCommandRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self.t_commands = SQL("{}.{}").format(schema, Identifier("registrum_commands"))
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " command_id text PRIMARY KEY, fingerprint text NOT NULL,"
                    " result jsonb NOT NULL, position bigint,"
                    " recorded_at timestamptz NOT NULL DEFAULT now())"
                ).format(self.t_commands),
                chain_table.create_statement(self.datastore.schema),
            ]
        )

    def create_table(self) -> None:
        # Processes starting together on a new database (serve and its followers, several
        # replicas) take turns: concurrent DDL on one catalogue row fails ("tuple
        # concurrently updated"). The library creates the tables on another connection.
        with self.datastore.get_connection() as conn:
            conn.execute("SELECT pg_advisory_lock(%s)", (SCHEMA_LOCK,))
            try:
                super().create_table()
                chain_table.backfill(conn, self.datastore.schema, self.events_table_name)
            finally:
                conn.execute("SELECT pg_advisory_unlock(%s)", (SCHEMA_LOCK,))

    # -- writes, inside the events' transaction ------------------------------------------
    # After the events are inserted, under the events table's lock: no other writer holds
    # an uncommitted command row then, so this never waits or deadlocks, and a concurrency
    # conflict has already aborted the transaction before it runs.
    # prepare=False: in pipeline mode, psycopg may remember a statement as prepared when
    # the server skipped it in an aborted pipeline.

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
        if ids:
            chain_table.append(curs, self.datastore.schema, stored_events, ids)
        command: CommandRecord | None = kwargs.get("command")
        if command is not None:
            curs.execute(
                SQL(
                    "INSERT INTO {} (command_id, fingerprint, result, position)"
                    " VALUES (%s, %s, %s, %s)"
                ).format(self.t_commands),
                (
                    command.command_id,
                    command.fingerprint,
                    json.dumps(command.result),
                    max(ids) if ids else None,
                ),
                prepare=False,
            )
        return ids

    # -- reads -----------------------------------------------------------------------

    def find_command(self, command_id: str) -> CommandRecord | None:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT fingerprint, result, position FROM {} WHERE command_id = %s").format(
                    self.t_commands
                ),
                (command_id,),
            )
            row = curs.fetchone()
        if row is None:
            return None
        return CommandRecord(command_id, row["fingerprint"], row["result"], row["position"])

    def count_events(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT count(*) AS n FROM {}.{}").format(
                    Identifier(self.datastore.schema), Identifier(self.events_table_name)
                )
            )
            row = curs.fetchone()
        return int(row["n"]) if row else 0


class MemoryCommandRecorder(POPOApplicationRecorder):
    """The in-memory twin: commands kept in a dict, under the same lock as the events."""

    def __init__(self) -> None:
        super().__init__()
        self._commands: dict[str, CommandRecord] = {}

    def _insert_events(
        self, stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        command: CommandRecord | None = kwargs.get("command")
        with self._database_lock:
            if command is not None and command.command_id in self._commands:
                raise IntegrityError(f"command id {command.command_id!r} already recorded")
            ids = super()._insert_events(stored_events, **kwargs)
            if command is not None:
                position = max(ids) if ids else None
                self._commands[command.command_id] = CommandRecord(
                    command.command_id, command.fingerprint, command.result, position
                )
            return ids

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
