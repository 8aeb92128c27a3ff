"""`registrum db migrate`: applies what each database lacks, each migration in its own
transaction with its record, while holding an advisory lock per database role, so that
two migrators (two `serve`s, a deploy job and a `serve`) apply each migration once: the
second waits, then finds nothing left to do."""

from __future__ import annotations

import getpass
import socket
from collections.abc import Callable
from dataclasses import dataclass
from importlib.metadata import PackageNotFoundError, version

import psycopg
from psycopg.rows import DictRow

from services.schema import record
from services.schema.migration import Database, Migration
from services.schema.status import SchemaAhead, State, Target, connect, state, targets

# Session advisory locks, one per role ("rgm-mgev", "rgm-mgrd"): taken in this order, by
# every migrator, so two never wait on each other in a cycle.
LOCKS: dict[Database, int] = {"events": 0x72676D2D6D676576, "read": 0x72676D2D6D677264}


@dataclass(frozen=True)
class Applied:
    target: Target
    migration: Migration


def migrate(
    events_url: str,
    read_url: str,
    *,
    upto: int | None = None,
    waiting: Callable[[str], None] | None = None,
) -> list[Applied]:
    """Applies every migration the databases lack (up to version upto, when given), the
    events database first; returns what it applied, in order. Raises SchemaAhead, and
    changes nothing there, on a database a newer Registrum migrated."""
    done: list[Applied] = []
    for target in targets(events_url, read_url):
        with connect(target.url) as conn:
            _lock(conn, target, waiting)
            try:
                conn.execute(record.CREATE)
                found = state(conn, target)
                if found.unknown:
                    problem = found.problem
                    raise problem if problem is not None else SchemaAhead(target.label)
                for migration in _due(found, upto):
                    _apply(conn, migration)
                    done.append(Applied(target, migration))
            finally:
                for database in reversed(target.databases):
                    conn.execute("SELECT pg_advisory_unlock(%s)", (LOCKS[database],))
    return done


def _lock(
    conn: psycopg.Connection[DictRow], target: Target, waiting: Callable[[str], None] | None
) -> None:
    for database in target.databases:
        key = LOCKS[database]
        row = conn.execute("SELECT pg_try_advisory_lock(%s) AS held", (key,)).fetchone()
        if row is not None and row["held"]:
            continue
        if waiting is not None:
            waiting(f"{target.label}: another migration is running; waiting for it")
        conn.execute("SELECT pg_advisory_lock(%s)", (key,))


def _due(found: State, upto: int | None) -> list[Migration]:
    return [m for m in found.pending if upto is None or m.version <= upto]


def _apply(conn: psycopg.Connection[DictRow], migration: Migration) -> None:
    with conn.transaction():
        for statement in migration.statements:
            conn.execute(statement.encode())
        if migration.after is not None:
            migration.after(conn)
        conn.execute(
            f"INSERT INTO {record.TABLE}"
            " (database, version, description, checksum, applied_by, registrum)"
            " VALUES (%s, %s, %s, %s, %s, %s)",
            (
                migration.database,
                migration.version,
                migration.description,
                migration.checksum,
                _who(),
                _registrum_version(),
            ),
        )


def _who() -> str:
    """The operating-system user and host that applied a migration."""
    try:
        user = getpass.getuser()
    except (KeyError, OSError):  # no name for this uid (containers)
        user = "unknown"
    return f"{user}@{socket.gethostname()}"


def _registrum_version() -> str:
    try:
        return version("registrum")
    except PackageNotFoundError:
        return "unknown"
