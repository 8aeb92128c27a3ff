"""One typed settings object, read from REGISTRUM_* environment variables at start-up."""

from __future__ import annotations

from pathlib import Path

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Server settings. Every field is REGISTRUM_<FIELD> in the environment."""

    model_config = SettingsConfigDict(env_prefix="REGISTRUM_", extra="ignore")

    host: str = Field("127.0.0.1", description="Address the HTTP API listens on.")
    port: int = Field(8000, ge=0, le=65535, description="Port the HTTP API listens on.")
    data_dir: Path = Field(
        Path(".registrum"),
        description="Where the embedded database and the lock file live.",
    )
    database_url: str | None = Field(
        None,
        description="PostgreSQL URL of the event store. Unset: an embedded PostgreSQL "
        "in the data directory.",
    )
    read_database_url: str | None = Field(
        None,
        description="PostgreSQL URL of the read views. Unset: the event store's database.",
    )
    required_approvals: int = Field(
        1, ge=1, le=10, description="Distinct approvers needed before a promotion."
    )
    max_body_bytes: int = Field(
        2 * 1024 * 1024, ge=1024, description="Largest JSON request body accepted."
    )
    db_pool_size: int = Field(10, ge=1, description="Connections kept to the event store.")
    log_level: str = Field("info", description="Server log level.")
    s3_endpoint: str | None = Field(
        None,
        description="host:port of an S3 server for artefacts. Unset: a folder in the "
        "data directory.",
    )
    s3_bucket: str = Field("registrum", description="The artefacts' bucket.")
    s3_access_key: str | None = Field(None, description="S3 access key.")
    s3_secret_key: str | None = Field(None, description="S3 secret key.")
    s3_region: str | None = Field(None, description="S3 region.")
    s3_secure: bool = Field(True, description="Use TLS to reach S3.")
    s3_create_bucket: bool = Field(True, description="Create the bucket when missing.")
    kafka_bootstrap: str | None = Field(
        None,
        description="Kafka bootstrap servers (host:port,...). Unset: `registrum serve` "
        "starts an embedded Kafka-compatible broker (it keeps nothing across restarts; the "
        "relay republishes the log into it).",
    )
    embedded_kafka_port: int = Field(
        9092, ge=1, le=65535, description="Port of the embedded broker on 127.0.0.1."
    )
    kafka: bool = Field(True, description="Run the relay and the intake in `registrum serve`.")
    store_id: str = Field(
        "registry",
        description="Names this registry in CloudEvents ids (store id:position) and sources.",
    )
