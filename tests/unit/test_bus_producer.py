"""A Kafka producer that cannot start is closed, not left to warn where it is collected."""

from __future__ import annotations

import asyncio
import gc
import socket
import warnings

import pytest
from aiokafka.errors import KafkaConnectionError

from services.bus.broker import build_bus
from services.bus.producer import ClosingProducer


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_a_failed_start_leaves_no_unclosed_producer() -> None:
    bus = build_bus(f"127.0.0.1:{closed_port()}", request_timeout_ms=1_000)
    assert isinstance(bus.broker.config.broker_config.producer, ClosingProducer)

    async def start() -> None:
        with pytest.raises(KafkaConnectionError):
            await bus.broker.start()
        await bus.broker.stop()

    asyncio.run(start())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        gc.collect()
    assert not [w for w in caught if "Unclosed AIOKafkaProducer" in str(w.message)]
