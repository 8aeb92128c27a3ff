"""The real registry on the eventsourcing library's in-memory persistence: the same
handlers, executor and command log port as in production, no database."""

from __future__ import annotations

from services.artifacts.port import ArtifactStore
from services.registry.application import IN_MEMORY, Registry
from tests.people import open_to_testers


def memory_registry(
    *, required_approvals: int = 1, artifacts: ArtifactStore | None = None, open: bool = True
) -> Registry:
    """An empty registry; open: the testers group holds every role (tests/people.py)."""
    registry = Registry(
        {"PERSISTENCE_MODULE": IN_MEMORY},
        required_approvals=required_approvals,
        artifacts=artifacts,
    )
    if open:
        open_to_testers(registry)
    return registry
