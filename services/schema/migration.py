"""What one migration is: a version, the database it applies to, and its statements."""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Literal

import psycopg
from psycopg.rows import DictRow

# Which database a migration changes: the event store's (REGISTRUM_DATABASE_URL) or the
# views' (REGISTRUM_READ_DATABASE_URL, the same database unless set).
Database = Literal["events", "read"]
DATABASES: tuple[Database, ...] = ("events", "read")

Step = Callable[[psycopg.Connection[DictRow]], Any]


@dataclass(frozen=True)
class Migration:
    """One version of one database's schema. Applied in one transaction with its record;
    never edited once released (the recorded checksum shows an edit): a change is a new
    version. `after` runs in the same transaction, after the statements, for what SQL
    alone cannot say (linking an older log into the audit chain)."""

    version: int
    database: Database
    description: str
    statements: tuple[str, ...]
    after: Step | None = None

    @property
    def checksum(self) -> str:
        digest = hashlib.sha256()
        for statement in self.statements:
            digest.update(statement.encode())
            digest.update(b"\0")
        if self.after is not None:
            digest.update(f"{self.after.__module__}.{self.after.__qualname__}".encode())
        return digest.hexdigest()
