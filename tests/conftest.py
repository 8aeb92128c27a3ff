"""Shared fixtures. Services resolve in order: REGISTRUM_TEST_* URL, Docker, local process."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest

from tests.services import postgres_url


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
