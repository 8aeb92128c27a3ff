"""Version 4: the MLflow artefact paths (services/mlflow/paths.py), in the events database:
which stored object each path MLflow's client uploaded to holds. The bytes are in the
content-addressed store; a version registered from these paths records their digests in
its manifest, so what it names can never change under it, whatever is uploaded later."""

from __future__ import annotations

from services.schema.migration import Migration

EVENTS = Migration(
    version=4,
    database="events",
    description="registrum_mlflow_artifacts: MLflow artefact paths and the objects they hold",
    statements=(
        """CREATE TABLE IF NOT EXISTS registrum_mlflow_artifacts (
            path text PRIMARY KEY CHECK (path <> '' AND left(path, 1) <> '/'),
            sha256 text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
            size bigint NOT NULL CHECK (size >= 0),
            uploaded_by text NOT NULL,
            uploaded_at timestamptz NOT NULL DEFAULT now()
        )""",
        "CREATE INDEX IF NOT EXISTS registrum_mlflow_artifacts_sha256"
        " ON registrum_mlflow_artifacts (sha256)",
    ),
)
