"""Version 3: which artefact folder the registry uses (services/artifacts/identity.py), in
the events database: at most one row, the identity of its folder store, so that a process
that cannot see that folder refuses to start."""

from __future__ import annotations

from services.schema.migration import Migration

EVENTS = Migration(
    version=3,
    database="events",
    description="registrum_artifact_store: the identity of the artefact folder in use",
    statements=(
        """CREATE TABLE IF NOT EXISTS registrum_artifact_store (
            singleton boolean PRIMARY KEY DEFAULT true CHECK (singleton),
            kind text NOT NULL CHECK (kind = 'folder'),
            identity text NOT NULL,
            claimed_at timestamptz NOT NULL DEFAULT now()
        )""",
    ),
)
