"""`registrum relay` and `registrum intake` as their own processes, as a deployment runs
them next to the API, against a real Kafka-protocol broker: the relay SIGKILLed mid-backlog
resumes and every promotion arrives, deduplicated in each model's order; the intake
answers a command and stops cleanly on SIGTERM."""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
import uuid
from typing import Any

import asyncpg
import orjson

from schemas import commands as c
from services.auth.token_store import PostgresTokenStore
from services.bus.topics import COMMANDS, RESULTS
from services.registry.application import Registry
from services.relay import positions
from tests.e2e.conftest import REGISTRUM, clean_env
from tests.kafka_checks import (
    answers_for,
    connected_bus,
    dedupe_per_model,
    promote_new_version,
    read_promotions,
)
from tests.people import person, token_for


def test_relay_process_sigkilled_mid_stream_resumes(
    kafka: str, registry: Registry, database_url: str
) -> None:
    # `registrum relay` as its own process, SIGKILLed while it works through a backlog.
    models = {f"sigkill-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)}
    expected: dict[str, list[int]] = {}
    for model in sorted(models):
        registry.handle(c.RegisterModel(name=model), person("alice"))
        expected[model] = [promote_new_version(registry, model) for _ in range(20)]
    head = max(p for ps in expected.values() for p in ps)
    store_id = f"sigkill-{uuid.uuid4().hex[:6]}"
    env = clean_env()
    env.update(
        REGISTRUM_DATABASE_URL=database_url,
        REGISTRUM_KAFKA_BOOTSTRAP=kafka,
        REGISTRUM_STORE_ID=store_id,
    )

    async def stored() -> int:
        conn = await asyncpg.connect(database_url)
        try:
            return (await positions.load(conn, "kafka")).position
        finally:
            await conn.close()

    start = asyncio.run(stored())
    relay = subprocess.Popen([REGISTRUM, "relay"], env=env, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 60
    # (The relay may also start over from 0 first: another test's relay of the same name
    # stored offsets of another broker.)
    while asyncio.run(stored()) in (start, 0) and time.monotonic() < deadline:
        time.sleep(0.005)
    relay.send_signal(signal.SIGKILL)  # somewhere in the backlog, mid-batch or not
    relay.wait()
    assert asyncio.run(stored()) not in (start, 0)

    relay = subprocess.Popen([REGISTRUM, "relay"], env=env, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 60
        while asyncio.run(stored()) < head and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        relay.terminate()
        relay.wait(30)
    ours = {f"{store_id}:{p}" for ps in expected.values() for p in ps}
    seen = [(m, i) for m, i in asyncio.run(read_promotions(kafka, models, len(ours))) if i in ours]
    assert {i for _, i in seen} == ours
    assert dedupe_per_model(seen) == expected


def test_intake_process_answers_and_stops_cleanly(
    kafka: str, database_url: str, registry: Registry
) -> None:
    # (registry: its fixture gives the testers group, ci's, its roles in this database.)
    # `registrum intake` alone, as a deployment runs it next to the API.
    env = clean_env()
    env.update(REGISTRUM_DATABASE_URL=database_url, REGISTRUM_KAFKA_BOOTSTRAP=kafka)
    intake = subprocess.Popen([REGISTRUM, "intake"], env=env, stderr=subprocess.DEVNULL)
    model = f"alone-{uuid.uuid4().hex[:6]}"
    command = {"type": "RegisterModel", "command_id": model, "name": model}
    credential = asyncio.run(_pipeline_token(database_url))

    async def scenario() -> list[Any]:
        async with connected_bus(kafka) as bus:
            await bus.broker.publish(
                orjson.dumps(command),
                COMMANDS,
                key=model.encode(),
                headers={"authorization": f"Bearer {credential}"},
            )
        return await answers_for(kafka, RESULTS, model.encode())

    try:
        (answer,) = asyncio.run(scenario())
        assert orjson.loads(answer.value)["status"] == "accepted"
    finally:
        intake.send_signal(signal.SIGTERM)
        assert intake.wait(30) == 0


async def _pipeline_token(database_url: str) -> str:
    """A service account's token in the registry's own token store."""
    store = PostgresTokenStore(database_url, max_size=1)
    await store.setup()
    try:
        return await token_for(store, "ci", kind="service")
    finally:
        await store.close()
