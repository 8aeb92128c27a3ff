"""Views: each turns events into SQL statements against its own tables.

A view is pure: `statements(event)` returns (sql, args) pairs with `{s}` standing for
the view's schema. The projector runs them, in order, in one transaction with the
view's position.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import orjson

from services.eventlog.record import StoredEvent

Statement = tuple[str, tuple[Any, ...]]


def dumps(value: Any) -> str:
    """JSON text for a jsonb parameter (orjson: a rebuild encodes a lot of it)."""
    return orjson.dumps(value).decode()


@dataclass
class View:
    name: str
    ddl: list[str]
    handlers: dict[str, Callable[[StoredEvent], list[Statement]]] = field(default_factory=dict)
    # Kinds whose single statement only sets columns of the row keyed by its first
    # argument: of several in one run, the last for each key gives the same result.
    overwrites: frozenset[str] = frozenset()
    # Idempotent changes (ADD COLUMN IF NOT EXISTS) that bring a generation made by an
    # older release up to the ddl, run at every start. Only for columns no earlier event
    # could have filled, so existing rows stay right without a rebuild.
    upgrades: list[str] = field(default_factory=list)

    def statements(self, event: StoredEvent) -> list[Statement]:
        handler = self.handlers.get(event.kind)
        return handler(event) if handler else []

    def on(
        self, *kinds: str
    ) -> Callable[
        [Callable[[StoredEvent], list[Statement]]], Callable[[StoredEvent], list[Statement]]
    ]:
        def register(
            handler: Callable[[StoredEvent], list[Statement]],
        ) -> Callable[[StoredEvent], list[Statement]]:
            for kind in kinds:
                self.handlers[kind] = handler
            return handler

        return register
