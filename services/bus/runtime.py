"""Runs the Kafka side: the relay (log → topics) and the intake (commands → registry),
together in `registrum serve` or each alone (`registrum relay`, `registrum intake`)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass

from services.bus.broker import Bus, build_bus
from services.bus.probe import TopicProbe
from services.bus.topics import EVENTS
from services.intake.consumer import Intake
from services.registry.application import Registry
from services.relay.relay import Relay
from services.relay.sink import KafkaSink

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class BusConfig:
    bootstrap: str
    store_id: str = "registry"
    read_dsn: str | None = None  # the relay runs when set (with events_dsn)
    events_dsn: str | None = None
    registry: Registry | None = None  # the intake runs when set


async def run_bus(config: BusConfig, stop: asyncio.Event) -> None:
    """Until stop is set. A broker that is not up yet is waited for, not an error. The
    relay has a producer of its own, so that replacing it never disturbs the intake."""
    tasks = []
    if config.registry is not None:
        tasks.append(_run_intake(config, Intake(config.registry), stop))
    if config.read_dsn:
        tasks.append(_run_relay(config, config.read_dsn, stop))
    await asyncio.gather(*tasks)


async def _run_intake(config: BusConfig, intake: Intake, stop: asyncio.Event) -> None:
    bus = intake.attach(config.bootstrap)
    if not await _connect(bus, config.bootstrap, stop):
        return
    try:
        await stop.wait()
    finally:
        await bus.broker.stop()


async def _run_relay(config: BusConfig, read_dsn: str, stop: asyncio.Event) -> None:
    def rebuild() -> Bus:
        return build_bus(config.bootstrap)

    bus = rebuild()
    if not await _connect(bus, config.bootstrap, stop):
        return
    sink = KafkaSink(bus, TopicProbe(config.bootstrap, EVENTS), rebuild)
    try:
        relay = Relay(sink, read_dsn, config.events_dsn, store_id=config.store_id)
        await relay.run(stop)
    finally:
        await sink.close()


async def _connect(bus: Bus, bootstrap: str, stop: asyncio.Event) -> bool:
    pause = 0.5
    while not stop.is_set():
        try:
            await bus.broker.start()
            log.info("connected to Kafka at %s", bootstrap)
            return True
        except Exception as error:  # the broker may start after us; keep trying
            log.warning("Kafka at %s unreachable (%s); retrying in %.1fs", bootstrap, error, pause)
            with contextlib.suppress(Exception):
                await bus.broker.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        pause = min(pause * 2, 10.0)
    return False
