"""Version 1, the baseline: the tables every process created for itself at its start
before migrations existed, statement for statement (eventsourcing 9.5's for the event
store, then ours). Every statement tolerates what it creates already being there, so on a
database an earlier release made, version 1 is recorded and nothing changes; each takes
the advisory lock those releases took, so one of them starting meanwhile waits."""

from __future__ import annotations

import psycopg
from psycopg.rows import DictRow

from services.audit import chain_table
from services.schema.migration import Migration

# The locks an earlier release held while creating these tables (its commandlog.py,
# token_store.py and catalogue/store.py), taken again so as not to race one starting now.
_EARLIER_EVENTS_LOCKS = (0x72676D2D7363686D, 7262001)
_EARLIER_READ_LOCK = 0x52454749

# eventsourcing's: the composite type and its (unused, see bootstrap.py) insert function,
# the events table with its notification ids, the snapshots table.
_STORED_EVENT_TYPE = """DO $$ BEGIN
    CREATE TYPE "public"."stored_event_uuid" AS (originator_id "uuid",
        originator_version bigint, topic text, state bytea);
EXCEPTION WHEN duplicate_object THEN NULL;
END $$"""

_AUTOVACUUM = (
    "WITH (autovacuum_enabled = true, autovacuum_vacuum_threshold = 100000000,"
    " autovacuum_vacuum_scale_factor = 0.5, autovacuum_analyze_threshold = 1000,"
    " autovacuum_analyze_scale_factor = 0.01)"
)

_EVENTS = (
    'CREATE TABLE IF NOT EXISTS "public"."registry_events" (originator_id "uuid" NOT NULL,'
    " originator_version bigint NOT NULL, topic text, state bytea,"
    " notification_id bigserial, PRIMARY KEY (originator_id, originator_version)) " + _AUTOVACUUM
)

_NOTIFICATION_IDS = (
    'CREATE UNIQUE INDEX IF NOT EXISTS "registry_events_notification_id_idx"'
    ' ON "public"."registry_events" (notification_id ASC)'
)

_INSERT_FUNCTION = (
    'CREATE OR REPLACE FUNCTION "public"."es_insert_events_uuid"'
    '(events "public"."stored_event_uuid"[]) RETURNS SETOF bigint LANGUAGE plpgsql AS '
    "$BODY$BEGIN    SET LOCAL lock_timeout = '10s';    NOTIFY \"registry_events\";"
    '    RETURN QUERY    INSERT INTO "public"."registry_events" AS t ('
    "    originator_id, originator_version, topic, state)"
    "    SELECT originator_id, originator_version, topic, state"
    "    FROM unnest(events)    RETURNING notification_id;END;$BODY$"
)

_SNAPSHOTS = (
    'CREATE TABLE IF NOT EXISTS "public"."registry_snapshots" (originator_id "uuid" NOT NULL,'
    " originator_version bigint NOT NULL, topic text, state bytea,"
    " PRIMARY KEY (originator_id, originator_version)) " + _AUTOVACUUM
)

# Ours, beside the events: the command log, the audit chain, the API tokens.
_COMMANDS = (
    'CREATE TABLE IF NOT EXISTS "public"."registrum_commands" ('
    " command_id text PRIMARY KEY, fingerprint text NOT NULL,"
    " result jsonb NOT NULL, position bigint,"
    " recorded_at timestamptz NOT NULL DEFAULT now(), traceparent text)"
)

# Command logs made before traces were kept.
_COMMANDS_TRACED = (
    'ALTER TABLE "public"."registrum_commands" ADD COLUMN IF NOT EXISTS traceparent text'
)

_CHAIN = (
    'CREATE TABLE IF NOT EXISTS "public"."registrum_chain" (position bigint PRIMARY KEY,'
    " head bytea NOT NULL, payload bytea NOT NULL, link bytea NOT NULL)"
)

_TOKENS = """CREATE TABLE IF NOT EXISTS registrum_tokens (
    token_id text PRIMARY KEY,
    secret_sha256 bytea NOT NULL,
    subject text NOT NULL,
    display_name text NOT NULL,
    kind text NOT NULL CHECK (kind IN ('user', 'service')),
    groups text[] NOT NULL DEFAULT '{}',
    description text NOT NULL DEFAULT '',
    created_by text NOT NULL,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz,
    revoked_by text
)"""

_TOKENS_BY_SUBJECT = (
    "CREATE INDEX IF NOT EXISTS registrum_tokens_subject ON registrum_tokens (subject)"
)


def link_earlier_log(conn: psycopg.Connection[DictRow]) -> None:
    """A log written before the audit chain existed gets its links, once (no-op else)."""
    chain_table.backfill(conn, "public", "registry_events")


EVENTS = Migration(
    version=1,
    database="events",
    description="baseline: event store, snapshots, command log, audit chain, API tokens",
    statements=(
        *(f"SELECT pg_advisory_xact_lock({key})" for key in _EARLIER_EVENTS_LOCKS),
        _STORED_EVENT_TYPE,
        _EVENTS,
        _NOTIFICATION_IDS,
        _INSERT_FUNCTION,
        _SNAPSHOTS,
        _COMMANDS,
        _COMMANDS_TRACED,
        _CHAIN,
        _TOKENS,
        _TOKENS_BY_SUBJECT,
    ),
    after=link_earlier_log,
)

READ = Migration(
    version=1,
    database="read",
    description="baseline: the views' catalogue (catalogue_meta), relay positions",
    statements=(
        f"SELECT pg_advisory_xact_lock({_EARLIER_READ_LOCK})",
        "CREATE SCHEMA IF NOT EXISTS catalogue_meta",
        "CREATE TABLE IF NOT EXISTS catalogue_meta.views ("
        " view text PRIMARY KEY, generation integer NOT NULL)",
        "CREATE TABLE IF NOT EXISTS catalogue_meta.positions ("
        " view text NOT NULL, generation integer NOT NULL, position bigint NOT NULL,"
        " updated_at timestamptz NOT NULL DEFAULT now(), PRIMARY KEY (view, generation))",
        """CREATE TABLE IF NOT EXISTS relay_positions (
        name text PRIMARY KEY, position bigint NOT NULL, events_end bigint NOT NULL,
        updated_at timestamptz NOT NULL DEFAULT now())""",
        "ALTER TABLE relay_positions ADD COLUMN IF NOT EXISTS"
        " events_offsets jsonb NOT NULL DEFAULT '{}'",
    ),
)
