"""Starting a broker's clients when Kafka may not be up yet."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from services.bus.broker import Bus

log = logging.getLogger(__name__)


async def connect(bus: Bus, bootstrap: str, stop: asyncio.Event) -> bool:
    """Starts the bus, retrying with a growing pause until it connects (True) or stop is
    set (False): a broker that is not up yet is waited for, not an error."""
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
