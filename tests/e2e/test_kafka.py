"""Kafka end to end, against `registrum serve` and its embedded broker: a pipeline
registers a version by message, reads the outcome, the API shows it, people approve and
promote over HTTP, and a deployer's consumer process receives that promotion."""

from __future__ import annotations

import asyncio
import json
import queue
import socket
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from tests.e2e.conftest import REGISTRUM, Server, bearer, clean_env, start_server, token
from tests.services import free_port

CONSUMER = str(Path(__file__).with_name("consumer.py"))
EXAMPLES = Path(__file__).parents[2] / "deploy" / "examples"


def lines_of(process: subprocess.Popen[str]) -> queue.Queue[str]:
    """The process's stdout lines as they come, readable with a timeout."""
    lines: queue.Queue[str] = queue.Queue()

    def pump() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.put(line)

    threading.Thread(target=pump, daemon=True).start()
    return lines


@pytest.fixture(scope="module")
def kafka_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    port = free_port()
    running = start_server(tmp_path_factory.mktemp("kafka") / "data", embedded_kafka_port=str(port))
    yield running, f"127.0.0.1:{port}"
    if running.process.poll() is None:
        running.stop()


async def send_and_answer(
    bootstrap: str, commands: list[dict[str, object]], credential: str
) -> list[dict]:
    """A producer's view: send commands with its credential, then read their outcomes by
    command id."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    results = AIOKafkaConsumer(
        "registry.command-results",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await producer.start()
    await results.start()
    try:
        answers: dict[bytes, dict] = {}
        for command in commands:
            # One at a time: the version needs its model first.
            key = str(command["command_id"]).encode()
            await producer.send_and_wait(
                "registry.commands",
                json.dumps(command).encode(),
                key=key,
                headers=[("authorization", f"Bearer {credential}".encode())],
            )
            while key not in answers:
                batches = await asyncio.wait_for(results.getmany(timeout_ms=200), 30)
                for record in (r for records in batches.values() for r in records):
                    answers[record.key] = json.loads(record.value)
        return [answers[str(c["command_id"]).encode()] for c in commands]
    finally:
        await producer.stop()
        await results.stop()


def test_command_by_message_promotion_to_a_deployer(kafka_server: tuple[Server, str]) -> None:
    server, bootstrap = kafka_server
    model = f"e2e-{uuid.uuid4().hex[:8]}"
    deployer = subprocess.Popen(
        [sys.executable, CONSUMER, "--bootstrap", bootstrap, "--model", model, "--count", "1"],
        stdout=subprocess.PIPE,
        text=True,
    )
    example = [sys.executable, str(EXAMPLES / "deployer.py"), "--bootstrap", bootstrap]
    example_deployer = subprocess.Popen(
        [*example, "--model", model, "--group", f"example-{model}"],
        stdout=subprocess.PIPE,
        text=True,
    )
    monitor = subprocess.Popen(
        [sys.executable, str(EXAMPLES / "monitor.py"), "--bootstrap", bootstrap],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert deployer.stdout is not None
        assert json.loads(deployer.stdout.readline()) == {"ready": True}

        # The pipeline registers model and version by message and reads the outcomes.
        commands = [
            {"type": "RegisterModel", "command_id": f"{model}-1", "name": model},
            {
                "type": "RegisterVersion",
                "command_id": f"{model}-2",
                "model": model,
                "artifact_uri": f"s3://models/{model}/1",
                "sha256": "ef" * 32,
                "size": 2048,
            },
        ]
        pipeline = token(server.url, "ci", kind="service")
        created, registered = asyncio.run(send_and_answer(bootstrap, commands, pipeline))
        assert created["status"] == registered["status"] == "accepted"
        assert registered["result"]["version"]["number"] == 1

        # The API shows the version; people review and promote over HTTP.
        url = f"{server.url}/api/v1/models/{model}/versions/1"
        shown = httpx.get(
            url,
            headers={"X-Registrum-Min-Position": "head", **bearer(token(server.url, "alice"))},
        ).json()
        assert shown["version"]["artifact_uri"] == f"s3://models/{model}/1"
        asked = httpx.post(
            f"{url}/approvals",
            json={"stage": "production"},
            headers=bearer(token(server.url, "alice")),
        ).json()
        request_id = asked["version"]["approval_requests"][0]["id"]
        approved = httpx.post(
            f"{url}/approvals/{request_id}/approve",
            json={"reason": "ship it"},
            headers=bearer(token(server.url, "bob")),
        )
        assert approved.status_code == 200, approved.text
        promoted = httpx.post(
            f"{url}/promote",
            json={"stage": "production"},
            headers=bearer(token(server.url, "carol")),
        )
        assert promoted.status_code == 200, promoted.text
        position = promoted.json()["position"]

        # The deployer's process receives exactly that promotion.
        out, _ = deployer.communicate(timeout=60)
        assert deployer.returncode == 0
        (line,) = [json.loads(raw) for raw in out.splitlines()]
        headers, data = line["headers"], line["data"]
        assert line["key"] == model
        assert headers["ce_specversion"] == "1.0"
        assert headers["ce_type"] == "io.registrum.VersionPromoted"
        assert headers["ce_id"] == f"registry:{position}"
        assert headers["ce_source"] == "urn:registrum:registry"
        assert headers["ce_subject"] == model
        assert headers["content-type"] == "application/json"
        assert (data["model"], data["version"], data["to_stage"]) == (model, 1, "production")
        assert (data["sha256"], data["size"]) == ("ef" * 32, 2048)
        assert data["artifact_uri"] == f"s3://models/{model}/1"
        assert [(a["actor"], a["comment"]) for a in data["approvals"]] == [("bob", "ship it")]
        assert data["actor"] == "carol" and data["position"] == position

        # Operators see the relay caught up in /health (it stores its position just
        # after the broker's ack, so allow it a moment).
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            relay = httpx.get(f"{server.url}/health").json()["relays"]["kafka"]
            if relay["position"] >= position:
                break
            time.sleep(0.05)
        assert relay["position"] >= position and relay["events"] == 0

        # A deployer at a terminal sees the same promotion with `registrum watch`.
        env = clean_env()
        env["REGISTRUM_KAFKA_BOOTSTRAP"] = bootstrap
        watch = [REGISTRUM, "watch", "--model", model, "--from-beginning", "--limit", "1"]
        shown_json = subprocess.run(
            [*watch, "--json"], env=env, capture_output=True, text=True, timeout=60
        )
        assert shown_json.returncode == 0, shown_json.stderr
        assert json.loads(shown_json.stdout)["id"] == f"registry:{position}"
        line = subprocess.run(watch, env=env, capture_output=True, text=True, timeout=60)
        assert "VersionPromoted" in line.stdout and "development -> production" in line.stdout
        assert "approved by bob" in line.stdout

        # The example deployer in deploy/examples acts on it too.
        said = lines_of(example_deployer).get(timeout=60)
        assert said.startswith(f"deploy {model} v1 from s3://models/{model}/1")
        assert "approved by bob" in said

        # So does the example monitor, one line per event.
        printed = lines_of(monitor)
        line = ""
        while f"VersionPromoted        {model} v1 by carol" not in line:
            line = printed.get(timeout=60)  # queue.Empty fails the test
    finally:
        for process in (deployer, example_deployer, monitor):
            if process.poll() is None:
                process.kill()
            process.communicate()  # reaps it and closes its pipe


def test_serve_refuses_a_broker_port_already_taken(tmp_path: Path) -> None:
    # Another registry's broker there would be taken for ours: refuse, and say what to do.
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        env = clean_env()
        env.update(
            REGISTRUM_PORT=str(free_port()),
            REGISTRUM_DATA_DIR=str(tmp_path / "data"),
            REGISTRUM_EMBEDDED_KAFKA_PORT=str(taken.getsockname()[1]),
        )
        serve = subprocess.run(
            [REGISTRUM, "serve"], env=env, capture_output=True, text=True, timeout=120
        )
    assert serve.returncode == 1
    assert "already in use" in serve.stderr and "REGISTRUM_EMBEDDED_KAFKA_PORT" in serve.stderr
