"""A running Kafka side for tests: relay and intake over a real registry, either on
FastStream's TestKafkaBroker (in memory) or on a real Kafka-protocol broker, with
collectors on every output topic. The same scenarios run against both."""

from __future__ import annotations

import asyncio
import threading
import time
import uuid
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from typing import Any, TypeVar

import orjson
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from services.auth.authenticate import Authenticator
from services.auth.token_store import PostgresTokenStore
from services.bus.topics import COMMANDS, DEAD_LETTERS, EVENTS, PROMOTIONS, RESULTS
from services.intake.consumer import Intake
from services.registry.application import Registry
from services.relay.relay import Relay
from services.relay.sink import KafkaSink
from tests.people import token_for

T = TypeVar("T")


@dataclass(frozen=True)
class Received:
    topic: str
    key: bytes | None
    value: bytes
    headers: dict[str, str]

    def json(self) -> Any:
        return orjson.loads(self.value)


@dataclass
class BusHarness:
    registry: Registry
    database_url: str
    bootstrap: str | None  # None: TestKafkaBroker
    received: list[Received] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stop = asyncio.Event()

    @property
    def mode(self) -> str:
        return "memory" if self.bootstrap is None else "kafka"

    def run(self, coro: Coroutine[Any, Any, T], timeout: float = 60) -> T:
        return asyncio.run_coroutine_threadsafe(coro, self.loop).result(timeout)

    def start(self) -> None:
        self._thread.start()
        self.run(self._start())

    async def _start(self) -> None:
        # The real token store, in the registry's database: what the intake checks.
        self.tokens = PostgresTokenStore(self.database_url, max_size=2)
        authenticator = Authenticator(self.tokens)
        await authenticator.start()
        self.credential = await token_for(self.tokens, "pipeline", kind="service")
        self.intake = Intake(self.registry, authenticator)
        self.bus = self.intake.attach(self.bootstrap or "memory:9092", fetch_max_wait_ms=20)
        for topic in (PROMOTIONS, EVENTS, RESULTS, DEAD_LETTERS):
            self._collect(topic)
        if self.bootstrap is None:
            self._testing = TestKafkaBroker(self.bus.broker)
            await self._testing.__aenter__()
        else:
            await self.bus.broker.start()
        self.relay = Relay(
            KafkaSink(self.bus),
            self.database_url,
            store_id=f"test-{self.mode}",
            name=f"test-{self.mode}",
            poll_seconds=0.2,
        )
        self._relay_task = asyncio.create_task(self.relay.run(self._stop))

    def _collect(self, topic: str) -> None:
        async def collect(message: KafkaMessage) -> None:
            record = message.raw_message
            headers = {k: v.decode() for k, v in getattr(record, "headers", ())}
            self.received.append(
                Received(topic, getattr(record, "key", None), message.body, headers)
            )

        # No group: collectors read each topic from its start without a group join.
        self.bus.broker.subscriber(topic, auto_offset_reset="earliest", fetch_max_wait_ms=20)(
            collect
        )

    def stop(self) -> None:
        async def stop() -> None:
            self._stop.set()
            await asyncio.wait_for(self._relay_task, 30)
            if self.bootstrap is None:
                await self._testing.__aexit__(None, None, None)
            else:
                await self.bus.broker.stop()
            await self.tokens.close()

        self.run(stop())
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(10)
        self.loop.close()

    def send(
        self,
        value: bytes | dict[str, Any],
        key: bytes | None = None,
        content_type: str | None = None,
        credential: str | None = "pipeline's",
    ) -> None:
        """Publishes a command message, with the pipeline's credential unless another (or
        None: no credential) is given."""
        raw = value if isinstance(value, bytes) else orjson.dumps(value)
        headers = {"content-type": content_type} if content_type else {}
        if credential is not None:
            secret = self.credential if credential == "pipeline's" else credential
            headers["authorization"] = f"Bearer {secret}"
        publish = self.bus.broker.publish(
            raw, COMMANDS, key=key or uuid.uuid4().bytes, headers=headers
        )
        self.run(publish)

    def wait_for(
        self, predicate: Callable[[Received], bool], count: int = 1, timeout: float = 30
    ) -> list[Received]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [r for r in list(self.received) if predicate(r)]
            if len(found) >= count:
                return found
            time.sleep(0.02)
        found = [r for r in list(self.received) if predicate(r)]
        raise AssertionError(f"{len(found)} of {count} messages within {timeout}s: {found[:3]}")

    def result(self, command_id: str, timeout: float = 30) -> dict[str, Any]:
        found = self.wait_for(
            lambda r: r.topic == RESULTS and r.key == command_id.encode(), timeout=timeout
        )
        return found[0].json()  # type: ignore[no-any-return]
