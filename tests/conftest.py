"""Shared fixtures, for the integration and e2e tiers alike. Services resolve in order:
REGISTRUM_TEST_* URL, Docker, local process."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings
from tests.people import open_to_testers
from tests.services import kafka_bootstrap, postgres_url


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-tiers",
        default="",
        help="Comma-separated tiers that must each pass at least one test, with none skipped.",
    )


_outcomes: dict[str, dict[str, int]] = {}


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    tier = next((m for m in ("unit", "integration", "e2e") if m in report.keywords), None)
    if tier is None:
        return
    counts = _outcomes.setdefault(tier, {"passed": 0, "skipped": 0})
    if report.skipped:
        counts["skipped"] += 1
    elif report.when == "call" and report.passed:
        counts["passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI must not go green on a suite that silently ran nothing, or skipped a tier
    # for want of a service.
    required = [t for t in session.config.getoption("--require-tiers").split(",") if t]
    problems = []
    for tier in required:
        counts = _outcomes.get(tier, {"passed": 0, "skipped": 0})
        if counts["passed"] == 0:
            problems.append(f"no {tier} test passed")
        if counts["skipped"]:
            problems.append(f"{counts['skipped']} {tier} tests were skipped")
    if problems:
        session.config.get_terminal_writer().line(
            "tier check failed: " + "; ".join(problems), red=True
        )
        session.exitstatus = pytest.ExitCode.TESTS_FAILED


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


@pytest.fixture(scope="session")
def registry(database_url: str) -> Iterator[Registry]:
    app = build_registry(Settings(db_pool_size=12), database_url)
    open_to_testers(app)
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


@pytest.fixture(scope="module")
def kafka() -> Iterator[str]:
    """A Kafka-protocol broker's bootstrap address, one per test module."""
    with kafka_bootstrap() as bootstrap:
        yield bootstrap
