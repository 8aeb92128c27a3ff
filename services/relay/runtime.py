"""Runs the relay against Kafka, alone (`registrum relay`) or beside the intake."""

from __future__ import annotations

import asyncio

from services.bus.broker import Bus, build_bus
from services.bus.connect import connect
from services.bus.probe import TopicProbe
from services.bus.security import PLAINTEXT, KafkaSecurity
from services.bus.topics import EVENTS
from services.eventlog import lease
from services.relay.relay import Relay
from services.relay.sink import KafkaSink


async def run_relay(
    bootstrap: str,
    read_dsn: str,
    events_dsn: str | None,
    store_id: str,
    stop: asyncio.Event,
    *,
    security: KafkaSecurity = PLAINTEXT,
    lease_seconds: float = lease.DEFAULT_SECONDS,
) -> None:
    """Until stop is set. The relay has a producer of its own, so that replacing it never
    disturbs another client of the same broker (the intake)."""

    def rebuild() -> Bus:
        return build_bus(bootstrap, security=security)

    bus = rebuild()
    if not await connect(bus, bootstrap, stop, security):
        return
    sink = KafkaSink(bus, TopicProbe(bootstrap, EVENTS, security=security), rebuild)
    try:
        relay = Relay(sink, read_dsn, events_dsn, store_id=store_id, lease_seconds=lease_seconds)
        await relay.run(stop)
    finally:
        await sink.close()
