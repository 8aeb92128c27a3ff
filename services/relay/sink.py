"""The relay's Kafka adapter (the Sink port): publishes through the FastStream broker's
publishers and asks a TopicProbe how many messages registry.events holds."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable, Sequence
from typing import cast

from aiokafka.structs import RecordMetadata

from services.bus.broker import Bus
from services.bus.probe import TopicProbe
from services.bus.topics import EVENTS
from services.relay.port import Acks
from services.relay.translate import Outgoing

log = logging.getLogger(__name__)


class KafkaSink:
    """The Sink port on Kafka. With `rebuild`, a failed publish replaces the producer: a
    broker that restarted empty (Tansu) can keep refusing a producer whose metadata
    predates it. Without a probe it cannot tell how many messages registry.events holds."""

    def __init__(
        self,
        bus: Bus,
        probe: TopicProbe | None = None,
        rebuild: Callable[[], Bus] | None = None,
    ) -> None:
        self.bus = bus
        self.probe = probe
        self.rebuild = rebuild

    async def publish(self, batch: Sequence[Outgoing]) -> Acks:
        try:
            return await self._publish(batch)
        except Exception:
            if self.rebuild is not None:
                await self._replace_producer(self.rebuild)
            raise

    async def _publish(self, batch: Sequence[Outgoing]) -> Acks:
        pending = []
        for out in batch:
            message = out.message
            key = message.key.encode() if isinstance(message.key, str) else message.key
            result = await self.bus.publisher(out.topic).publish(
                message.value,
                key=key,
                headers={k: v.decode() for k, v in message.headers.items()},
                no_confirm=True,  # send them all, then wait for every ack
            )
            if isinstance(result, asyncio.Future):  # TestKafkaBroker delivers at once
                pending.append(result)
        # Every ack or failure is collected, so that none is left unretrieved.
        outcomes = await asyncio.gather(*pending, return_exceptions=True)
        failures = [o for o in outcomes if isinstance(o, BaseException)]
        if failures:
            raise failures[0]
        acks: Acks = {}
        for metadata in cast(list[RecordMetadata], outcomes):
            if metadata.topic == EVENTS:
                low, high = acks.get(metadata.partition, (metadata.offset, metadata.offset))
                acks[metadata.partition] = (min(low, metadata.offset), max(high, metadata.offset))
        return acks

    async def _replace_producer(self, rebuild: Callable[[], Bus]) -> None:
        with contextlib.suppress(Exception):
            await self.bus.broker.stop()
        self.bus = rebuild()
        try:
            await self.bus.broker.start()
        except Exception:  # still away: the relay retries, and the next failure rebuilds
            # The producer that failed to start was closed (services/bus/producer.py);
            # the admin client and the broker's state go too.
            with contextlib.suppress(Exception):
                await self.bus.broker.stop()
            log.warning("Kafka still unreachable; the relay will retry")

    async def reset(self) -> None:
        # A producer that knew the old cluster would write to topics the new one never
        # created; Tansu then refuses every later write to them (UnknownError).
        if self.rebuild is not None:
            await self._replace_producer(self.rebuild)

    async def events_end(self) -> int | None:
        return await self.probe.end() if self.probe else None

    async def close(self) -> None:
        if self.probe:
            await self.probe.close()
        await self.bus.broker.stop()
