"""FastStream's Kafka producer holder, closing what it could not start.

FastStream builds an AIOKafkaProducer and starts it inside `broker.start()`; when the
cluster is away, start() raises and FastStream forgets the producer without stopping it.
Nothing is left open (its bootstrap failed), but aiokafka warns about the unclosed object
wherever it happens to be collected, which is inside whatever runs next. The relay
rebuilds its producer across broker outages, so each outage left one behind.
"""

from __future__ import annotations

import contextlib
from typing import TYPE_CHECKING, Any

from faststream.kafka import KafkaBroker
from faststream.kafka.publisher.producer import AioKafkaFastProducerImpl

if TYPE_CHECKING:
    from aiokafka import AIOKafkaProducer


class ClosingProducer(AioKafkaFastProducerImpl):
    """Stops the AIOKafkaProducer whose start failed before raising."""

    async def connect(self, producer: AIOKafkaProducer, serializer: Any, codec: Any = None) -> None:
        try:
            await super().connect(producer, serializer, codec)
        except BaseException:
            with contextlib.suppress(Exception):
                await producer.stop()
            raise


def close_failed_starts(broker: KafkaBroker) -> None:
    """Puts a ClosingProducer in place of broker's producer holder, before it starts."""
    config = broker.config.broker_config
    held = config.producer
    assert isinstance(held, AioKafkaFastProducerImpl) and not held, "set before start"
    closing = ClosingProducer(parser=None, decoder=None)
    closing._parser, closing._decoder = held._parser, held._decoder
    config.producer = closing
