"""The relay and the intake under faults, against a real Kafka-protocol broker: the relay
killed between publishing a batch and storing its position, the broker gone for 10 s under
load (a Tansu broker restarts empty: the relay must notice and republish the log); the
intake failing for a reason not the command's. (`registrum relay` SIGKILLed mid-backlog and
`registrum intake` as processes: tests/e2e/test_kafka_processes.py.)"""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any, cast

import asyncpg
import orjson
import pytest
from aiokafka import AIOKafkaProducer

from schemas import commands as c
from services.auth.identity import Principal
from services.bus.broker import Bus
from services.bus.probe import TopicProbe
from services.bus.topics import COMMANDS, DEAD_LETTERS, PROMOTIONS, RESULTS
from services.embedded import EmbeddedKafka
from services.intake.consumer import Intake
from services.registry.application import Registry
from services.relay import positions
from services.relay.relay import Relay
from services.relay.runtime import run_relay
from services.relay.sink import KafkaSink
from services.relay.translate import Outgoing
from tests.kafka_checks import (
    answers_for,
    connected_bus,
    dedupe_per_model,
    promote_new_version,
    read_promotions,
    read_records,
)
from tests.people import Badges, person
from tests.services import free_port


class Killed(BaseException):
    """Stands for SIGKILL: not an Exception, so the relay's retry loop does not catch it."""


class FaultySink(KafkaSink):
    """The real Kafka sink, with faults injected at its edge: fail a publish before it
    reaches the broker, die right after the broker acknowledged a given position, or
    answer one batch with the offsets a freshly replaced broker would give."""

    def __init__(
        self,
        bus: Bus,
        *,
        fail_call: int | None = None,
        kill_after: int | None = None,
        rewind_call: int | None = None,
    ) -> None:
        super().__init__(bus)
        self.fail_call, self.kill_after, self.rewind_call = fail_call, kill_after, rewind_call
        self.batches: list[list[int]] = []  # positions of each batch the broker acked
        self.resets = 0

    async def publish(self, batch: Sequence[Outgoing]) -> dict[int, tuple[int, int]]:
        if len(self.batches) + 1 == self.fail_call:
            self.fail_call = None
            raise ConnectionError("broker away")
        acks = await super().publish(batch)
        positions_sent = sorted(
            {int(o.message.headers["ce_id"].rpartition(b":")[2]) for o in batch}
        )
        self.batches.append(positions_sent)
        if self.kill_after is not None and self.kill_after in positions_sent:
            raise Killed
        if len(self.batches) == self.rewind_call:
            return {p: (0, high - low) for p, (low, high) in acks.items()}
        return acks

    async def reset(self) -> None:
        self.resets += 1


async def relay_until(relay: Relay, database_url: str, position: int) -> None:
    """Runs the relay until it stored a position at or past the given one."""
    stop = asyncio.Event()
    task = asyncio.create_task(relay.run(stop))
    conn = await asyncpg.connect(database_url)
    try:
        while (await positions.load(conn, relay.name)).position < position:
            await asyncio.sleep(0.05)
    finally:
        stop.set()
        await task
        await conn.close()


def test_killed_between_publish_and_store_redelivers_and_dedupes(
    kafka: str, registry: Registry, database_url: str
) -> None:
    models = {f"crash-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)}
    expected: dict[str, list[int]] = {}
    for model in sorted(models):
        registry.handle(c.RegisterModel(name=model), person("alice"))
        expected[model] = [promote_new_version(registry, model) for _ in range(3)]
    last = max(p for ps in expected.values() for p in ps)
    name, store_id = f"crash-{uuid.uuid4().hex[:6]}", f"crash-{uuid.uuid4().hex[:6]}"

    async def scenario() -> None:
        async with connected_bus(kafka) as bus:
            # The first relay dies once the broker acknowledged the batch holding our last
            # promotion, before it stores that position.
            sink = FaultySink(bus, kill_after=last)
            first = Relay(sink, database_url, store_id=store_id, name=name, batch_size=50)
            with pytest.raises(Killed):
                await first.run(asyncio.Event())
            # After a restart the relay publishes that batch again, then catches up.
            again = Relay(KafkaSink(bus), database_url, store_id=store_id, name=name, batch_size=50)
            await relay_until(again, database_url, last)

    asyncio.run(scenario())
    ours = {f"{store_id}:{p}" for ps in expected.values() for p in ps}
    seen = [
        (m, i) for m, i in asyncio.run(read_promotions(kafka, models, len(ours) + 1)) if i in ours
    ]
    # At least once: every promotion arrived, some twice (the batch published before the
    # kill); deduplicated by ce_id, each exactly once and in each model's order.
    assert {i for _, i in seen} == ours
    assert len(seen) > len(ours)
    assert dedupe_per_model(seen) == expected


def test_broker_down_ten_seconds_under_load_loses_nothing(
    registry: Registry, database_url: str
) -> None:
    # This test stops and restarts the broker itself, so it runs its own Tansu.
    broker = EmbeddedKafka(port=free_port())
    bootstrap = broker.start()
    models = {f"outage-{i}-{uuid.uuid4().hex[:6]}" for i in range(3)}
    for model in models:
        registry.handle(c.RegisterModel(name=model), person("alice"))
    expected: dict[str, list[int]] = defaultdict(list)
    writing = threading.Event()
    writing.set()

    def writer() -> None:
        while writing.is_set():
            for model in sorted(models):
                expected[model].append(promote_new_version(registry, model))
            time.sleep(0.05)

    loop = asyncio.new_event_loop()
    stop = asyncio.Event()
    store_id = f"outage-{uuid.uuid4().hex[:6]}"
    relaying = run_relay(bootstrap, database_url, database_url, store_id, stop)
    relay_thread = threading.Thread(target=loop.run_until_complete, args=(relaying,))
    writer_thread = threading.Thread(target=writer)
    try:
        relay_thread.start()
        writer_thread.start()
        time.sleep(3)
        broker.stop()  # gone, with everything it held
        time.sleep(10)
        broker.start()
        time.sleep(3)
        writing.clear()
        writer_thread.join(60)
        ours = {f"{store_id}:{p}" for ps in expected.values() for p in ps}
        seen = asyncio.run(read_promotions(bootstrap, models, len(ours)))
        # Every promotion made before, during and after the outage is on the new broker.
        # (Order holds too, unless the producer retried a batch into the new broker before
        # the relay learnt of it: that batch then precedes the republished history.)
        assert {i for _, i in seen} >= ours
        assert sum(len(ps) for ps in expected.values()) > 30  # it was under load
    finally:
        writing.clear()
        loop.call_soon_threadsafe(stop.set)
        relay_thread.join(60)
        loop.close()
        broker.stop()


def test_probe_counts_messages_on_a_topic(kafka: str) -> None:
    # The emptied-cluster check rests on this number; a missing topic holds none.
    topic = f"probe-{uuid.uuid4().hex[:6]}"

    async def count() -> tuple[int, int]:
        probe = TopicProbe(kafka, topic)
        producer = AIOKafkaProducer(bootstrap_servers=kafka)
        await producer.start()
        try:
            before = await probe.end()
            for i in range(7):
                await producer.send_and_wait(topic, b"x", key=str(i).encode())
            return before, await probe.end()
        finally:
            await producer.stop()
            await probe.close()

    assert asyncio.run(count()) == (0, 7)


def test_offsets_going_back_make_the_relay_start_over(
    kafka: str, database_url: str, registry: Registry
) -> None:
    # One model's events only, so every batch lands on the same partition.
    model = f"rewind-{uuid.uuid4().hex[:6]}"
    start = registry.handle(c.RegisterModel(name=model), person("alice")).position
    assert start is not None
    for _ in range(2):
        promote_new_version(registry, model)

    async def run() -> FaultySink:
        async with connected_bus(kafka) as bus:
            sink = FaultySink(bus, rewind_call=3)
            relay = Relay(sink, database_url, name=f"rewind-{model}", batch_size=2)
            conn = await asyncpg.connect(database_url)
            try:
                await relay.prepare(conn)
                await positions.store(conn, relay.name, positions.Mark(start - 1, 0))
                for _ in range(4):
                    await relay.step(conn, conn)
            finally:
                await conn.close()
            return sink

    sink = asyncio.run(run())
    first = sink.batches[0][0]
    # The third batch came back with a new broker's offsets: the relay starts over, and
    # its fourth batch begins with the log's first published event again.
    assert first == start
    assert sink.resets == 1
    assert sink.batches[2][0] > sink.batches[1][0] > first
    assert sink.batches[3][0] <= first


BADGES = Badges()
CI = {"authorization": BADGES.headers("ci", kind="service")["Authorization"]}


class FlakyRegistry:
    """The real registry, whose handle first finds the database away, or fails on
    models named broken-* every time (a defect)."""

    def __init__(self, registry: Registry) -> None:
        self.registry = registry
        self.attempts = 0

    def handle(self, command: Any, caller: Principal, **options: Any) -> Any:
        self.attempts += 1
        if command.model_name.startswith("broken-"):
            raise ValueError("a defect")
        if self.attempts == 1:
            raise ConnectionError("database unreachable")
        return self.registry.handle(command, caller)


def test_intake_consumes_again_after_a_failure_that_is_not_the_commands(
    kafka: str, registry: Registry
) -> None:
    flaky = FlakyRegistry(registry)
    intake = Intake(cast(Registry, flaky), BADGES.authenticator(), retry_seconds=0.1)
    model = f"flaky-{uuid.uuid4().hex[:6]}"
    command = {"type": "RegisterModel", "command_id": f"{model}-1", "name": model}

    async def scenario() -> list[dict[str, Any]]:
        bus = intake.attach(kafka, fetch_max_wait_ms=20)
        await bus.broker.start()
        try:
            await bus.broker.publish(
                orjson.dumps(command), COMMANDS, key=model.encode(), headers=CI
            )
            found = await answers_for(kafka, RESULTS, command["command_id"].encode())
            return [orjson.loads(r.value) for r in found]
        finally:
            await bus.broker.stop()

    answers = asyncio.run(scenario())
    # Not committed after the failure: consumed again, run once, answered once.
    assert flaky.attempts == 2
    assert [a["status"] for a in answers] == ["accepted"]
    assert registry.get_model(model)["name"] == model


def test_messages_carry_the_name_the_model_had_then_even_after_a_retry(
    kafka: str, database_url: str, registry: Registry
) -> None:
    old, new = f"before-{uuid.uuid4().hex[:6]}", f"after-{uuid.uuid4().hex[:6]}"
    registry.handle(c.RegisterModel(name=old), person("alice"))
    promoted = promote_new_version(registry, old)
    registry.handle(c.RenameModel(model=old, new_name=new), person("alice"))
    renamed_at = promote_new_version(registry, new)

    async def run() -> None:
        async with connected_bus(kafka) as bus:
            # Its first publish fails (broker away); it starts mid-log, as a second
            # instance taking over would.
            relay = Relay(
                FaultySink(bus, fail_call=1),
                database_url,
                store_id=f"names-{uuid.uuid4().hex[:6]}",
                name=f"names-{uuid.uuid4().hex[:6]}",
                batch_size=1000,
            )
            conn = await asyncpg.connect(database_url)
            try:
                await relay.prepare(conn)
                await positions.store(conn, relay.name, positions.Mark(promoted - 1, 0))
                with pytest.raises(ConnectionError):
                    await relay.step(conn, conn)
                while await relay.step(conn, conn):
                    pass
            finally:
                await conn.close()

    asyncio.run(run())
    records = asyncio.run(read_records(kafka, PROMOTIONS, {old, new}, 2))
    promotions = {
        data["position"]: (key, data["model"])
        for key, headers, data in records
        if headers["ce_type"] == "io.registrum.VersionPromoted"
    }
    assert promotions == {promoted: (old, old), renamed_at: (new, new)}


def test_a_command_failing_the_same_way_every_time_is_set_aside(
    kafka: str, registry: Registry
) -> None:
    flaky = FlakyRegistry(registry)
    intake = Intake(
        cast(Registry, flaky), BADGES.authenticator(), retry_seconds=0.05, max_attempts=3
    )
    broken, fine = f"broken-{uuid.uuid4().hex[:6]}", f"fine-{uuid.uuid4().hex[:6]}"

    async def scenario() -> tuple[list[Any], list[Any]]:
        bus = intake.attach(kafka, fetch_max_wait_ms=20)
        await bus.broker.start()
        try:
            for name in (broken, fine):
                command = {"type": "RegisterModel", "command_id": name, "name": name}
                await bus.broker.publish(
                    orjson.dumps(command), COMMANDS, key=name.encode(), headers=CI
                )
            letters = await answers_for(kafka, DEAD_LETTERS, broken.encode())
            results = await answers_for(kafka, RESULTS, fine.encode())
            return letters, results
        finally:
            await bus.broker.stop()

    letters, results = asyncio.run(scenario())
    (letter,) = letters
    headers = {k: v.decode() for k, v in letter.headers}
    # Three tries, then a dead letter saying why; the command behind it is answered.
    assert headers["x-registrum-reason"] == "failed"
    assert "ValueError: a defect" in headers["x-registrum-detail"]
    assert [orjson.loads(r.value)["status"] for r in results] == ["accepted"]


def test_one_relay_is_active_and_another_takes_over_when_it_stops(
    kafka: str, database_url: str
) -> None:
    async def scenario() -> tuple[bool, bool, bool]:
        async with connected_bus(kafka) as bus:
            return await race(KafkaSink(bus))

    async def race(sink: KafkaSink) -> tuple[bool, bool, bool]:
        first = Relay(sink, database_url, name="lock-test", poll_seconds=0.05)
        second = Relay(sink, database_url, name="lock-test", poll_seconds=0.05)
        stop_first, stop_second = asyncio.Event(), asyncio.Event()
        one = asyncio.create_task(first.run(stop_first))
        await asyncio.wait_for(first.active.wait(), 30)
        two = asyncio.create_task(second.run(stop_second))
        await asyncio.sleep(1.0)
        both_at_once = second.active.is_set()
        stop_first.set()
        await one
        # The lock is released with the first relay's connection: the second takes over.
        await asyncio.wait_for(second.active.wait(), 30)
        took_over = second.active.is_set()
        stop_second.set()
        await two
        return first.active.is_set(), both_at_once, took_over

    first_still_active, both_at_once, took_over = asyncio.run(scenario())
    assert not both_at_once
    assert took_over and not first_still_active
