"""`registrum relay` and `registrum intake`: the Kafka side alone (`registrum watch` is a
user command, in registrum/cli/watch.py)."""

from __future__ import annotations

import asyncio
import signal
from collections.abc import Callable, Coroutine
from typing import Any

from services.cli.operations import dsns
from services.settings import Settings


def _bootstrap() -> tuple[str, Settings]:
    """The configured Kafka, else where `registrum serve` puts its embedded broker."""
    settings = Settings()
    return settings.kafka_bootstrap or f"127.0.0.1:{settings.embedded_kafka_port}", settings


def until_signal(main: Callable[[asyncio.Event], Coroutine[Any, Any, None]]) -> None:
    """Runs main(stop) until SIGINT/SIGTERM sets stop."""

    async def run() -> None:
        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for sig in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(sig, stop.set)
        await main(stop)

    asyncio.run(run())


def relay() -> None:
    """Run the relay alone: publish the event log to Kafka (REGISTRUM_KAFKA_BOOTSTRAP)."""
    from services.cli.runtime import BusConfig, run_bus

    bootstrap, settings = _bootstrap()
    events, read = dsns()
    until_signal(lambda stop: run_bus(BusConfig(bootstrap, settings.store_id, read, events), stop))


def intake() -> None:
    """Run the intake alone: execute commands from registry.commands."""
    from services.bootstrap import build_registry
    from services.cli.runtime import BusConfig, run_bus

    bootstrap, settings = _bootstrap()
    events, _ = dsns()
    registry = build_registry(settings, events)
    try:
        config = BusConfig(bootstrap, settings.store_id, registry=registry)
        until_signal(lambda stop: run_bus(config, stop))
    finally:
        registry.close()
