"""What the followers' operations endpoint measures, against real services: the intake's
dead letters by reason and its consumer lag (Kafka-protocol broker), and the relay's and
views' lag behind the log (PostgreSQL)."""

from __future__ import annotations

import asyncio
import time
import uuid
from pathlib import Path

import asyncpg
import httpx
import orjson
import pytest
from prometheus_client import REGISTRY

from schemas import commands as c
from services.bootstrap import Runtime
from services.bus.probe import TopicProbe
from services.bus.topics import COMMANDS, DEAD_LETTERS, RESULTS
from services.cli.ops import IntakeLag, relays_lag, with_ops
from services.intake.consumer import Intake
from services.registry.application import Registry
from services.relay import positions
from services.relay.positions import Mark
from services.settings import Settings
from tests.kafka_checks import answers_for
from tests.people import Badges, person
from tests.services import free_port

BADGES = Badges()
CI = {"authorization": BADGES.headers("ci", kind="service")["Authorization"]}


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def lag_total() -> float:
    return sum(
        s.value
        for family in REGISTRY.collect()
        if family.name == "registrum_intake_consumer_lag_messages"
        for s in family.samples
    )


def test_intake_counts_dead_letters_by_reason_and_its_lag_drains(
    kafka: str, registry: Registry
) -> None:
    model = f"lagged-{uuid.uuid4().hex[:6]}"
    command = {"type": "RegisterModel", "command_id": f"{model}-1", "name": model}
    malformed_before = sample("registrum_intake_dead_letters_total", reason="malformed")
    accepted_before = sample("registrum_intake_answers_total", status="accepted")

    async def scenario() -> tuple[float, float]:
        intake = Intake(registry, BADGES.authenticator(), retry_seconds=0.1)
        bus = intake.attach(kafka, fetch_max_wait_ms=20)
        probe = TopicProbe(kafka, COMMANDS)
        measure = IntakeLag(probe)
        try:
            await bus.broker.connect()
            await bus.broker.publish(b"{not json", COMMANDS, key=b"bad", headers=CI)
            await bus.broker.publish(orjson.dumps(command), COMMANDS, key=b"ok", headers=CI)
            await measure()
            waiting = lag_total()  # nobody consumed them yet
            await bus.broker.start()
            await answers_for(kafka, RESULTS, command["command_id"].encode())
            await answers_for(kafka, DEAD_LETTERS, b"bad")
            deadline = time.monotonic() + 30
            while True:  # offsets are committed after each answer
                await measure()
                if lag_total() == 0 or time.monotonic() > deadline:
                    return waiting, lag_total()
                await asyncio.sleep(0.2)
        finally:
            await bus.broker.stop()
            await probe.close()

    waiting, drained = asyncio.run(scenario())
    # (Tansu counts a partition's end from its last write batch: at least one is seen.)
    assert waiting >= 1 and drained == 0
    assert sample("registrum_intake_dead_letters_total", reason="malformed") == malformed_before + 1
    assert sample("registrum_intake_answers_total", status="accepted") == accepted_before + 1


def test_relay_lag_is_the_log_beyond_its_stored_position(
    registry: Registry, database_url: str
) -> None:
    name = f"lagging-{uuid.uuid4().hex[:6]}"
    registry.handle(c.RegisterModel(name=name), person("alice"))

    async def scenario() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            head = await conn.fetchval("SELECT max(notification_id) FROM registry_events")
            await positions.store(conn, name, Mark(head - 3, 0))
            await conn.execute(
                "UPDATE relay_positions SET updated_at = now() - interval '90 seconds'"
                " WHERE name = $1",
                name,
            )
            await relays_lag(database_url, database_url)
        finally:
            # A relay left behind the log would make /health degraded for later tests.
            await conn.execute("DELETE FROM relay_positions WHERE name = $1", name)
            await conn.close()
        return int(head)

    asyncio.run(scenario())
    assert sample("registrum_relay_lag_events", relay=name) == 3
    assert sample("registrum_relay_lag_seconds", relay=name) >= 90


def test_the_operations_endpoint_serves_health_and_lag_beside_the_work(
    database_url: str, registry: Registry, tmp_path: Path
) -> None:
    registry.handle(c.RegisterModel(name=f"ops-{uuid.uuid4().hex[:6]}"), person("alice"))
    port = free_port()
    settings = Settings(database_url=database_url, kafka=False, data_dir=tmp_path)
    bound: list[int] = []

    async def scenario() -> tuple[httpx.Response, ...]:
        with Runtime(settings) as runtime:
            stop = asyncio.Event()
            runner = with_ops(runtime, runtime.projector(), ["projector"], port, bound.append)
            task = asyncio.create_task(runner(stop))
            try:
                async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{port}") as http:
                    while not bound:
                        await asyncio.sleep(0.02)
                    return (
                        await http.get("/health/live"),
                        await http.get("/health/ready"),
                        await http.get("/metrics"),
                    )
            finally:
                stop.set()
                await task

    live, ready, scraped = asyncio.run(scenario())
    assert bound == [port]
    assert live.json() == {"status": "ok"}
    assert ready.status_code == 200 and ready.json() == {"status": "ready", "roles": ["projector"]}
    assert 'registrum_projector_lag_events{view="catalogue"}' in scraped.text


def test_an_operations_port_in_use_leaves_the_work_running(
    database_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    settings = Settings(database_url=database_url, kafka=False, data_dir=tmp_path)

    async def scenario() -> bool:
        taken = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = taken.sockets[0].getsockname()[1]
        worked = asyncio.Event()

        async def work(stop: asyncio.Event) -> None:
            worked.set()
            await stop.wait()

        with Runtime(settings) as runtime:
            stop = asyncio.Event()
            task = asyncio.create_task(with_ops(runtime, work, [], port, lambda _: None)(stop))
            try:
                await asyncio.wait_for(worked.wait(), 10)
                await asyncio.sleep(0.2)
                return not task.done()
            finally:
                stop.set()
                await task
                taken.close()

    # The endpoint could not listen: logged, and the follower still runs until stopped.
    assert asyncio.run(scenario())
    assert any("cannot listen" in r.getMessage() for r in caplog.records if r.levelname == "ERROR")
