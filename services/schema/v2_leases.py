"""Version 2: the leases single-active followers hold, with a fencing token, in the read
database (where the followers write their effects); services/eventlog/lease.py uses it.
backend_pid is the holder's database session: a holder whose session has ended is
replaced at once."""

from __future__ import annotations

from services.schema.migration import Migration

READ = Migration(
    version=2,
    database="read",
    description="registrum_leases: single-active followers' leases with fencing tokens",
    statements=(
        "CREATE TABLE IF NOT EXISTS registrum_leases (name text PRIMARY KEY,"
        " holder text NOT NULL, token bigint NOT NULL, expires_at timestamptz NOT NULL,"
        " renewed_at timestamptz NOT NULL, backend_pid integer NOT NULL)",
    ),
)
