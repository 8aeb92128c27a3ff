"""The migrations this Registrum knows, as data: released ones never change, versions are
unique per database, and the refusal names both versions and what to run."""

from __future__ import annotations

from datetime import UTC, datetime

from services.schema import history
from services.schema.record import Applied
from services.schema.status import SchemaAhead, SchemaBehind, State, Target

# A released migration is never edited (a change is a new version): its checksum, once
# recorded in operators' databases, is pinned here.
RELEASED = {
    (1, "events"): "481c0e067e34366793159c4a056a260841f508e2897a0d0283495273fb3e14ce",
    (1, "read"): "5fbbf079a2f9a604f360509932d60167310195110308af62fc8992ed996958ff",
    (2, "read"): "c2333d4e207b70f4563045eaa9b93345bc83e8708f82b26435fa8ce2d8313cf2",
    (3, "events"): "1b7df9f517f8c5be4be511891e0d151dbe2391ba674567b4495a6e122eb35537",
    (4, "events"): "9c3f259f3f9aaee0952a00e3288eca712c2ff15665ca69d6b3d4a16705508366",
    (5, "read"): "6bd1088f21d44fc785c741b438f00fd21a2d9b33238fb899af7545f4a2af0813",
    (6, "events"): "9eca5093c2fc2a9768d1eaa576d7d74a52b4f76c8c8ff98b346c6a1419b2a481",
}


def test_released_migrations_are_unchanged() -> None:
    known = {(m.version, m.database): m.checksum for m in history.MIGRATIONS}
    assert {key: known.get(key) for key in RELEASED} == RELEASED


def test_versions_are_unique_per_database_and_in_order() -> None:
    keys = [(m.version, m.database) for m in history.MIGRATIONS]
    assert len(set(keys)) == len(keys)
    assert [v for v, _ in keys] == sorted(v for v, _ in keys)
    assert history.expected("events") == 6 and history.expected("read") == 5


def at(*versions: int, databases: tuple[str, ...] = ("events", "read")) -> State:
    """A database playing both roles that has versions applied (as the read database)."""
    target = Target(databases, "postgresql://x/db", "the database")  # type: ignore[arg-type]
    now = datetime.now(UTC)
    applied = [Applied(v, "", "", now, "someone") for v in versions]
    known = {m.version for m in history.MIGRATIONS}
    pending = [m for m in history.MIGRATIONS if m.version not in versions]
    return State(target, applied, pending, [v for v in versions if v not in known])


def test_behind_says_what_to_run() -> None:
    problem = at(1).problem
    assert isinstance(problem, SchemaBehind)
    assert str(problem) == (
        "the database is at schema version 1, this Registrum needs 6: run `registrum db migrate`"
    )


def test_ahead_says_to_upgrade() -> None:
    problem = at(1, 2, 3, 4, 5, 6, 7).problem
    assert isinstance(problem, SchemaAhead)
    assert str(problem) == (
        "the database is at schema version 7, newer than this Registrum knows (6): "
        "upgrade Registrum"
    )


def test_current_is_no_problem() -> None:
    assert at(1, 2, 3, 4, 5, 6).problem is None
