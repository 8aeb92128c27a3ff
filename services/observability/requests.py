"""Every HTTP request observed once, as pure ASGI (no per-request objects beyond a dict):
its request id (the client's X-Request-Id when sane, else a new one; echoed in the
response and bound into every log line made while it runs), its latency in a histogram
per route template (never per raw path: a path holds names and digests), an access log
line, and a span when tracing is on.

What a request learns on its way (the command id it dispatched, the trace context to
record with it) is noted in a dict shared by every context copy the request makes (the
threads it runs in), so the access line and the command record see it."""

from __future__ import annotations

import logging
import os
import re
import time
from collections.abc import MutableMapping
from contextvars import ContextVar
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from services.observability import metrics, tracing

REQUEST_ID_HEADER = "X-Request-Id"
_SANE_ID = re.compile(r"[A-Za-z0-9._:/+=@-]{1,128}")
_UNMATCHED = "unmatched"

access_log = logging.getLogger("registrum.access")

_request: ContextVar[dict[str, Any] | None] = ContextVar("registrum_request", default=None)


def sane_request_id(value: str | None) -> str | None:
    """value when it is a request id worth repeating in logs (1-128 characters of letters,
    digits and ._:/+=@-), else None (a new one is made)."""
    return value if value is not None and _SANE_ID.fullmatch(value) else None


def current(key: str) -> Any:
    """What the running request noted under key (request_id, command_id, traceparent);
    None outside a request."""
    noted = _request.get()
    return None if noted is None else noted.get(key)


def note(**fields: str) -> None:
    """Notes fields for the running request: its access line and every log line made
    while it runs carry them (see request_fields)."""
    noted = _request.get()
    if noted is not None:
        noted.update(fields)


# What of a request's notes goes into its log lines (the trace context has its own place).
_LOGGED = ("request_id", "command_id")


def request_fields(
    _logger: Any, _method: str, event: MutableMapping[str, Any]
) -> MutableMapping[str, Any]:
    """A structlog processor: the running request's ids into the line. Read when a line is
    made, so a request that logs nothing pays nothing for it."""
    noted = _request.get()
    if noted is not None:
        for key in _LOGGED:
            if key in noted and key not in event:
                event[key] = noted[key]
    return event


def route_of(scope: Scope) -> str:
    """The route template that answered (/api/v1/models/{name}), or 'unmatched'."""
    route = scope.get("route")
    path = getattr(route, "path_format", None) or getattr(route, "path", None)
    if not isinstance(path, str):
        return _UNMATCHED
    # Behind a mount (the MLflow API's prefixes), the template lacks the mount's path:
    # root_path holds it, after the application's own.
    root = scope.get("root_path", "")
    return root[len(scope.get("app_root_path", root)) :] + path


class Observed:
    """The ASGI middleware (outermost, so it times everything the API does)."""

    def __init__(self, app: ASGIApp, *, access: bool = True) -> None:
        self.app = app
        self.access = access

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        headers = _headers(scope)
        request_id = sane_request_id(headers.get("x-request-id")) or os.urandom(16).hex()
        noted: dict[str, Any] = {"request_id": request_id}
        span = None
        if tracing.enabled():
            span = tracing.RequestSpan(
                scope["method"],
                tracing.sane_traceparent(headers.get("traceparent")),
                headers.get("tracestate"),
            )
            noted["traceparent"] = span.traceparent
        else:
            # Not tracing here, but a caller's trace still reaches the CloudEvents.
            noted["traceparent"] = tracing.sane_traceparent(headers.get("traceparent"))
        token = _request.set(noted)
        status = 500
        echo = (b"x-request-id", request_id.encode())

        async def observed_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                # How long the server took to its answer's first byte, for browsers'
                # developer tools and for bench/ (the client's own time left out).
                took = f"app;dur={(time.perf_counter() - started) * 1000:.3f}".encode()
                message["headers"] = [
                    *message.get("headers", ()),
                    echo,
                    (b"server-timing", took),
                ]
            await send(message)

        try:
            await self.app(scope, receive, observed_send)
        finally:
            seconds = time.perf_counter() - started
            route = route_of(scope)
            method = scope["method"]
            metrics.HTTP_SECONDS.labels(method, route, str(status)).observe(seconds)
            if span is not None:
                span.end(route, status, noted.get("command_id"))
            if self.access and access_log.isEnabledFor(logging.INFO):
                access_log.info(
                    "%s %s %s",
                    method,
                    route,
                    status,
                    extra={
                        "method": method,
                        "route": route,
                        "status": status,
                        "duration_ms": round(seconds * 1000, 3),
                    },
                )
            _request.reset(token)


def _headers(scope: Scope) -> dict[str, str]:
    """The headers the middleware reads (the first of each), decoded."""
    wanted = {b"x-request-id", b"traceparent", b"tracestate"}
    found: dict[str, str] = {}
    for name, value in scope.get("headers", ()):
        if name in wanted and name.decode() not in found:
            found[name.decode()] = value.decode("latin-1")
    return found
