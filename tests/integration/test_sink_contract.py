"""The relay's Sink port's contract, run against the fake sink (what unit tests use) and
the Kafka sink on a real Kafka-protocol broker. This test replaces the broker's cluster
(a Tansu restart loses everything), so it runs its own Tansu."""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from datetime import UTC, datetime
from typing import Any, TypeVar

import pytest
from aiokafka.errors import KafkaError, MessageSizeTooLargeError

from schemas.messages import DomainEvent
from services.bus.broker import MAX_REQUEST_BYTES, Bus, build_bus
from services.bus.probe import TopicProbe
from services.bus.topics import EVENTS, PROMOTIONS
from services.embedded import EmbeddedKafka
from services.relay.envelope import envelope
from services.relay.port import Sink
from services.relay.sink import KafkaSink
from services.relay.translate import Outgoing
from tests.fakes.sink import FakeSink
from tests.services import free_port

T = TypeVar("T")
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def message(
    topic: str, model: str, position: int, details: dict[str, Any] | None = None
) -> Outgoing:
    data = DomainEvent(
        type="ModelTagged",
        model=model,
        actor="a",
        time=NOW,
        position=position,
        details=details or {},
    )
    return Outgoing(
        topic, envelope("contract", "ModelTagged", position, model, NOW.isoformat(), data)
    )


class FakeBackend:
    def __init__(self) -> None:
        self.fake = FakeSink()

    @contextlib.asynccontextmanager
    async def sink(self) -> AsyncIterator[Sink]:
        yield self.fake

    async def replace_cluster(self) -> None:
        self.fake.replace_cluster()


class KafkaBackend:
    def __init__(self) -> None:
        self.broker = EmbeddedKafka(port=free_port())
        self.bootstrap = self.broker.start()

    @contextlib.asynccontextmanager
    async def sink(self) -> AsyncIterator[Sink]:
        # Wired as the relay's runtime wires it: a probe, and a producer it can replace.
        def rebuild() -> Bus:
            return build_bus(self.bootstrap)

        bus = rebuild()
        await bus.broker.start()
        sink = KafkaSink(bus, TopicProbe(self.bootstrap, EVENTS), rebuild)
        try:
            yield sink
        finally:
            await sink.close()

    async def replace_cluster(self) -> None:
        await asyncio.to_thread(self.broker.stop)
        await asyncio.to_thread(self.broker.start)


@pytest.fixture(params=["fake", "kafka"])
def backend(request: pytest.FixtureRequest) -> Iterator[Any]:
    if request.param == "fake":
        yield FakeBackend()
        return
    kafka = KafkaBackend()
    try:
        yield kafka
    finally:
        kafka.broker.stop()


async def answered(ask: Callable[[], Awaitable[T]], timeout: float = 30) -> T:
    """The answer, once the sink reaches the cluster (right after a broker restart, the
    first question may fail on a connection to the old one)."""
    deadline = time.monotonic() + timeout
    while True:
        try:
            return await ask()
        except (KafkaError, OSError):
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.1)


def test_the_sink_contract(backend: Any) -> None:
    async def scenario() -> None:
        async with backend.sink() as sink:
            # A new cluster: registry.events holds nothing.
            assert await answered(sink.events_end) == 0

            # Acks cover registry.events only: per partition, from offset 0 on a new topic.
            acks = await sink.publish(
                [
                    message(EVENTS, "m", 1),
                    message(EVENTS, "m", 2),
                    message(PROMOTIONS, "m", 2),
                    message(EVENTS, "n", 3),
                ]
            )
            assert all(low == 0 for low, _ in acks.values())
            assert sum(high - low + 1 for low, high in acks.values()) == 3
            assert (await sink.events_end() or 0) > 0

            # Offsets grow on a partition within one cluster.
            ((partition, (low, high)),) = (await sink.publish([message(EVENTS, "m", 4)])).items()
            assert partition in acks and low == high > acks[partition][1]

            # A batch the broker refuses raises; the sink publishes again afterwards.
            huge = {"pad": "x" * (MAX_REQUEST_BYTES + 1)}
            with pytest.raises(MessageSizeTooLargeError):
                await sink.publish([message(EVENTS, "m", 5, huge)])
            ((_, (after, _)),) = (await sink.publish([message(EVENTS, "m", 6)])).items()
            assert after > high

            # The cluster is replaced: the topic is empty again, and once the sink is
            # reset, what it publishes lands in the new cluster from offset 0.
            await backend.replace_cluster()
            assert await answered(sink.events_end) == 0
            await sink.reset()
            fresh = await answered(lambda: sink.publish([message(EVENTS, "m", 7)]))
            assert list(fresh.values()) == [(0, 0)]

    asyncio.run(scenario())
