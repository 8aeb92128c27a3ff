"""The real registry on the eventsourcing library's in-memory persistence: the same
handlers, executor and command log port as in production, no database."""

from __future__ import annotations

from services.artifacts.port import ArtifactStore
from services.registry.application import IN_MEMORY, Registry


def memory_registry(
    *, required_approvals: int = 1, artifacts: ArtifactStore | None = None
) -> Registry:
    return Registry(
        {"PERSISTENCE_MODULE": IN_MEMORY},
        required_approvals=required_approvals,
        artifacts=artifacts,
    )
