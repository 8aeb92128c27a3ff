"""Runs the Kafka side: the relay (log → topics) and the intake (commands → registry),
together in `registrum serve` or each alone (`registrum relay`, `registrum intake`)."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from services.bus.connect import connect
from services.intake.consumer import Intake
from services.registry.application import Registry
from services.relay.runtime import run_relay


@dataclass(frozen=True)
class BusConfig:
    bootstrap: str
    store_id: str = "registry"
    read_dsn: str | None = None  # the relay runs when set (with events_dsn)
    events_dsn: str | None = None
    registry: Registry | None = None  # the intake runs when set


async def run_bus(config: BusConfig, stop: asyncio.Event) -> None:
    """Until stop is set. A broker that is not up yet is waited for, not an error."""
    tasks = []
    if config.registry is not None:
        tasks.append(_run_intake(config, Intake(config.registry), stop))
    if config.read_dsn:
        tasks.append(
            run_relay(config.bootstrap, config.read_dsn, config.events_dsn, config.store_id, stop)
        )
    await asyncio.gather(*tasks)


async def _run_intake(config: BusConfig, intake: Intake, stop: asyncio.Event) -> None:
    bus = intake.attach(config.bootstrap)
    if not await connect(bus, config.bootstrap, stop):
        return
    try:
        await stop.wait()
    finally:
        await bus.broker.stop()
