"""Shared fixtures, for the integration and e2e tiers alike. Services resolve in order:
REGISTRUM_TEST_* URL, Docker, local process."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings
from tests.people import open_to_testers
from tests.services import kafka_bootstrap, migrated, postgres_url


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--require-tiers",
        default="",
        help="Comma-separated tiers that must each pass at least one test, with none skipped.",
    )


TIERS = ("unit", "integration", "e2e")

_outcomes: dict[str, dict[str, int]] = {}


def _on_worker(config: pytest.Config) -> bool:
    """Whether this process is a pytest-xdist worker, which runs only a share of the tests;
    its reports reach the controller's pytest_runtest_logreport."""
    return hasattr(config, "workerinput")


# GNU readline, which pytest imports early in every process, exports COLUMNS and LINES
# (80x24 without a terminal) into the C environment, not into os.environ. A serial run
# never sees them; an xdist worker inherits them from the controller, and rich, which
# reads COLUMNS once when registrum.cli.output builds its console at import, would then
# ignore the COLUMNS the CLI tests give. So workers get the controller's os.environ values.
_TERMINAL_VARS = ("COLUMNS", "LINES")


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """xdist, on the controller: what each worker is told before it starts."""
    node.workerinput["terminal_env"] = {name: os.environ.get(name) for name in _TERMINAL_VARS}


def pytest_configure(config: pytest.Config) -> None:
    if not _on_worker(config):
        return
    terminal_env: dict[str, str | None] = config.workerinput["terminal_env"]  # type: ignore[attr-defined]
    for name, value in terminal_env.items():
        if value is None:
            os.environ.pop(name, None)
        else:
            os.environ[name] = value


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    # On the controller, report.keywords (a plain dict) arrives from the workers intact.
    tier = next((m for m in TIERS if m in report.keywords), None)
    if tier is None:
        return
    counts = _outcomes.setdefault(tier, {"passed": 0, "skipped": 0})
    if report.skipped:
        counts["skipped"] += 1
    elif report.when == "call" and report.passed:
        counts["passed"] += 1


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    # CI must not go green on a suite that silently ran nothing, or skipped a tier
    # for want of a service. Judged where every report arrives: in a serial run, or on
    # the xdist controller; a worker may have run one tier only.
    if _on_worker(session.config):
        return
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
        if tier not in TIERS:
            raise pytest.UsageError(f"{item.nodeid} is not under unit/, integration/ or e2e/")
        item.add_marker(getattr(pytest.mark, tier))
    # Modules marked `first` lead, then the tiers from the quickest. Under `make test`
    # (xdist, --dist loadfile --no-loadscope-reorder) files are handed out in this order:
    # the longest test starts at once on a worker of its own, the others run the rest
    # meanwhile, and the file queued behind it on its worker is a quick unit one.
    # A stable sort: within a file, tests keep their order.
    items.sort(key=lambda item: (item.get_closest_marker("first") is None, _tier_rank(item)))


def _tier_rank(item: pytest.Item) -> int:
    return TIERS.index(item.path.parent.name)


@pytest.fixture(scope="session")
def database_url() -> Iterator[str]:
    with postgres_url() as url:
        yield migrated(url)


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
