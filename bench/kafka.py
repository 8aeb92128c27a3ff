"""Kafka budgets: how long a promotion takes from commit to a deployer's consumer, and how
fast a fresh relay publishes a log it has not seen.

    python bench/kafka.py [--promotions 200] [--events 20000] [--json]
                          [--database-url URL] [--bootstrap HOST:PORT]

Without --database-url (or REGISTRUM_BENCH_DATABASE_URL) an embedded PostgreSQL, without
--bootstrap (or REGISTRUM_BENCH_KAFKA_BOOTSTRAP) a Tansu broker on a free port. One process:
the registry through a thread; the relay and an aiokafka consumer (no group,
fetch_max_wait_ms=10) as asyncio tasks.

Catch-up: about --events events are appended (as bench/read.py does), then a fresh relay
starts and is timed until its stored position reaches the head of the log. Latency: the same
relay keeps running; each of --promotions versions is registered, approved by another actor
and promoted to production, one at a time, and timed from promote() returning (the commit)
to the consumer receiving its VersionPromoted message on registry.promotions.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import asyncpg
import orjson
from aiokafka import AIOKafkaConsumer

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import database, free_port, machine, percentile, summary
from bench.read import bulk_events
from schemas import commands as c
from schemas.rules import ROLES
from services.auth.identity import Principal
from services.bootstrap import build_registry
from services.bus.broker import build_bus
from services.bus.probe import TopicProbe
from services.bus.topics import EVENTS, PROMOTIONS
from services.embedded import EmbeddedKafka
from services.registry.application import SYSTEM, Registry
from services.relay import positions
from services.relay.relay import Relay
from services.relay.sink import KafkaSink
from services.settings import Settings

# Three people holding every role on the registry (credential() grants them), so separation
# of duties is between them.
ALICE, BOB, CAROL = (
    Principal(subject=n, display_name=n, groups=frozenset({"bench"}))
    for n in ("alice", "bob", "carol")
)
WARM_UP = 5  # promotions before measuring: topic creation, metadata, first fetches
SETUP = "one process: registry via asyncio.to_thread; relay and consumer as asyncio tasks"


class Republishes(logging.Handler):
    """Counts the relay's "republishing the log from the start" warnings."""

    count = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.count += "republishing" in record.getMessage()


@contextmanager
def broker(bootstrap: str | None) -> Iterator[str]:
    if bootstrap:
        yield bootstrap
        return
    kafka = EmbeddedKafka(port=free_port())
    try:
        yield kafka.start()
    finally:
        kafka.stop()


async def until_relayed(database_url: str, relay: Relay, head: int) -> None:
    """Returns once the relay's stored position (broker-acknowledged) reaches head."""
    await relay.active.wait()  # by then its positions table exists
    conn = await asyncpg.connect(database_url)
    try:
        while (await positions.load(conn, relay.name)).position < head:
            await asyncio.sleep(0.005)
    finally:
        await conn.close()


def promote_one(registry: Registry, name: str, number: int) -> float:
    """Registers version number, has it approved and promoted; returns the commit time."""
    on = {"model": name, "version": number}
    registry.handle(
        c.RegisterVersion(model=name, artifact_uri=f"s3://bench/{name}/{number}"), ALICE
    )
    requested = registry.handle(c.RequestApproval(**on, stage="production"), ALICE)
    request_id = requested.result["approval_requests"][0]["id"]
    registry.handle(c.Approve(**on, request_id=request_id), BOB)
    registry.handle(c.Promote(**on, stage="production"), CAROL)
    return time.perf_counter()


async def promotion_latency(registry: Registry, bootstrap: str, count: int) -> list[float]:
    name = f"bench-kafka-{uuid.uuid4().hex[:8]}"
    received: dict[int, float] = {}  # version number -> when the consumer had it
    arrived = asyncio.Event()
    consumer = AIOKafkaConsumer(
        PROMOTIONS,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",  # the model name is unique: nothing older matches
        enable_auto_commit=False,
        fetch_max_wait_ms=10,  # Tansu holds an empty fetch this long
        metadata_max_age_ms=500,  # see registry.promotions soon after the relay creates it
    )
    await consumer.start()

    async def consume() -> None:
        async for record in consumer:
            now = time.perf_counter()
            kind = dict(record.headers).get("ce_type")
            if record.key == name.encode() and kind == b"io.registrum.VersionPromoted":
                received[orjson.loads(record.value)["version"]] = now
                arrived.set()

    reader = asyncio.create_task(consume())
    try:
        await asyncio.to_thread(registry.handle, c.RegisterModel(name=name), ALICE)
        samples = []
        for number in range(1, WARM_UP + count + 1):
            committed = await asyncio.to_thread(promote_one, registry, name, number)
            while number not in received:
                arrived.clear()
                await asyncio.wait_for(arrived.wait(), 60)
            if number > WARM_UP:
                samples.append(received[number] - committed)
        return samples
    finally:
        reader.cancel()
        await consumer.stop()


async def run(database_url: str, bootstrap: str, events: int, promotions: int) -> dict[str, Any]:
    registry = build_registry(Settings(), database_url)
    for role in ROLES:
        grant = c.GrantRole(principal="group:bench", role=role, command_id=f"bench-group:{role}")
        registry.handle(grant, SYSTEM)
    print(f"appending {events} events ...", flush=True)
    await asyncio.to_thread(bulk_events, database_url, events)
    head = registry.head_position()
    bus = build_bus(bootstrap)
    await bus.broker.start()
    sink = KafkaSink(bus, TopicProbe(bootstrap, EVENTS))
    relay = Relay(sink, database_url, store_id="bench", name=f"bench-{uuid.uuid4().hex[:8]}")
    republishes = Republishes()
    logging.getLogger("services.relay.relay").addHandler(republishes)
    stop = asyncio.Event()
    started = time.perf_counter()
    task = asyncio.create_task(relay.run(stop))
    try:
        await until_relayed(database_url, relay, head)
        seconds = time.perf_counter() - started
        catch_up = {
            "events": head,
            "messages": relay.published,
            "seconds": round(seconds, 3),
            "messages_per_s": round(relay.published / seconds, 1),
            "events_per_s": round(head / seconds, 1),
            "republished_from_start": republishes.count,
        }
        print(f"catch-up done in {seconds:.1f} s; {promotions} promotions ...", flush=True)
        samples = await promotion_latency(registry, bootstrap, promotions)
    finally:
        stop.set()
        await task
        await sink.close()
        await bus.broker.stop()
        registry.close()
    return {"catch_up": catch_up, "latency_s": samples}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--promotions", type=int, default=200)
    parser.add_argument("--events", type=int, default=20_000)
    parser.add_argument("--json", action="store_true", help="also print the results as JSON")
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    parser.add_argument("--bootstrap", default=os.environ.get("REGISTRUM_BENCH_KAFKA_BOOTSTRAP"))
    args = parser.parse_args()
    print(machine())
    with (
        tempfile.TemporaryDirectory(prefix="registrum-bench-") as tmp,
        database(Path(tmp), args.database_url) as url,
        broker(args.bootstrap) as bootstrap,
    ):
        kind = "external broker" if args.bootstrap else "embedded Tansu broker"
        print(f"setup: {SETUP}; {kind} at {bootstrap}", flush=True)
        results = asyncio.run(run(url, bootstrap, args.events, args.promotions))
    catch_up, samples = results["catch_up"], results["latency_s"]
    p99 = percentile(samples, 0.99)
    verdict = "within" if p99 <= 0.250 else "OVER"
    print(f"{summary('promotion commit -> consumer', samples)}   ({verdict} p99 250 ms)")
    print(
        f"{'relay catch-up (fresh relay)':<34} {catch_up['messages']:,} messages "
        f"({catch_up['events']:,} events) in {catch_up['seconds']:.1f} s   "
        f"{catch_up['messages_per_s']:8,.0f} messages/s   "
        f"{catch_up['events_per_s']:8,.0f} events/s   "
        f"republished from the start {catch_up['republished_from_start']}x"
    )
    if args.json:
        latency = {
            "p50_ms": round(percentile(samples, 0.5) * 1000, 2),
            "p99_ms": round(p99 * 1000, 2),
            "n": len(samples),
        }
        report = {"machine": machine(), "setup": SETUP, "latency": latency, "catch_up": catch_up}
        print(json.dumps(report, indent=2))


if __name__ == "__main__":
    main()
