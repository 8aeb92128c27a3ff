"""The table each database keeps of the migrations applied to it: which version, when, by
whom, with what checksum. One table serves both databases when they are one."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import psycopg
from psycopg.rows import DictRow

from services.schema.migration import Database

TABLE = "registrum_schema"

CREATE = f"""CREATE TABLE IF NOT EXISTS {TABLE} (
    database text NOT NULL,
    version integer NOT NULL,
    description text NOT NULL,
    checksum text NOT NULL,
    applied_at timestamptz NOT NULL DEFAULT now(),
    applied_by text NOT NULL,
    registrum text NOT NULL,
    PRIMARY KEY (database, version)
)"""


@dataclass(frozen=True)
class Applied:
    version: int
    description: str
    checksum: str
    applied_at: datetime
    applied_by: str


def applied(conn: psycopg.Connection[DictRow], database: Database) -> dict[int, Applied]:
    """The versions applied to database at conn; none on a database without the table."""
    row = conn.execute("SELECT to_regclass(%s) IS NOT NULL AS known", (TABLE,)).fetchone()
    if row is None or not row["known"]:
        return {}
    rows = conn.execute(
        f"SELECT version, description, checksum, applied_at, applied_by FROM {TABLE}"
        " WHERE database = %s ORDER BY version",
        (database,),
    ).fetchall()
    return {r["version"]: Applied(**r) for r in rows}
