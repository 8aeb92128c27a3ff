"""Every migration this Registrum knows, in the order they apply. A new one is a module
`v<N>_<what>.py` added at the end here; a released one is never edited."""

from __future__ import annotations

from services.schema import (
    v1_baseline,
    v2_leases,
    v3_artifact_store,
    v4_mlflow_artifacts,
    v5_webhooks,
    v6_token_sessions,
)
from services.schema.migration import Database, Migration

MIGRATIONS: tuple[Migration, ...] = (
    v1_baseline.EVENTS,
    v1_baseline.READ,
    v2_leases.READ,
    v3_artifact_store.EVENTS,
    v4_mlflow_artifacts.EVENTS,
    v5_webhooks.READ,
    v6_token_sessions.EVENTS,
)


def of(database: Database) -> list[Migration]:
    """database's migrations, oldest first."""
    return sorted((m for m in MIGRATIONS if m.database == database), key=lambda m: m.version)


def expected(database: Database) -> int:
    """The version this Registrum needs database at (0: it needs no tables there)."""
    return max((m.version for m in of(database)), default=0)
