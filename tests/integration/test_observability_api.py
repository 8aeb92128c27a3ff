"""The API's observability against real PostgreSQL: /metrics before and after commands,
/health/ready, JSON access lines with request and command ids, and a promotion's trace
carried through the command log into the CloudEvents the relay publishes."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from services.api.app import create_app
from services.bus.topics import EVENTS, PROMOTIONS
from services.observability import tracing
from services.registry.application import Registry
from services.relay import positions
from services.relay.relay import Relay
from tests.fakes.sink import FakeSink
from tests.json_logs import json_lines, parsed
from tests.people import READERS, Badges

BADGES = Badges()
SHA = "ab" * 32
TRACE = "0af7651916cd43dd8448eb211c80319c"
CALLER_SPAN = "b7ad6b7169203331"


def as_(actor: str, **extra: str) -> dict[str, str]:
    return BADGES.headers(actor, **extra)


@pytest.fixture(scope="module")
def http(registry: Registry, database_url: str) -> Iterator[TestClient]:
    app = create_app(registry, database_url, authenticator=BADGES.authenticator())
    with TestClient(app) as client:
        client.headers.update(BADGES.headers("reader", READERS))
        yield client


def scrape(http: TestClient) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    """Every sample of /metrics, by name and labels."""
    answer = http.get("/metrics")
    assert answer.status_code == 200
    assert answer.headers["content-type"].startswith("text/plain")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def value(samples: dict[Any, float], name: str, **labels: str) -> float:
    return samples.get((name, tuple(sorted(labels.items()))), 0.0)


def test_commands_and_latency_move_on_metrics(http: TestClient, unique: str) -> None:
    name = f"metrics-{unique}"
    before = scrape(http)
    assert http.post("/api/v1/models", json={"name": name}, headers=as_("alice")).status_code == 201
    for _ in range(2):
        registered = http.post(
            f"/api/v1/models/{name}/versions",
            json={"artifact_uri": "s3://m/x", "sha256": SHA, "size": 1},
            headers=as_("alice"),
        )
        assert registered.status_code == 201
    # The same name again: refused as a conflict, with its code.
    again = http.post("/api/v1/models", json={"name": name}, headers=as_("alice"))
    assert again.status_code == 409
    after = scrape(http)

    def moved(name: str, **labels: str) -> float:
        return value(after, name, **labels) - value(before, name, **labels)

    total = "registrum_commands_total"
    assert moved(total, command="RegisterModel", outcome="accepted", code="") == 1
    assert moved(total, command="RegisterVersion", outcome="accepted", code="") == 2
    assert moved(total, command="RegisterModel", outcome="conflict", code="duplicate_name") == 1
    # Latency per route template: the two registrations share one series.
    count = "registrum_http_request_duration_seconds_count"
    route = "/api/v1/models/{name}/versions"
    assert moved(count, method="POST", route=route, status="201") == 2
    assert not any(name in str(labels) for (_, labels) in after)
    # The pools, as they stand at the scrape.
    pool = "registrum_db_pool_connections"
    assert value(after, pool, pool="read", state="max") == 10
    assert value(after, pool, pool="read", state="size") >= 1
    assert value(after, pool, pool="events", state="size") >= 1
    assert (
        0
        <= value(after, pool, pool="events", state="in_use")
        <= value(after, pool, pool="events", state="max")
    )


def test_a_refused_command_counts_under_its_error_code(http: TestClient, unique: str) -> None:
    before = scrape(http)
    missing = http.post(
        f"/api/v1/models/absent-{unique}/versions",
        json={"artifact_uri": "s3://m/x"},
        headers=as_("alice"),
    )
    assert missing.status_code == 404
    after = scrape(http)
    labels = {"command": "RegisterVersion", "outcome": "refused", "code": "not_found"}
    total = "registrum_commands_total"
    assert value(after, total, **labels) - value(before, total, **labels) == 1


def test_ready_when_both_databases_answer(http: TestClient) -> None:
    answer = http.get("/health/ready", headers={"Authorization": ""})
    assert answer.status_code == 200
    assert answer.json() == {"status": "ready", "checks": {"views": "ok", "events": "ok"}}


def test_not_ready_while_the_followers_process_starts(
    registry: Registry, database_url: str
) -> None:
    state = {"now": "starting"}
    app = create_app(
        registry,
        database_url,
        authenticator=BADGES.authenticator(),
        followers=lambda: state["now"],
    )
    with TestClient(app) as client:
        starting = client.get("/health/ready")
        state["now"] = "running"
        running = client.get("/health/ready")
    assert starting.status_code == 503
    assert starting.json()["status"] == "not_ready"
    assert starting.json()["checks"]["followers"] == "starting"
    assert running.status_code == 200


def test_the_access_line_is_json_with_request_and_command_ids(
    http: TestClient, unique: str
) -> None:
    with json_lines() as buffer:
        created = http.post(
            "/api/v1/models",
            json={"name": f"logged-{unique}", "command_id": f"cmd-{unique}"},
            headers=as_("alice", **{"X-Request-Id": f"req-{unique}"}),
        )
    assert created.headers["X-Request-Id"] == f"req-{unique}"
    access = [line for line in parsed(buffer) if line.get("request_id") == f"req-{unique}"]
    assert len(access) == 1
    line = access[0]
    assert line["command_id"] == f"cmd-{unique}"
    assert (line["method"], line["route"], line["status"]) == ("POST", "/api/v1/models", 201)
    assert line["logger"] == "registrum.access" and "timestamp" in line


async def relayed(database_url: str, name: str, position: int) -> FakeSink:
    """Runs a relay (on an in-memory sink) until it stored a position at or past position."""
    sink = FakeSink(partitions=1)
    relay = Relay(sink, database_url, name=name, batch_size=200)
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    conn = await asyncpg.connect(database_url)
    try:
        async with asyncio.timeout(60):
            while not relay.active.is_set():  # the relay made its table, took its lock
                await asyncio.sleep(0.05)
            while (await positions.load(conn, name)).position < position:
                await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        # A relay left behind the log would make /health degraded for later tests.
        await conn.execute("DELETE FROM relay_positions WHERE name = $1", name)
        await conn.close()
    return sink


def test_a_promotions_cloudevent_carries_the_trace_of_the_request(
    http: TestClient, database_url: str, registry: Registry, unique: str
) -> None:
    name = f"traced-{unique}"
    assert http.post("/api/v1/models", json={"name": name}, headers=as_("alice")).status_code == 201
    http.post(
        f"/api/v1/models/{name}/versions",
        json={"artifact_uri": "s3://m/x", "sha256": SHA, "size": 1},
        headers=as_("alice"),
    )
    requested = http.post(
        f"/api/v1/models/{name}/versions/1/approvals",
        json={"stage": "production"},
        headers=as_("alice"),
    ).json()["version"]["approval_requests"][0]["id"]
    http.post(
        f"/api/v1/models/{name}/versions/1/approvals/{requested}/approve",
        json={"reason": "ok"},
        headers=as_("bob"),
    )
    exporter = InMemorySpanExporter()
    tracing.configure(None, "registrum-test", exporter=exporter)
    try:
        # A deployer's pipeline promotes inside its own trace; no command id is sent.
        promoted = http.post(
            f"/api/v1/models/{name}/versions/1/promote",
            json={"stage": "production"},
            headers=as_("carol", traceparent=f"00-{TRACE}-{CALLER_SPAN}-01"),
        )
    finally:
        tracing.configure(None, "registrum-test")
    assert promoted.status_code == 200, promoted.text
    position = promoted.json()["position"]
    (span,) = [s for s in exporter.get_finished_spans() if "promote" in s.name]
    assert span.name == "POST /api/v1/models/{name}/versions/{number}/promote"
    assert f"{span.context.trace_id:032x}" == TRACE
    request_span = f"{span.context.span_id:016x}"
    # The command got an id (none was sent) so its record could keep the trace.
    assert span.attributes is not None
    assert str(span.attributes["registrum.command_id"]).startswith("trace-")

    sink = asyncio.run(relayed(database_url, f"traced-{unique}", position))
    (record,) = [r for r in sink.cluster.records(PROMOTIONS) if r.position == position]
    assert record.headers["ce_traceparent"] == f"00-{TRACE}-{request_span}-01"
    # The model's earlier events (sent outside any trace) go out without one.
    earlier = [r for r in sink.cluster.records(EVENTS) if r.key == name.encode()]
    assert len(earlier) >= 3 and {r.position for r in earlier} >= {position}
    assert all("ce_traceparent" not in r.headers for r in earlier if r.position < position)
