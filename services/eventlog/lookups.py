"""Named questions over the event log beyond reading it in order: a model's name as of a
position, how versions were registered, and every registration in turn (what artefact
garbage collection keeps). Answered from the event store itself, never from the views
(which may lag the asker)."""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any
from uuid import UUID

import asyncpg

from services.eventlog.reading import COLUMNS, EVENTS_TABLE, decode_row
from services.eventlog.record import StoredEvent

# The kinds that give a model its name, and the first event of every version.
NAMING_KINDS = ("ModelRegistered", "ModelRenamed")
REGISTRATION_KIND = "VersionRegistered"


def name_in(data: Mapping[str, Any]) -> str:
    """The name a naming event gives its model."""
    name: str = data.get("new_name") or data["name"]
    return name


async def model_name_at(
    conn: asyncpg.Connection, model_id: str, before: int, table: str = EVENTS_TABLE
) -> str | None:
    """The model's name just before position `before`; None when it had none yet (or the
    log has no such model)."""
    naming = " OR ".join(f"topic LIKE '%.{kind}'" for kind in NAMING_KINDS)
    try:
        row = await conn.fetchrow(
            f'SELECT {COLUMNS} FROM "{table}" WHERE originator_id = $1'
            f" AND notification_id < $2 AND ({naming})"
            " ORDER BY originator_version DESC LIMIT 1",
            UUID(model_id),
            before,
        )
    except asyncpg.UndefinedTableError:
        return None
    return None if row is None else name_in(decode_row(row).data)


async def registrations(
    conn: asyncpg.Connection, version_ids: Collection[str], table: str = EVENTS_TABLE
) -> dict[str, StoredEvent]:
    """The VersionRegistered event of each of these versions that the log holds, by
    version id (what a version was registered with is fixed for its lifetime)."""
    if not version_ids:
        return {}
    try:
        rows = await conn.fetch(
            f'SELECT {COLUMNS} FROM "{table}" WHERE originator_id = ANY($1::uuid[])'
            f" AND originator_version = 1 AND topic LIKE '%.{REGISTRATION_KIND}'",
            [UUID(v) for v in version_ids],
        )
    except asyncpg.UndefinedTableError:
        return {}
    return {event.originator_id: event for event in map(decode_row, rows)}


async def registrations_after(
    conn: asyncpg.Connection, position: int, limit: int, table: str = EVENTS_TABLE
) -> list[StoredEvent]:
    """Up to limit VersionRegistered events after position, in log order: every version
    ever registered (deleted ones too), a page at a time, the other events left unread."""
    try:
        rows = await conn.fetch(
            f'SELECT {COLUMNS} FROM "{table}" WHERE notification_id > $1'
            f" AND originator_version = 1 AND topic LIKE '%.{REGISTRATION_KIND}'"
            " ORDER BY notification_id LIMIT $2",
            position,
            limit,
        )
    except asyncpg.UndefinedTableError:
        return []
    return [decode_row(r) for r in rows]


COMMANDS_TABLE = "registrum_commands"  # the write side's command log (one row per command id)


async def trace_contexts(conn: asyncpg.Connection, command_ids: Collection[str]) -> dict[str, str]:
    """command id -> the traceparent kept with it, for those of command_ids that have one."""
    if not command_ids:
        return {}
    try:
        rows = await conn.fetch(
            f'SELECT command_id, traceparent FROM "{COMMANDS_TABLE}"'
            " WHERE command_id = ANY($1::text[]) AND traceparent IS NOT NULL",
            list(command_ids),
        )
    except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError):
        return {}  # no command recorded yet, or a log from before traces were kept
    return {r[0]: r[1] for r in rows}
