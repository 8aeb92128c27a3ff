"""Shared fixtures. Services resolve in order: REGISTRUM_TEST_* URL, Docker, local process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.services import postgres_url


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The folder names the tier; a test outside the three tiers is a mistake.
    for item in items:
        tier = item.path.parent.name
        if tier not in ("unit", "integration", "e2e"):
            raise pytest.UsageError(f"{item.nodeid} is not under unit/, integration/ or e2e/")
        item.add_marker(getattr(pytest.mark, tier))


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with postgres_url() as url:
        yield url


@pytest.fixture
def unique() -> str:
    """A fresh suffix for names, so tests never need to clean up after each other."""
    return uuid.uuid4().hex[:10]
