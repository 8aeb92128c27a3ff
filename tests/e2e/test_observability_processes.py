"""Observability of real processes: `registrum serve` (its API's /metrics and
/health/ready, its followers' process's own operations port, JSON log lines) and a
`registrum projector` beside it with an operations endpoint of its own."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import orjson
import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.conftest import REGISTRUM, Server, bearer, clean_env, start_server, token
from tests.services import free_port

OPS_PORT = free_port()


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("observed") / "data", kafka="false", ops_port=str(OPS_PORT)
    )
    yield running
    if running.process.poll() is None:
        running.stop()


def samples(url: str) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    answer = httpx.get(f"{url}/metrics", timeout=10)
    assert answer.status_code == 200
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(answer.text)
        for s in family.samples
    }


def wait_for(url: str, seconds: float = 60) -> httpx.Response:
    deadline = time.monotonic() + seconds
    while True:
        try:
            answer = httpx.get(url, timeout=2)
            if answer.status_code == 200 or time.monotonic() > deadline:
                return answer
        except httpx.HTTPError:
            if time.monotonic() > deadline:
                raise
        time.sleep(0.2)


def test_serve_reports_on_its_api_port_and_its_followers_port(served: Server) -> None:
    headers = bearer(token(served.url, "ops-alice"))
    created = httpx.post(f"{served.url}/api/v1/models", json={"name": "observed"}, headers=headers)
    assert created.status_code == 201
    assert wait_for(f"{served.url}/health/ready").json()["checks"] == {
        "views": "ok",
        "events": "ok",
        "followers": "running",
    }
    api = samples(served.url)
    accepted = (("code", ""), ("command", "RegisterModel"), ("outcome", "accepted"))
    assert api[("registrum_commands_total", accepted)] >= 1
    # The followers' process answers on its own port, with the views' lag.
    ops = f"http://127.0.0.1:{OPS_PORT}"
    assert wait_for(f"{ops}/health/live").json() == {"status": "ok"}
    ready = wait_for(f"{ops}/health/ready")
    assert ready.status_code == 200 and ready.json()["roles"] == ["projector", "webhooks"]
    measured = samples(ops)
    lag = {labels: v for (name, labels), v in measured.items() if "projector_lag" in name}
    assert (("view", "catalogue"),) in lag
    # And the webhook deliveries waiting: none here.
    assert measured[("registrum_webhook_deliveries", (("status", "pending"),))] == 0


def test_serve_logs_json_lines_when_not_on_a_terminal(served: Server) -> None:
    httpx.get(f"{served.url}/health/live", headers={"X-Request-Id": "e2e-live-1"})
    log = next(Path(served.data_dir).parent.glob("serve-*.log"))
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        lines = [orjson.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
        access = [x for x in lines if x.get("request_id") == "e2e-live-1"]
        if access:
            break
        time.sleep(0.2)
    assert access and access[0]["route"] == "/health/live" and access[0]["status"] == 200
    # The followers' process (a child with a logging set-up of its own) writes JSON too.
    assert any(
        x.get("logger") == "services.cli.ops" and f"port {OPS_PORT}" in x["event"] for x in lines
    )


def test_a_projector_process_serves_its_operations_endpoint(served: Server) -> None:
    port = free_port()
    env = clean_env()
    env.update(REGISTRUM_DATA_DIR=str(served.data_dir), REGISTRUM_OPS_PORT=str(port))
    process = subprocess.Popen(
        [REGISTRUM, "projector"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    try:
        ready = wait_for(f"http://127.0.0.1:{port}/health/ready")
        assert ready.status_code == 200 and ready.json()["roles"] == ["projector"]
        names = {name for name, _ in samples(f"http://127.0.0.1:{port}")}
        assert {"registrum_projector_lag_events", "registrum_projector_lag_seconds"} <= names
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    assert process.returncode == 0, err.decode()
    first = err.decode().splitlines()[0]
    assert orjson.loads(first)["level"] in ("info", "warning")


def test_an_api_process_is_ready_serves_metrics_and_logs_json(served: Server) -> None:
    port = free_port()
    env = clean_env()
    env.update(
        REGISTRUM_DATA_DIR=str(served.data_dir), REGISTRUM_PORT=str(port), REGISTRUM_KAFKA="false"
    )
    process = subprocess.Popen(
        [REGISTRUM, "api"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE
    )
    url = f"http://127.0.0.1:{port}"
    try:
        ready = wait_for(f"{url}/health/ready")
        assert ready.json() == {"status": "ready", "checks": {"views": "ok", "events": "ok"}}
        answer = httpx.get(f"{url}/health/live", headers={"X-Request-Id": "api-role-1"})
        assert answer.headers["X-Request-Id"] == "api-role-1"
        live = (
            "registrum_http_request_duration_seconds_count",
            (("method", "GET"), ("route", "/health/live"), ("status", "200")),
        )
        assert samples(url)[live] >= 1
    finally:
        process.terminate()
        _, err = process.communicate(timeout=30)
    lines = [orjson.loads(x) for x in err.decode().splitlines() if x.startswith("{")]
    assert any(x.get("request_id") == "api-role-1" and x["route"] == "/health/live" for x in lines)
