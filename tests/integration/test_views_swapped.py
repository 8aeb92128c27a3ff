"""A read whose view schema is gone under it (services/catalogue/recent.py: two rebuilds
within the moment a process reuses the schemas it read) is a clear, retryable refusal on
both APIs, never a 500, and the next read after the views are back answers: on a database
of its own, its catalogue's active schema moved away and back by hand."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable, Iterator
from typing import TypeVar

import asyncpg
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_registry
from services.catalogue import queries
from services.catalogue.projector import Projector
from services.registry.application import Registry
from services.settings import Settings
from tests.people import Badges, open_to_testers
from tests.services import fresh_database

BADGES = Badges()
T = TypeVar("T")


@pytest.fixture(scope="module")
def isolated(database_url: str) -> Iterator[tuple[str, Registry]]:
    url = fresh_database(database_url, f"views_swapped_{uuid.uuid4().hex[:10]}")
    registry = build_registry(Settings(db_pool_size=2), url)
    open_to_testers(registry)
    try:
        yield url, registry
    finally:
        registry.close()


def on(url: str, work: Callable[[asyncpg.Connection], Awaitable[T]]) -> T:
    """work(connection), on a connection of its own to url."""

    async def run() -> T:
        conn = await asyncpg.connect(url)
        try:
            return await work(conn)
        finally:
            await conn.close()

    return asyncio.run(run())


def test_a_schema_gone_under_a_read_is_503_and_the_next_read_answers(
    isolated: tuple[str, Registry],
) -> None:
    url, registry = isolated
    app = create_app(
        registry,
        url,
        background=[Projector(url).run],
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as http:
        http.headers.update(BADGES.headers("alice"))
        made = http.post("/api/2.0/mlflow/registered-models/create", json={"name": "swapped"})
        assert made.status_code == 200, made.text
        native, mlflow = "/api/v1/models/swapped", "/api/2.0/mlflow/registered-models/get"
        assert http.get(mlflow, params={"name": "swapped"}).status_code == 200
        schema = on(url, queries.schemas).catalogue
        on(url, lambda conn: conn.execute(f'ALTER SCHEMA {schema} RENAME TO "moved_away"'))
        try:
            gone = http.get(native)
            assert (gone.status_code, gone.json()["error"]["code"]) == (503, "views_swapped")
            assert gone.headers["Retry-After"] == "1"
            # MLflow's read asks again once on the current schemas; still gone, refused.
            refused = http.get(mlflow, params={"name": "swapped"})
            assert refused.status_code == 503, refused.text
            assert refused.json()["error_code"] == "TEMPORARILY_UNAVAILABLE"
        finally:
            on(url, lambda conn: conn.execute(f'ALTER SCHEMA "moved_away" RENAME TO {schema}'))
        back = http.get(native)
        assert back.status_code == 200, back.text
        assert back.json()["model"]["name"] == "swapped", back.text
        assert http.get(mlflow, params={"name": "swapped"}).status_code == 200
