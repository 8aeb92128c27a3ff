"""Runs the intake against Kafka, alone (`registrum intake`) or beside the relay."""

from __future__ import annotations

import asyncio

from services.auth.authenticate import Authenticator
from services.bus.connect import connect
from services.bus.security import PLAINTEXT, KafkaSecurity
from services.intake.consumer import Intake
from services.registry.application import Registry


async def run_intake(
    bootstrap: str,
    registry: Registry,
    authenticator: Authenticator,
    stop: asyncio.Event,
    *,
    security: KafkaSecurity = PLAINTEXT,
) -> None:
    """Until stop is set. A broker that is not up yet is waited for, not an error."""
    await authenticator.start()
    try:
        bus = Intake(registry, authenticator).attach(bootstrap, security=security)
        if not await connect(bus, bootstrap, stop, security):
            return
        try:
            await stop.wait()
        finally:
            await bus.broker.stop()
    finally:
        await authenticator.aclose()
