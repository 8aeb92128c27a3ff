"""What the relay and intake tests share: promotions to watch for, the records a consumer
reads back (deduplicated by ce_id, as a deployer would), the answers to a command, and a
connected bus to publish with."""

from __future__ import annotations

import contextlib
import time
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer

from schemas import commands as c
from services.bus.broker import Bus, build_bus
from services.bus.topics import PROMOTIONS
from services.registry.application import Registry
from tests.people import person


def promote_new_version(registry: Registry, model: str) -> int:
    """Registers a version, has it approved and promoted; returns the promotion's position."""
    register = c.RegisterVersion(model=model, artifact_uri="s3://models/x")
    number = registry.handle(register, person("ci")).result["number"]
    ask = c.RequestApproval(model=model, version=number, stage="staging")
    request_id = registry.handle(ask, person("alice")).result["approval_requests"][-1]["id"]
    registry.handle(c.Approve(model=model, version=number, request_id=request_id), person("bob"))
    promote = c.Promote(model=model, version=number, stage="staging")
    promoted = registry.handle(promote, person("carol"))
    assert promoted.position is not None
    return promoted.position


async def read_records(
    bootstrap: str, topic: str, keys: set[str], at_least: int
) -> list[tuple[str, dict[str, str], dict[str, Any]]]:
    """(key, headers, data) of the topic's records with these keys, in the order read,
    duplicates included; reads until at_least of them arrived and the topic is idle."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    seen: list[tuple[str, dict[str, str], dict[str, Any]]] = []
    try:
        deadline = time.monotonic() + 120
        idle_since = time.monotonic()
        while time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            records = [r for rs in batches.values() for r in rs]
            idle_since = idle_since if not records else time.monotonic()
            for r in records:
                if r.key.decode() in keys:
                    headers = {k: v.decode() for k, v in r.headers}
                    seen.append((r.key.decode(), headers, orjson.loads(r.value)))
            if len(seen) >= at_least and time.monotonic() - idle_since > 1.0:
                break
    finally:
        await consumer.stop()
    return seen


async def read_promotions(bootstrap: str, models: set[str], at_least: int) -> list[tuple[str, str]]:
    """(model, ce_id) of the VersionPromoted records for these models, as read."""
    records = await read_records(bootstrap, PROMOTIONS, models, at_least)
    return [
        (key, headers["ce_id"])
        for key, headers, _ in records
        if headers["ce_type"] == "io.registrum.VersionPromoted"
    ]


def dedupe_per_model(seen: list[tuple[str, str]]) -> dict[str, list[int]]:
    """What a consumer deduplicating by ce_id acts on: positions per model, in order."""
    firsts: dict[str, list[int]] = defaultdict(list)
    ids: set[str] = set()
    for model, ce_id in seen:
        if ce_id not in ids:
            ids.add(ce_id)
            firsts[model].append(int(ce_id.rpartition(":")[2]))
    return dict(firsts)


async def answers_for(kafka: str, topic: str, key: bytes, timeout: float = 60) -> list[Any]:
    """The records with this key on the topic, once at least one arrived (or the timeout)."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=kafka, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    try:
        found: list[Any] = []
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            found += [r for rs in batches.values() for r in rs if r.key == key]
        return found
    finally:
        await consumer.stop()


@contextlib.asynccontextmanager
async def connected_bus(bootstrap: str) -> AsyncIterator[Bus]:
    """The registry's bus, started against this broker for the block."""
    bus = build_bus(bootstrap)
    await bus.broker.start()
    try:
        yield bus
    finally:
        await bus.broker.stop()
