"""What an operator sees of a request, in memory: its request id (honoured, generated,
echoed, an insane one replaced), its latency per route template, its access line as JSON
with the request and command it belongs to, and its span when tracing is on."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest
from cloudevents.v1.kafka import from_binary
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client import REGISTRY
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse
from starlette.routing import Route
from starlette.testclient import TestClient

from services.observability import logs, requests, tracing
from services.observability.requests import Observed
from tests.json_logs import json_lines, parsed
from tests.unit.test_translate import STORE, FakeFacts, promoted

TRACE = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT = f"00-{TRACE}-00f067aa0ba902b7-01"


async def thing(request: Request) -> JSONResponse:
    # As dispatch does: the command id is noted, and a line logged while it runs.
    requests.note(command_id=f"cmd-{request.path_params['name']}")
    logging.getLogger("registrum.test").info("deciding")
    return JSONResponse({"traceparent": requests.current("traceparent")})


def app() -> Observed:
    return Observed(Starlette(routes=[Route("/things/{name}", thing, methods=["POST"])]))


@pytest.fixture
def lines() -> Iterator[io.StringIO]:
    """Every log line of the process, as JSON, into a buffer."""
    with json_lines() as buffer:
        yield buffer


def sample(name: str, labels: dict[str, str]) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_sane_request_id_is_honoured_and_echoed() -> None:
    with TestClient(app()) as http:
        answer = http.post("/things/a", headers={"X-Request-Id": "build-42.step:7"})
    assert answer.headers["X-Request-Id"] == "build-42.step:7"


def test_the_server_time_to_the_answer_is_in_server_timing() -> None:
    with TestClient(app()) as http:
        timing = http.post("/things/a").headers["Server-Timing"]
    name, _, duration = timing.partition(";dur=")
    assert name == "app" and 0 < float(duration) < 10_000


def test_a_request_without_an_id_gets_a_new_one_each_time() -> None:
    with TestClient(app()) as http:
        first = http.post("/things/a").headers["X-Request-Id"]
        second = http.post("/things/a").headers["X-Request-Id"]
    assert len(first) == 32 and first != second


@pytest.mark.parametrize("insane", ["", "a b", "x" * 129, "<script>", "id\u00e9"])
def test_an_insane_request_id_is_replaced(insane: str) -> None:
    with TestClient(app()) as http:
        answer = http.post("/things/a", headers={"X-Request-Id": insane.encode("utf-8")})
    echoed = answer.headers["X-Request-Id"]
    assert echoed != insane and requests.sane_request_id(echoed) == echoed


def test_latency_is_observed_per_route_template_not_per_path() -> None:
    labels = {"method": "POST", "route": "/things/{name}", "status": "200"}
    before = sample("registrum_http_request_duration_seconds_count", labels)
    with TestClient(app()) as http:
        http.post("/things/a")
        http.post("/things/b")
        http.get("/nowhere")
    assert sample("registrum_http_request_duration_seconds_count", labels) == before + 2
    # Paths that match no route share one label: raw paths would grow without bound.
    unmatched = {"method": "GET", "route": "unmatched", "status": "404"}
    assert sample("registrum_http_request_duration_seconds_count", unmatched) >= 1
    assert (
        sample("registrum_http_request_duration_seconds_count", {**labels, "route": "/things/a"})
        == 0
    )


def test_log_lines_are_json_with_the_request_and_command_they_belong_to(
    lines: io.StringIO,
) -> None:
    with TestClient(app()) as http:
        http.post("/things/w", headers={"X-Request-Id": "req-w"})
    found = parsed(lines)
    during = next(line for line in found if line["event"] == "deciding")
    assert (during["request_id"], during["command_id"]) == ("req-w", "cmd-w")
    assert during["level"] == "info" and during["logger"] == "registrum.test"
    access = next(line for line in found if line["logger"] == "registrum.access")
    assert access["method"] == "POST" and access["route"] == "/things/{name}"
    assert access["status"] == 200 and access["duration_ms"] >= 0
    assert (access["request_id"], access["command_id"]) == ("req-w", "cmd-w")


def test_nothing_of_a_request_stays_bound_after_it(lines: io.StringIO) -> None:
    with TestClient(app()) as http:
        http.post("/things/w", headers={"X-Request-Id": "req-gone"})
    logging.getLogger("registrum.test").info("later")
    later = next(line for line in parsed(lines) if line["event"] == "later")
    assert "request_id" not in later and "command_id" not in later


def test_console_format_is_for_people() -> None:
    buffer = io.StringIO()
    formatter = logs.formatter("console")
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(formatter)
    logger = logging.getLogger("registrum.console-test")
    logger.addHandler(handler)
    try:
        logger.warning("relay %s behind", "kafka")
    finally:
        logger.removeHandler(handler)
    text = buffer.getvalue()
    assert "relay kafka behind" in text and not text.startswith("{")


def test_auto_is_json_unless_a_terminal() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert logs.chosen("auto", io.StringIO()) == "json"
    assert logs.chosen("auto", Tty()) == "console"
    assert logs.chosen("console", io.StringIO()) == "console"


def test_without_tracing_a_callers_traceparent_still_reaches_the_command() -> None:
    tracing.configure(None, "test")
    with TestClient(app()) as http:
        kept = http.post("/things/a", headers={"traceparent": PARENT}).json()["traceparent"]
        garbage = http.post("/things/a", headers={"traceparent": "00-zz"}).json()["traceparent"]
    assert (kept, garbage) == (PARENT, None)


def test_with_tracing_a_request_has_a_span_in_the_callers_trace() -> None:
    exporter = InMemorySpanExporter()
    tracing.configure(None, "test", exporter=exporter)
    try:
        with TestClient(app()) as http:
            kept = http.post("/things/a", headers={"traceparent": PARENT}).json()["traceparent"]
    finally:
        tracing.configure(None, "test")
    (span,) = exporter.get_finished_spans()
    assert span.name == "POST /things/{name}"
    assert f"{span.context.trace_id:032x}" == TRACE
    assert span.parent is not None and f"{span.parent.span_id:016x}" == "00f067aa0ba902b7"
    assert span.attributes is not None and span.attributes["http.response.status_code"] == 200
    # What the command keeps is the request's own span, in the caller's trace.
    assert kept == f"00-{TRACE}-{span.context.span_id:016x}-01"


def test_a_traceparent_goes_on_every_cloudevent_of_the_event() -> None:
    from services.relay.translate import translate

    out = translate(STORE, promoted(42), FakeFacts(), PARENT)
    assert len(out) == 2
    for message in out:
        assert message.message.headers["ce_traceparent"] == PARENT.encode()
        assert from_binary(message.message).get("traceparent") == PARENT
    untraced = translate(STORE, promoted(43), FakeFacts())
    assert all("ce_traceparent" not in m.message.headers for m in untraced)


def test_tracing_is_off_unless_an_endpoint_is_configured(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT"):
        monkeypatch.delenv(name, raising=False)
    assert tracing.endpoint_from(None) is None
    assert tracing.configure(None, "test") is False and not tracing.enabled()
    # OpenTelemetry's own variable turns it on; ours wins over it.
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:9")
    assert tracing.endpoint_from(None) == "http://127.0.0.1:9"
    assert tracing.endpoint_from("http://collector:4318") == "http://collector:4318"
    try:
        assert tracing.configure(tracing.endpoint_from(None), "test") and tracing.enabled()
    finally:
        tracing.configure(None, "test")  # no span was made: nothing waits to be sent
    assert not tracing.enabled()
