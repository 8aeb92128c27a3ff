"""The views' active generations and positions as this process last read them, reused for a
moment instead of read again on every request.

A read names the schemas of the views' active generations and, before it reads, makes sure
they hold what it must see. Reading those is a round trip of its own, on every request
until now. Within FRESH seconds of the last reading, and when the position
it knew is already far enough, a request uses what was read: positions only grow, so the
views hold at least as much as it says. The rows themselves are always read now.

What a moment's reuse can miss is a rebuild's swap: for up to FRESH seconds after it, a
process may still read the generation just replaced. That one is kept by the rebuild and
was current when replaced, so such a read is as far behind as the projector's own lag may
be (its budget: p99 100 ms). A generation is dropped only by the rebuild after next, so a
schema name this process holds can be gone only if two rebuilds finish within FRESH
seconds; a read that meets that (UndefinedTableError) forgets and reads again.
"""

from __future__ import annotations

import time
from collections.abc import Callable

import asyncpg

from services.catalogue import queries
from services.catalogue.queries import Schemas

FRESH = 0.1  # seconds


class RecentSchemas:
    """The last Schemas this process read, and when it asked."""

    def __init__(self, fresh: float = FRESH, clock: Callable[[], float] = time.monotonic) -> None:
        self.fresh = fresh
        self.clock = clock
        self._known: Schemas | None = None
        self._asked = 0.0

    async def at_least(
        self, conn: asyncpg.Connection, position: int = 0, views: frozenset[str] | None = None
    ) -> Schemas:
        """The schemas, as last read if that is fresh and its views (or every one of
        views) had reached position; else read now. The answer may still be short of
        position (the views lag): the caller waits, as before."""
        asked = self.clock()
        known = self._known
        if (
            known is not None
            and asked - self._asked < self.fresh
            and known.reached(views) >= position
        ):
            return known
        return self.keep(await queries.schemas(conn), asked)

    def keep(self, schemas: Schemas, asked: float) -> Schemas:
        """schemas, asked for at asked (the clock's time), as the last known."""
        self._known, self._asked = schemas, asked
        return schemas

    def forget(self) -> None:
        self._known = None
