"""Applying a batch of events to one view: compare-and-set the position and run the
view's statements in ONE transaction of the view store, so a crash or a repeated batch
changes nothing."""

from __future__ import annotations

import functools
import re
from collections.abc import Sequence
from typing import Any

from services.catalogue.port import ViewStore
from services.catalogue.store import quoted
from services.catalogue.views import View
from services.eventlog.record import StoredEvent


class StalePosition(Exception):
    """The view's position moved since it was read: the batch was applied already."""


_TABLE = re.compile(r"\{s\}\.(\w+)")


@functools.lru_cache(maxsize=512)
def _tables(sql: str) -> frozenset[str]:
    return frozenset(_TABLE.findall(sql))


class _Run:
    """One statement text and its argument rows, in log order. For an overwrite (a
    statement that only sets columns of the row keyed by its first argument), a later
    row replaces an earlier one with the same key: the result is the same."""

    def __init__(self, sql: str, tables: frozenset[str], args: Any, overwrite: bool) -> None:
        self.sql, self.tables, self.rows = sql, tables, [args]
        self.keys: dict[Any, int] = {args[0]: 0} if overwrite else {}

    def add(self, args: Any, overwrite: bool) -> None:
        if overwrite and args[0] in self.keys:
            self.rows[self.keys[args[0]]] = args
            return
        if overwrite:
            self.keys[args[0]] = len(self.rows)
        self.rows.append(args)


def plan(view: View, schema: str, events: Sequence[StoredEvent]) -> list[tuple[str, list[Any]]]:
    """The view's statements for events, grouped into runs of the same statement, each
    sent to the server as one executemany.

    A statement joins an earlier run of the same text only when it commutes with every
    statement it jumps over, i.e. they touch no common table; so the result is the same
    as running the statements one by one in log order.
    """
    runs: list[_Run] = []
    for event in events:
        overwrite = event.kind in view.overwrites
        for sql, args in view.statements(event):
            tables = _tables(sql)
            for run in reversed(runs):
                if run.sql == sql:
                    run.add(args, overwrite)
                    break
                if run.tables & tables:
                    runs.append(_Run(sql, tables, args, overwrite))
                    break
            else:
                runs.append(_Run(sql, tables, args, overwrite))
    return [(run.sql.format(s=schema), run.rows) for run in runs]


async def apply_batch(
    target: ViewStore,
    view: View,
    generation: int,
    expected: int,
    events: Sequence[StoredEvent],
) -> int:
    """Applies the events after `expected` and returns the view's new position; raises
    StalePosition when the view is no longer at `expected` (then nothing changed)."""
    fresh = [e for e in events if e.position > expected]
    if not fresh:
        return expected
    new_position = fresh[-1].position
    async with target.transaction():
        if not await target.move_position(view.name, generation, expected, new_position):
            raise StalePosition(f"{view.name} g{generation} is no longer at {expected}")
        for sql, arg_rows in plan(view, quoted(view.name, generation), fresh):
            await target.run(sql, arg_rows)
    return new_position
