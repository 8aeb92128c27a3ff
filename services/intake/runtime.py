"""Runs the intake against Kafka, alone (`registrum intake`) or beside the relay."""

from __future__ import annotations

import asyncio

from services.bus.connect import connect
from services.bus.security import PLAINTEXT, KafkaSecurity
from services.intake.consumer import Intake
from services.registry.application import Registry


async def run_intake(
    bootstrap: str,
    registry: Registry,
    stop: asyncio.Event,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Until stop is set. A broker that is not up yet is waited for, not an error."""
    bus = Intake(registry).attach(bootstrap, security=security)
    if not await connect(bus, bootstrap, stop, security):
        return
    try:
        await stop.wait()
    finally:
        await bus.broker.stop()
