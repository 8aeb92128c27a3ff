"""Version 1 is the schema processes made for themselves at start before migrations
existed: over a database an earlier release made it records version 1 and changes
nothing, and a database it makes from nothing is the same, table for table."""

from __future__ import annotations

from typing import Any

import psycopg
from eventsourcing.postgres import PostgresFactory
from eventsourcing.utils import Environment

from schemas import commands as c
from services.bootstrap import build_registry, eventstore_env
from services.schema.migrator import migrate
from services.settings import Settings
from tests.people import open_to_testers, person
from tests.services import fresh_database

# Our tables as the release before migrations made them at start (its commandlog.py,
# chain_table.py, token_store.py, catalogue/store.py and relay/positions.py); the event
# store's came from eventsourcing's recorders, made below by the library itself.
EARLIER_EVENTS_DDL = [
    'CREATE TABLE IF NOT EXISTS "public"."registrum_commands" ('
    " command_id text PRIMARY KEY, fingerprint text NOT NULL,"
    " result jsonb NOT NULL, position bigint,"
    " recorded_at timestamptz NOT NULL DEFAULT now(), traceparent text)",
    'ALTER TABLE "public"."registrum_commands" ADD COLUMN IF NOT EXISTS traceparent text',
    'CREATE TABLE IF NOT EXISTS "public"."registrum_chain" (position bigint PRIMARY KEY,'
    " head bytea NOT NULL, payload bytea NOT NULL, link bytea NOT NULL)",
    """CREATE TABLE IF NOT EXISTS registrum_tokens (
    token_id text PRIMARY KEY, secret_sha256 bytea NOT NULL, subject text NOT NULL,
    display_name text NOT NULL, kind text NOT NULL CHECK (kind IN ('user', 'service')),
    groups text[] NOT NULL DEFAULT '{}', description text NOT NULL DEFAULT '',
    created_by text NOT NULL, created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL, revoked_at timestamptz, revoked_by text)""",
    "CREATE INDEX IF NOT EXISTS registrum_tokens_subject ON registrum_tokens (subject)",
]
EARLIER_READ_DDL = [
    "CREATE SCHEMA IF NOT EXISTS catalogue_meta",
    "CREATE TABLE IF NOT EXISTS catalogue_meta.views ("
    " view text PRIMARY KEY, generation integer NOT NULL)",
    "CREATE TABLE IF NOT EXISTS catalogue_meta.positions ("
    " view text NOT NULL, generation integer NOT NULL, position bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (view, generation))",
    "CREATE TABLE IF NOT EXISTS relay_positions (name text PRIMARY KEY,"
    " position bigint NOT NULL, events_end bigint NOT NULL,"
    " updated_at timestamptz NOT NULL DEFAULT now())",
    "ALTER TABLE relay_positions ADD COLUMN IF NOT EXISTS"
    " events_offsets jsonb NOT NULL DEFAULT '{}'",
]


def made_the_earlier_way(url: str) -> None:
    """The tables as a process of the earlier release left them: eventsourcing's made by
    its own recorders (CREATE_TABLE on, as it was), ours by the statements above."""
    env = {**eventstore_env(url, 1), "CREATE_TABLE": "true"}
    factory = PostgresFactory(Environment("Registry", env))
    try:
        factory.application_recorder()
        factory.aggregate_recorder("snapshots")
    finally:
        factory.close()
    with psycopg.connect(url, autocommit=True) as conn:
        for statement in EARLIER_EVENTS_DDL + EARLIER_READ_DDL:
            conn.execute(statement.encode())


# Everything a schema is made of, except what only migrations add (their own record).
CATALOG = {
    "columns": "SELECT table_schema, table_name, column_name, ordinal_position, data_type,"
    " is_nullable, column_default FROM information_schema.columns"
    " WHERE table_schema IN ('public', 'catalogue_meta') AND table_name <> 'registrum_schema'"
    " ORDER BY 1, 2, 4",
    "indexes": "SELECT schemaname, tablename, indexname, indexdef FROM pg_indexes"
    " WHERE schemaname IN ('public', 'catalogue_meta') AND tablename <> 'registrum_schema'"
    " ORDER BY 1, 2, 3",
    "constraints": "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid)"
    " FROM pg_constraint WHERE connamespace IN ('public'::regnamespace,"
    " 'catalogue_meta'::regnamespace) AND conrelid::regclass::text <> 'registrum_schema'"
    " ORDER BY 1, 2",
    "storage": "SELECT relname, relkind, reloptions FROM pg_class WHERE relnamespace IN"
    " ('public'::regnamespace, 'catalogue_meta'::regnamespace)"
    " AND relname NOT LIKE 'registrum_schema%' ORDER BY 1",
    "functions": "SELECT proname, pg_get_functiondef(oid) FROM pg_proc"
    " WHERE pronamespace = 'public'::regnamespace ORDER BY 1",
    "types": "SELECT typname, typtype FROM pg_type WHERE typnamespace = 'public'::regnamespace"
    " AND typname NOT LIKE '%registrum_schema' ORDER BY 1",
}


def catalog(url: str) -> dict[str, list[tuple[Any, ...]]]:
    with psycopg.connect(url) as conn:
        return {name: conn.execute(query).fetchall() for name, query in CATALOG.items()}


def test_over_the_earlier_releases_tables_version_1_is_recorded_and_nothing_changes(
    database_url: str, unique: str
) -> None:
    earlier = fresh_database(database_url, f"earlier_{unique}", migrate=False)
    made_the_earlier_way(earlier)
    # The earlier release's registry wrote to it (the chain linked as it went) ...
    registry = build_registry(Settings(db_pool_size=1), earlier)
    try:
        open_to_testers(registry)
        registry.handle(c.RegisterModel(name=f"kept-{unique}"), person("alice"))
        events = registry.command_log.count_events()
    finally:
        registry.close()

    done = migrate(earlier, earlier, upto=1)

    assert [(d.migration.database, d.migration.version) for d in done] == [
        ("events", 1),
        ("read", 1),
    ]
    with psycopg.connect(earlier) as conn:
        assert conn.execute("SELECT count(*) FROM registry_events").fetchone() == (events,)
        assert conn.execute("SELECT count(*) FROM registrum_chain").fetchone() == (events,)
        commands = conn.execute("SELECT count(*) FROM registrum_commands").fetchone()
        assert commands is not None and commands[0] > 0
    # ... and its schema is table for table what version 1 makes from nothing.
    new = fresh_database(database_url, f"baseline_{unique}", migrate=False)
    migrate(new, new, upto=1)
    assert catalog(earlier) == catalog(new)


def test_a_log_from_before_the_audit_chain_is_linked_by_the_baseline(
    database_url: str, unique: str
) -> None:
    earlier = fresh_database(database_url, f"unchained_{unique}", migrate=False)
    made_the_earlier_way(earlier)
    registry = build_registry(Settings(db_pool_size=1), earlier)
    try:
        open_to_testers(registry)
        registry.handle(c.RegisterModel(name=f"old-{unique}"), person("alice"))
    finally:
        registry.close()
    with psycopg.connect(earlier) as conn:  # as a release before the chain left it
        conn.execute("DELETE FROM registrum_chain")

    migrate(earlier, earlier)

    with psycopg.connect(earlier) as conn:
        linked = conn.execute(
            "SELECT count(*) FROM registry_events e JOIN registrum_chain c"
            " ON c.position = e.notification_id"
        ).fetchone()
        total = conn.execute("SELECT count(*) FROM registry_events").fetchone()
    assert total is not None and total[0] > 0 and linked == total
