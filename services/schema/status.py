"""Where each database's schema stands against what this Registrum needs, and the refusal
a process gives when it does not match (services/bootstrap.py checks at start)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

import psycopg
from psycopg.rows import DictRow, dict_row

from services.schema import history, record
from services.schema.migration import DATABASES, Database, Migration

MIGRATE = "run `registrum db migrate`"
UPGRADE = "upgrade Registrum"


class SchemaMismatch(RuntimeError):
    """A database's schema is not the one this Registrum was written for; the message says
    which database, both versions, and what to run."""


class SchemaBehind(SchemaMismatch):
    """Migrations this Registrum needs have not been applied: `registrum db migrate`."""


class SchemaAhead(SchemaMismatch):
    """A newer Registrum migrated this database: this one must not run on it."""


@dataclass(frozen=True)
class Target:
    """One database, the roles it plays (events, read or both), and how to name it to an
    operator. Versions are numbered across both roles, so one database that plays both is
    at one version: the highest applied for either."""

    databases: tuple[Database, ...]
    url: str
    label: str


def targets(events_url: str, read_url: str) -> list[Target]:
    """The events database, then the read database (one target when they are one)."""
    if events_url == read_url:
        return [Target(DATABASES, events_url, "the database")]
    return [
        Target(("events",), events_url, "the events database (REGISTRUM_DATABASE_URL)"),
        Target(("read",), read_url, "the read database (REGISTRUM_READ_DATABASE_URL)"),
    ]


@dataclass(frozen=True)
class State:
    target: Target
    applied: list[record.Applied]
    pending: list[Migration] = field(default_factory=list)  # known here, not applied there
    unknown: list[int] = field(default_factory=list)  # applied there, not known here
    edited: list[int] = field(default_factory=list)  # applied with another checksum

    @property
    def current(self) -> int:
        return max((a.version for a in self.applied), default=0)

    @property
    def expected(self) -> int:
        return max(history.expected(d) for d in self.target.databases)

    @property
    def problem(self) -> SchemaMismatch | None:
        """Why a process must not run on this database; None when it may."""
        label, current, expected = self.target.label, self.current, self.expected
        if self.unknown:
            if current > expected:
                return SchemaAhead(
                    f"{label} is at schema version {current}, newer than this Registrum "
                    f"knows ({expected}): {UPGRADE}"
                )
            versions = ", ".join(map(str, self.unknown))
            return SchemaAhead(
                f"{label} has schema version(s) {versions} this Registrum does not know: {UPGRADE}"
            )
        if self.pending:
            if current < expected:
                return SchemaBehind(
                    f"{label} is at schema version {current}, this Registrum needs "
                    f"{expected}: {MIGRATE}"
                )
            versions = ", ".join(map(str, sorted({m.version for m in self.pending})))
            return SchemaBehind(f"{label} lacks schema version(s) {versions}: {MIGRATE}")
        return None


def state(conn: psycopg.Connection[DictRow], target: Target) -> State:
    """target's schema as read on conn, a connection to it."""
    applied: list[record.Applied] = []
    pending: list[Migration] = []
    unknown: list[int] = []
    edited: list[int] = []
    for database in target.databases:
        done = record.applied(conn, database)
        known = {m.version: m for m in history.of(database)}
        applied += done.values()
        pending += [m for v, m in known.items() if v not in done]
        unknown += [v for v in done if v not in known]
        edited += [v for v, a in done.items() if v in known and known[v].checksum != a.checksum]
    pending.sort(key=lambda m: m.version)  # stable: events before read within a version
    return State(target, applied, pending, sorted(set(unknown)), sorted(set(edited)))


@contextmanager
def connect(url: str) -> Iterator[psycopg.Connection[DictRow]]:
    with psycopg.connect(url, autocommit=True, row_factory=dict_row, connect_timeout=10) as conn:
        yield conn


def states(events_url: str, read_url: str) -> list[State]:
    """Each database's state, the events database first."""
    found = []
    for target in targets(events_url, read_url):
        with connect(target.url) as conn:
            found.append(state(conn, target))
    return found


def require_current(events_url: str, read_url: str) -> None:
    """Raises SchemaMismatch (SchemaBehind or SchemaAhead) naming every database whose
    schema this Registrum cannot run on, and what to do about it."""
    problems = [p for s in states(events_url, read_url) if (p := s.problem) is not None]
    if not problems:
        return
    kind = SchemaAhead if any(isinstance(p, SchemaAhead) for p in problems) else SchemaBehind
    raise kind("; ".join(map(str, problems)))
