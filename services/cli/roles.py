"""What each role's process says when it starts: its role and where it connects (hosts,
ports, database and bucket names; never a user name, password or key)."""

from __future__ import annotations

from psycopg.conninfo import conninfo_to_dict

from services.bootstrap import Runtime


def database(url: str) -> str:
    """host:port/dbname of a PostgreSQL URL (or the socket directory of a local one)."""
    parts = conninfo_to_dict(url)
    host = str(parts.get("host") or "localhost")
    port = str(parts.get("port") or 5432)
    return f"{host}:{port}/{parts.get('dbname') or ''}"


def connections(runtime: Runtime, *, kafka: bool = True, artifacts: bool = True) -> str:
    """Where a process of runtime connects, for its start-up line."""
    settings = runtime.settings
    said = [f"events at {database(runtime.events_url)}"]
    if runtime.read_url != runtime.events_url:
        said.append(f"views at {database(runtime.read_url)}")
    if kafka and runtime.kafka_bootstrap:
        said.append(f"Kafka at {runtime.kafka_bootstrap}")
    if artifacts:
        said.append(
            f"artefacts in s3://{settings.s3_endpoint}/{settings.s3_bucket}"
            if settings.s3_endpoint
            else f"artefacts in {runtime.data_dir / 'artifacts'}"
        )
    return "; ".join(said)


def start_line(role: str, runtime: Runtime, **parts: bool) -> str:
    return f"registrum {role}: {connections(runtime, **parts)}"
