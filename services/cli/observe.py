"""Once per process, before it does anything worth logging: its logs (JSON or console,
REGISTRUM_LOG_FORMAT) and its traces (on when an OTLP endpoint is set)."""

from __future__ import annotations

from services.observability import logs, tracing
from services.settings import Settings


def observe(settings: Settings, role: str) -> None:
    """Sets up logging and tracing for a process running role (serve, api, followers,
    projector, relay, intake); traces name the service registrum-<role>."""
    logs.configure(settings.log_format, settings.log_level)
    tracing.configure(tracing.endpoint_from(settings.otlp_endpoint), f"registrum-{role}")
