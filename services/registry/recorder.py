"""The event recorder, extended to keep two small tables in the same transaction.

- registrum_commands: command id -> first outcome, so a repeated command returns it and
  appends nothing (idempotent retries over HTTP and Kafka).
- registrum_models / registrum_versions: a listing index, so list endpoints never scan
  the log. It is written by the same transaction as the events it summarises.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any
from uuid import UUID

from eventsourcing.persistence import StoredEvent
from eventsourcing.postgres import PostgresApplicationRecorder, PostgresDatastore
from psycopg import Cursor
from psycopg.rows import DictRow
from psycopg.sql import SQL, Identifier


@dataclass(frozen=True)
class CommandRecord:
    command_id: str
    fingerprint: str
    result: dict[str, Any]
    position: int | None = None


@dataclass
class IndexChanges:
    """Rows to upsert in the listing index, sorted before writing to avoid deadlocks."""

    models: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    versions: dict[UUID, dict[str, Any]] = field(default_factory=dict)
    version_states: dict[tuple[UUID, int], dict[str, Any]] = field(default_factory=dict)


class RegistryRecorder(PostgresApplicationRecorder):
    def __init__(self, datastore: PostgresDatastore, *, events_table_name: str = "stored_events"):
        super().__init__(datastore, events_table_name=events_table_name)
        schema = Identifier(self.datastore.schema)
        self.t_commands = SQL("{}.{}").format(schema, Identifier("registrum_commands"))
        self.t_models = SQL("{}.{}").format(schema, Identifier("registrum_models"))
        self.t_versions = SQL("{}.{}").format(schema, Identifier("registrum_versions"))
        self.sql_create_statements.extend(
            [
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " command_id text PRIMARY KEY, fingerprint text NOT NULL,"
                    " result jsonb NOT NULL, position bigint,"
                    " recorded_at timestamptz NOT NULL DEFAULT now())"
                ).format(self.t_commands),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " model_id uuid PRIMARY KEY, name text NOT NULL, deleted boolean NOT NULL,"
                    " summary jsonb NOT NULL)"
                ).format(self.t_models),
                SQL("CREATE INDEX IF NOT EXISTS registrum_models_name ON {} (name)").format(
                    self.t_models
                ),
                SQL(
                    "CREATE TABLE IF NOT EXISTS {} ("
                    " version_id uuid PRIMARY KEY, model_id uuid NOT NULL, number integer NOT NULL,"
                    " stage text NOT NULL, aliases jsonb NOT NULL, deleted boolean NOT NULL,"
                    " summary jsonb NOT NULL, UNIQUE (model_id, number))"
                ).format(self.t_versions),
            ]
        )

    # -- writes, inside the events' transaction ------------------------------------------
    # They run after the events are inserted, under the events table's lock: no other
    # writer holds uncommitted rows of these tables then, so they never wait or deadlock,
    # and a concurrency conflict has already aborted the transaction before they run.
    # prepare=False: in pipeline mode, psycopg may remember a statement as prepared when
    # the server skipped it in an aborted pipeline.

    def _fetch_ids_after_insert_events(
        self, curs: Cursor[DictRow], stored_events: Sequence[StoredEvent], **kwargs: Any
    ) -> Sequence[int] | None:
        ids = super()._fetch_ids_after_insert_events(curs, stored_events, **kwargs)
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
        index: IndexChanges | None = kwargs.get("index")
        if index is not None:
            self._write_index(curs, index)
        return ids

    def _write_index(self, curs: Cursor[DictRow], index: IndexChanges) -> None:
        for model_id in sorted(index.models):
            row = index.models[model_id]
            curs.execute(
                SQL(
                    "INSERT INTO {} (model_id, name, deleted, summary) VALUES (%s, %s, %s, %s)"
                    " ON CONFLICT (model_id) DO UPDATE SET name = EXCLUDED.name,"
                    " deleted = EXCLUDED.deleted, summary = EXCLUDED.summary"
                ).format(self.t_models),
                (model_id, row["name"], row["deleted"], json.dumps(row)),
                prepare=False,
            )
        for version_id in sorted(index.versions):
            row = index.versions[version_id]
            curs.execute(
                SQL(
                    "INSERT INTO {}"
                    " (version_id, model_id, number, stage, aliases, deleted, summary)"
                    " VALUES (%s, %s, %s, %s, %s, %s, %s)"
                    " ON CONFLICT (version_id) DO UPDATE SET stage = EXCLUDED.stage,"
                    " aliases = EXCLUDED.aliases, deleted = EXCLUDED.deleted,"
                    " summary = EXCLUDED.summary"
                ).format(self.t_versions),
                (
                    version_id,
                    UUID(row["model_id"]),
                    row["number"],
                    row["stage"],
                    json.dumps(row["aliases"]),
                    row["deleted"],
                    json.dumps(row),
                ),
                prepare=False,
            )
        for model_id, number in sorted(index.version_states):
            state = index.version_states[(model_id, number)]
            curs.execute(
                SQL(
                    "UPDATE {} SET stage = %s, aliases = %s, deleted = %s,"
                    " summary = summary || jsonb_build_object('stage', %s::text,"
                    " 'aliases', %s::jsonb, 'deleted', %s::boolean)"
                    " WHERE model_id = %s AND number = %s"
                ).format(self.t_versions),
                (
                    state["stage"],
                    json.dumps(state["aliases"]),
                    state["deleted"],
                    state["stage"],
                    json.dumps(state["aliases"]),
                    state["deleted"],
                    model_id,
                    number,
                ),
                prepare=False,
            )

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

    def list_models(self, after: str | None, limit: int) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT summary FROM {} WHERE NOT deleted AND name > %s ORDER BY name LIMIT %s"
                ).format(self.t_models),
                (after or "", limit),
            )
            return [row["summary"] for row in curs.fetchall()]

    def list_versions(
        self, model_id: UUID, after: int, limit: int, stage: str | None
    ) -> list[dict[str, Any]]:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL(
                    "SELECT summary FROM {} WHERE model_id = %s AND NOT deleted AND number > %s"
                    " AND (%s::text IS NULL OR stage = %s::text) ORDER BY number LIMIT %s"
                ).format(self.t_versions),
                (model_id, after, stage, stage, limit),
            )
            return [row["summary"] for row in curs.fetchall()]

    def count_events(self) -> int:
        with self.datastore.get_connection() as conn, conn.cursor() as curs:
            curs.execute(
                SQL("SELECT count(*) AS n FROM {}.{}").format(
                    Identifier(self.datastore.schema), Identifier(self.events_table_name)
                )
            )
            row = curs.fetchone()
        return int(row["n"]) if row else 0
