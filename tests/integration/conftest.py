from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings


@pytest.fixture(scope="session")
def registry(database_url: str) -> Iterator[Registry]:
    app = build_registry(Settings(db_pool_size=12), database_url)
    yield app
    app.close()
