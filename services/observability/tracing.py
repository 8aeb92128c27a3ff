"""OpenTelemetry traces, on only when an OTLP endpoint is configured
(REGISTRUM_OTLP_ENDPOINT, or OpenTelemetry's own OTEL_EXPORTER_OTLP_ENDPOINT /
OTEL_EXPORTER_OTLP_TRACES_ENDPOINT) and the `registrum[tracing]` extra is installed.
Off, nothing of OpenTelemetry is imported and a request pays one `is None` test.

A request's span honours an incoming W3C traceparent. Its context, as a traceparent
string, is what the API records with an accepted command, so the relay (later, in another
process) can put it on the CloudEvents it publishes: a deployer's span then joins the
trace of the request that promoted."""

from __future__ import annotations

import logging
import os
import re
from typing import Any

log = logging.getLogger(__name__)

_TRACEPARENT = re.compile(r"00-([0-9a-f]{32})-([0-9a-f]{16})-[0-9a-f]{2}")
_TRACESTATE_MAX = 512

_tracer: Any = None  # an OpenTelemetry Tracer while tracing is on
_provider: Any = None  # its TracerProvider, shut down (spans flushed) when replaced


def sane_traceparent(value: str | None) -> str | None:
    """value when it is a version-00 W3C traceparent with real ids, else None."""
    if value is None:
        return None
    match = _TRACEPARENT.fullmatch(value)
    if match is None or set(match[1]) == {"0"} or set(match[2]) == {"0"}:
        return None
    return value


def endpoint_from(setting: str | None) -> str | None:
    """The OTLP endpoint in force: the setting, else OpenTelemetry's environment."""
    return (
        setting
        or os.environ.get("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
        or os.environ.get("OTEL_EXPORTER_OTLP_ENDPOINT")
        or None
    )


def configure(endpoint: str | None, service: str, exporter: Any = None) -> bool:
    """Turns tracing on when endpoint (see endpoint_from) is set, or exporter is given
    (tests: an in-memory exporter, spans exported as they end). Returns whether it is on.
    Called again, it replaces the set-up before (whose spans are flushed first)."""
    global _tracer, _provider
    if _provider is not None:
        _provider.shutdown()
    _tracer = _provider = None
    if not endpoint and exporter is None:
        return False
    try:
        from opentelemetry.sdk.resources import Resource
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import BatchSpanProcessor, SimpleSpanProcessor
    except ModuleNotFoundError:
        log.warning("an OTLP endpoint is set but `registrum[tracing]` is not installed: no traces")
        return False
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    if exporter is not None:
        provider.add_span_processor(SimpleSpanProcessor(exporter))
    else:
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

        provider.add_span_processor(BatchSpanProcessor(OTLPSpanExporter(endpoint=_where(endpoint))))
    _provider, _tracer = provider, provider.get_tracer("registrum")
    return True


def _where(endpoint: str | None) -> str | None:
    # OpenTelemetry's own variables are read by the exporter itself (it adds /v1/traces to
    # OTEL_EXPORTER_OTLP_ENDPOINT); ours names the collector's base URL as that one does.
    if endpoint is None or endpoint == endpoint_from(None):
        return None
    return endpoint.rstrip("/") + "/v1/traces"


def enabled() -> bool:
    return _tracer is not None


class RequestSpan:
    """One request's server span, current while the request runs (its context reaches
    the threads the request uses: OpenTelemetry keeps it in contextvars)."""

    def __init__(self, method: str, traceparent: str | None, tracestate: str | None) -> None:
        from opentelemetry import context, trace
        from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

        carrier = {}
        if traceparent is not None:
            carrier["traceparent"] = traceparent
            if tracestate is not None and len(tracestate) <= _TRACESTATE_MAX:
                carrier["tracestate"] = tracestate
        parent = TraceContextTextMapPropagator().extract(carrier)
        self.method = method
        self.span = _tracer.start_span(method, context=parent, kind=trace.SpanKind.SERVER)
        self._token = context.attach(trace.set_span_in_context(self.span, parent))
        ids = self.span.get_span_context()
        self.traceparent = f"00-{ids.trace_id:032x}-{ids.span_id:016x}-{ids.trace_flags:02x}"

    def end(self, route: str, status: int, command_id: str | None = None) -> None:
        from opentelemetry import context
        from opentelemetry.trace import Status, StatusCode

        self.span.update_name(f"{self.method} {route}")
        self.span.set_attribute("http.request.method", self.method)
        self.span.set_attribute("http.route", route)
        self.span.set_attribute("http.response.status_code", status)
        if command_id is not None:
            self.span.set_attribute("registrum.command_id", command_id)
        if status >= 500:
            self.span.set_status(Status(StatusCode.ERROR))
        self.span.end()
        context.detach(self._token)
