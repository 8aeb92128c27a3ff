"""The process's Prometheus metrics, in prometheus_client's default registry (one per
process: the API's port and each follower's operations port serve it at /metrics).

Counters and histograms move on the hot path (a labelled child's lookup and one locked
add, as prometheus_client does); gauges of state (pools, lags) are set only when
/metrics is scraped, so measuring them costs requests nothing."""

from __future__ import annotations

from prometheus_client import CONTENT_TYPE_LATEST, Counter, Gauge, Histogram, generate_latest

# -- the API ---------------------------------------------------------------------------

HTTP_SECONDS = Histogram(
    "registrum_http_request_duration_seconds",
    "Time from a request's arrival to its response's last byte, per route template.",
    ["method", "route", "status"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
COMMANDS = Counter(
    "registrum_commands",
    "Commands dispatched through the HTTP API, by command type and outcome (accepted, "
    "replayed, refused, conflict) and, when refused, the error code.",
    ["command", "outcome", "code"],
)
POOL_CONNECTIONS = Gauge(
    "registrum_db_pool_connections",
    "Database pool connections: open (size), checked out (in_use), and the most allowed "
    "(max). pool: read (the API's asyncpg pool on the views) or events (the event store's "
    "psycopg pool).",
    ["pool", "state"],
)
ARTIFACT_BYTES = Counter(
    "registrum_artifact_bytes",
    "Artefact bytes through the API: in (uploads stored) and out (downloads streamed).",
    ["direction"],
)

# -- the followers ---------------------------------------------------------------------

PROJECTOR_LAG_EVENTS = Gauge(
    "registrum_projector_lag_events",
    "Events in the log that a view has not applied yet.",
    ["view"],
)
PROJECTOR_LAG_SECONDS = Gauge(
    "registrum_projector_lag_seconds",
    "Time since a view that is behind last moved (0 when it is up to date).",
    ["view"],
)
RELAY_LAG_EVENTS = Gauge(
    "registrum_relay_lag_events",
    "Events in the log that a relay has not had acknowledged by Kafka yet.",
    ["relay"],
)
RELAY_LAG_SECONDS = Gauge(
    "registrum_relay_lag_seconds",
    "Time since a relay that is behind last stored its position (0 when up to date).",
    ["relay"],
)
INTAKE_LAG = Gauge(
    "registrum_intake_consumer_lag_messages",
    "Messages on registry.commands the intake's consumer group has not committed yet.",
    ["partition"],
)
WEBHOOK_DELIVERIES = Gauge(
    "registrum_webhook_deliveries",
    "Webhook deliveries not delivered: pending (being retried or queued behind one that "
    "is) and failed (given up on).",
    ["status"],
)
DEAD_LETTERS = Counter(
    "registrum_intake_dead_letters",
    "Messages the intake set aside on registry.commands.dlq, by reason.",
    ["reason"],
)
INTAKE_ANSWERS = Counter(
    "registrum_intake_answers",
    "Command messages the intake answered on registry.command-results, by status.",
    ["status"],
)


def render() -> tuple[bytes, str]:
    """The exposition text of every metric, and its content type."""
    return generate_latest(), CONTENT_TYPE_LATEST
