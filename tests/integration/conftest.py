from __future__ import annotations

import asyncio
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings


@pytest.fixture(scope="session")
def registry(database_url: str) -> Iterator[Registry]:
    app = build_registry(Settings(db_pool_size=12), database_url)
    yield app
    app.close()


@pytest.fixture(scope="session")
def catch_up(database_url: str) -> Callable[[], int]:
    """Runs the projector until the views reach the log's head; returns the head."""
    from services.catalogue.projector import Projector

    def run() -> int:
        return asyncio.run(Projector(database_url).catch_up())

    return run


@pytest.fixture(scope="session")
def sql(database_url: str) -> Callable[..., list[dict[str, Any]]]:
    """Runs one read query on the views (schema names via {catalogue}, {history}, ...)."""
    import asyncpg

    from services.catalogue import queries

    def run(query: str, *args: Any) -> list[dict[str, Any]]:
        async def fetch() -> list[dict[str, Any]]:
            conn = await asyncpg.connect(database_url)
            try:
                s = await queries.schemas(conn)
                names = {view: getattr(s, view) for view in s.active}
                return [dict(r) for r in await conn.fetch(query.format(**names), *args)]
            finally:
                await conn.close()

        return asyncio.run(fetch())

    return run
