"""Applying a batch of events to one view: compare-and-set the position and run the
view's statements in ONE transaction, so a crash or a repeated batch changes nothing."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import asyncpg

from services.catalogue.events import StoredEvent
from services.catalogue.store import META, quoted
from services.catalogue.views import View


class StalePosition(Exception):
    """The view's position moved since it was read: the batch was applied already."""


def plan(view: View, schema: str, events: Sequence[StoredEvent]) -> list[tuple[str, list[Any]]]:
    """The view's statements for events, with runs of the same statement grouped so
    each run goes to the server as one executemany."""
    runs: list[tuple[str, list[Any]]] = []
    for event in events:
        for sql, args in view.statements(event):
            text = sql.format(s=schema)
            if runs and runs[-1][0] == text:
                runs[-1][1].append(args)
            else:
                runs.append((text, [args]))
    return runs


async def apply_batch(
    conn: asyncpg.Connection,
    view: View,
    generation: int,
    expected: int,
    events: Sequence[StoredEvent],
) -> int:
    """Applies the events after `expected` and returns the view's new position."""
    fresh = [e for e in events if e.position > expected]
    if not fresh:
        return expected
    new_position = fresh[-1].position
    async with conn.transaction():
        moved = await conn.execute(
            f"UPDATE {META}.positions SET position = $4, updated_at = now()"
            " WHERE view = $1 AND generation = $2 AND position = $3",
            view.name,
            generation,
            expected,
            new_position,
        )
        if moved != "UPDATE 1":
            raise StalePosition(f"{view.name} g{generation} is no longer at {expected}")
        for sql, arg_rows in plan(view, quoted(view.name, generation), fresh):
            if len(arg_rows) == 1:
                await conn.execute(sql, *arg_rows[0])
            else:
                await conn.executemany(sql, arg_rows)
    return new_position
