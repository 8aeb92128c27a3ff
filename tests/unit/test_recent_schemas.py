"""What a read reuses of the views' generations and positions (services/catalogue/recent.py):
the last reading while it is fresh and far enough, a new one otherwise; a connection that
counts its readings stands in for PostgreSQL."""

from __future__ import annotations

import asyncio
from typing import Any

from services.catalogue.queries import Schemas
from services.catalogue.recent import RecentSchemas

VIEWS = frozenset({"catalogue", "access"})


class Positions:
    """Answers the views' active generations and positions, as store.active reads them."""

    def __init__(self) -> None:
        self.rows = {"catalogue": (1, 10), "access": (1, 10), "lineage": (1, 4)}
        self.readings = 0

    async def fetch(self, _: str) -> list[dict[str, Any]]:
        self.readings += 1
        return [{"view": v, "generation": g, "position": p} for v, (g, p) in self.rows.items()]


class Clock:
    def __init__(self) -> None:
        self.now = 100.0

    def __call__(self) -> float:
        return self.now


def run(recent: RecentSchemas, conn: Positions, position: int = 0, views: Any = None) -> Schemas:
    return asyncio.run(recent.at_least(conn, position, views))  # type: ignore[arg-type]


def test_a_fresh_reading_serves_every_read_it_is_far_enough_for() -> None:
    conn, clock = Positions(), Clock()
    recent = RecentSchemas(fresh=0.1, clock=clock)
    first = run(recent, conn, 10, VIEWS)
    conn.rows["catalogue"] = (1, 12)
    clock.now += 0.05
    assert run(recent, conn, 10, VIEWS) is first and conn.readings == 1
    # lineage, at 4, holds the position back only when every view is asked for.
    assert run(recent, conn, 10, None).reached() == 4 and conn.readings == 2


def test_a_position_beyond_the_reading_reads_again() -> None:
    conn, clock = Positions(), Clock()
    recent = RecentSchemas(fresh=0.1, clock=clock)
    run(recent, conn, 10, VIEWS)
    conn.rows.update(catalogue=(1, 11), access=(1, 11))
    again = run(recent, conn, 11, VIEWS)
    assert again.reached(VIEWS) == 11 and conn.readings == 2


def test_a_stale_reading_is_read_again_and_a_swap_is_seen() -> None:
    conn, clock = Positions(), Clock()
    recent = RecentSchemas(fresh=0.1, clock=clock)
    before = run(recent, conn)
    conn.rows["catalogue"] = (2, 10)  # a rebuild swapped in generation 2
    clock.now += 0.11
    after = run(recent, conn)
    assert before.catalogue != after.catalogue  # the read names generation 2's schema
    assert after.active["catalogue"] == (2, 10) and conn.readings == 2


def test_forgotten_is_read_again_and_kept_is_served() -> None:
    conn, clock = Positions(), Clock()
    recent = RecentSchemas(fresh=0.1, clock=clock)
    run(recent, conn)
    recent.forget()
    run(recent, conn)
    assert conn.readings == 2
    waited = Schemas({"catalogue": (1, 20), "access": (1, 20)})
    recent.keep(waited, asked=clock.now)
    assert run(recent, conn, 20, VIEWS) is waited and conn.readings == 2
    # Kept with the time the wait began: a long wait leaves nothing fresh to reuse.
    recent.keep(waited, asked=clock.now - 5)
    assert run(recent, conn, 20, VIEWS) is not waited and conn.readings == 3
