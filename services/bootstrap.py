"""The only place that picks and wires adapters."""

from __future__ import annotations

from pathlib import Path

from psycopg.conninfo import conninfo_to_dict

from services.artifacts.port import ArtifactStore
from services.registry.application import Registry
from services.settings import Settings


def eventstore_env(database_url: str, pool_size: int = 10) -> dict[str, str]:
    """eventsourcing's POSTGRES_* settings from one PostgreSQL URL."""
    parts = conninfo_to_dict(database_url)
    missing = [key for key in ("dbname", "host") if not parts.get(key)]
    if missing:
        raise ValueError(f"REGISTRUM_DATABASE_URL lacks {', '.join(missing)}: {database_url!r}")
    return {
        "POSTGRES_DBNAME": str(parts["dbname"]),
        "POSTGRES_HOST": str(parts["host"]),
        "POSTGRES_PORT": str(parts.get("port") or "5432"),
        "POSTGRES_USER": str(parts.get("user") or "postgres"),
        "POSTGRES_PASSWORD": str(parts.get("password") or ""),
        "POSTGRES_POOL_SIZE": str(pool_size),
        "POSTGRES_MAX_OVERFLOW": str(pool_size),
        "POSTGRES_CONNECT_TIMEOUT": "10",
        "POSTGRES_LOCK_TIMEOUT": "10",
        # Never POSTGRES_ENABLE_DB_FUNCTIONS: with several writers, followers lose events.
    }


def build_registry(
    settings: Settings, database_url: str, artifacts: ArtifactStore | None = None
) -> Registry:
    env = eventstore_env(database_url, settings.db_pool_size)
    return Registry(env, required_approvals=settings.required_approvals, artifacts=artifacts)


def build_artifact_store(settings: Settings) -> ArtifactStore:
    """S3 when REGISTRUM_S3_ENDPOINT is set, else a folder under the data directory."""
    if settings.s3_endpoint:
        from minio import Minio

        from services.artifacts.s3 import S3Store

        client = Minio(
            settings.s3_endpoint,
            access_key=settings.s3_access_key,
            secret_key=settings.s3_secret_key,
            region=settings.s3_region,
            secure=settings.s3_secure,
        )
        return S3Store(client, settings.s3_bucket, create_bucket=settings.s3_create_bucket)
    from services.artifacts.filesystem import FilesystemStore

    return FilesystemStore(Path(settings.data_dir).resolve() / "artifacts")
