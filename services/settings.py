"""One typed settings object, read from REGISTRUM_* environment variables at start-up."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import Field, SecretStr
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
    # -- observability ----------------------------------------------------------------------
    log_format: Literal["auto", "json", "console"] = Field(
        "auto",
        description="Log lines as JSON objects or for a person; auto: JSON unless stderr is "
        "a terminal.",
    )
    access_log: bool = Field(True, description="Log one line per HTTP request.")
    console: bool = Field(
        True, description="Serve the web console at / (off: the API's JSON paths only)."
    )
    ops_port: int = Field(
        9464,
        ge=0,
        le=65535,
        description="Port of a follower process's /health/live, /health/ready and /metrics "
        "(on REGISTRUM_HOST; 0: none). In `registrum serve`, only when set.",
    )
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP collector URL for traces (else OTEL_EXPORTER_OTLP_ENDPOINT; "
        "unset: no tracing). Needs `registrum[tracing]`.",
    )
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
    # Which followers `registrum serve` runs (each off: another process runs that role).
    projector: bool = Field(
        True, description="Run the projector in `registrum serve` (off: reads wait for another)."
    )
    relay: bool = Field(True, description="Run the relay in `registrum serve` (needs kafka).")
    intake: bool = Field(True, description="Run the intake in `registrum serve` (needs kafka).")
    lease_seconds: float = Field(
        10.0,
        gt=0,
        le=3600,
        description="How long a projector or relay that stops making progress keeps its "
        "lease before a standby takes over.",
    )
    health_max_lag_seconds: float = Field(
        30.0,
        gt=0,
        description="/health reports a view or relay with events waiting that has not "
        "moved for longer than this as degraded (HTTP 503).",
    )
    store_id: str = Field(
        "registry",
        description="Names this registry in CloudEvents ids (store id:position) and sources.",
    )
    # -- webhooks -----------------------------------------------------------------------
    webhooks: bool = Field(True, description="Deliver webhooks in `registrum serve`.")
    webhook_key_file: Path | None = Field(
        None,
        description="Fernet key (mode 0600) that encrypts webhook secrets at rest. Unset: "
        "webhook-secrets.key in the data directory, made on the first start of `serve`.",
    )
    webhook_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="How long a webhook receiver may take to answer."
    )
    webhook_retry_max_seconds: float = Field(
        300.0,
        gt=0,
        description="Longest wait between two attempts of a delivery (the wait doubles from "
        "1 s up to this).",
    )
    webhook_give_up_hours: float = Field(
        72.0, gt=0, description="A delivery still failing after this long is marked failed."
    )
    webhook_allow_private_urls: bool = Field(
        False,
        description="Let webhooks post to loopback and private addresses (otherwise only "
        "public ones: server-side request forgery).",
    )
    # -- identity and access --------------------------------------------------------------
    oidc_issuer: str | None = Field(
        None,
        description="Issuer (iss) of the OIDC bearer JWTs accepted. Unset: API tokens only.",
    )
    oidc_audience: str | None = Field(
        None, description="Audience (aud) the JWTs must name; required with an issuer."
    )
    oidc_jwks_url: str | None = Field(
        None,
        description="JWKS URL of the issuer's keys (cached, fetched again on an unknown kid).",
    )
    oidc_public_key_file: Path | None = Field(
        None, description="PEM file of the issuer's public key, instead of a JWKS URL."
    )
    oidc_algorithms: str = Field(
        "RS256,ES256,EdDSA",
        description="Signature algorithms accepted, comma-separated; none and HS* never are.",
    )
    oidc_subject_claim: str = Field(
        "sub", description="Claim naming the subject (case-folded into a stable id)."
    )
    oidc_groups_claim: str = Field("groups", description="Claim listing the subject's groups.")
    oidc_name_claim: str = Field("name", description="Claim with the display name.")
    oidc_leeway_seconds: int = Field(
        30, ge=0, le=300, description="Clock skew allowed on exp and nbf."
    )
    oidc_client_id: str | None = Field(
        None,
        description="The web console's client id at the issuer: with it, the sign-in page "
        "offers the organisation's sign-in (authorization code flow with PKCE).",
    )
    oidc_client_secret: SecretStr | None = Field(
        None,
        description="The console's client secret, when the issuer holds it as a confidential "
        "client (never logged). Unset: a public client, PKCE alone.",
    )
    oidc_scopes: str = Field(
        "openid profile email",
        description="Scopes the console asks the issuer for (space-separated; openid needed).",
    )
    public_url: str | None = Field(
        None,
        description="The registry's address as browsers reach it (behind a proxy), for the "
        "sign-in callback; https makes the console's cookies Secure even where a proxy "
        "ends TLS. Unset: the address each request came to.",
    )
    max_artifact_bytes: int = Field(
        50 * 1024**3, ge=1, description="Largest artefact upload accepted (413 beyond)."
    )
    artifact_gc_grace_hours: float = Field(
        24, ge=0, description="Unreferenced objects younger than this are kept by gc."
    )
    # -- audit trail ------------------------------------------------------------------------
    audit_key_file: Path | None = Field(
        None,
        description="Ed25519 private key (PEM, mode 0600) that signs checkpoints. Unset: "
        "audit-signing.key in the data directory, made on first start.",
    )
    audit_checkpoint_events: int = Field(
        1000, ge=1, description="Sign a checkpoint after this many new events."
    )
    audit_checkpoint_seconds: float = Field(
        60, gt=0, description="...or after this long, when the log has moved."
    )
    audit_checkpoints: bool = Field(
        True, description="Run the checkpoint signer in `registrum serve`."
    )
    # -- Kafka security ---------------------------------------------------------------------
    kafka_security_protocol: str = Field(
        "PLAINTEXT", description="PLAINTEXT, SSL, SASL_PLAINTEXT or SASL_SSL."
    )
    kafka_sasl_mechanism: str | None = Field(
        None, description="PLAIN, SCRAM-SHA-256 or SCRAM-SHA-512."
    )
    kafka_sasl_username: str | None = Field(None, description="SASL user name.")
    kafka_sasl_password: str | None = Field(None, description="SASL password.")
    kafka_ssl_cafile: Path | None = Field(
        None, description="CA bundle that signed the brokers' certificates (TLS)."
    )
    kafka_ssl_certfile: Path | None = Field(None, description="Client certificate (mutual TLS).")
    kafka_ssl_keyfile: Path | None = Field(None, description="Client key (mutual TLS).")
