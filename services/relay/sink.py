"""The relay's Kafka adapter: publishes through the FastStream broker's publishers."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence

from services.bus.broker import Bus
from services.bus.probe import TopicProbe
from services.relay.translate import Outgoing


class KafkaSink:
    def __init__(self, bus: Bus, probe: TopicProbe | None = None) -> None:
        self.bus = bus
        self.probe = probe

    async def publish(self, batch: Sequence[Outgoing]) -> None:
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
        await asyncio.gather(*pending)

    async def events_end(self) -> int | None:
        return await self.probe.end() if self.probe else None

    async def close(self) -> None:
        if self.probe:
            await self.probe.close()
