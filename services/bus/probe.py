"""How many messages a topic holds, summed over its partitions (its end offsets).

Zero for a topic the relay had published to means the topic was deleted or the cluster
replaced (an embedded broker restarted). Only zero is trusted: Tansu reports a partition's
end as the start of its last write batch plus one, below the true count.
"""

from __future__ import annotations

from typing import Any

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.errors import (
    KafkaError,
    LeaderNotAvailableError,
    NoError,
    UnknownTopicOrPartitionError,
    for_code,
)

from services.bus.security import PLAINTEXT, KafkaSecurity

# A topic the broker does not know, or one it is creating now, holds nothing yet.
_NO_TOPIC = (UnknownTopicOrPartitionError, LeaderNotAvailableError)


class TopicProbe:
    """Asks the cluster for one topic's partitions (admin client) and their end offsets
    (consumer), with public aiokafka APIs; both clients are made again after a failure."""

    def __init__(
        self,
        bootstrap: str,
        topic: str,
        request_timeout_ms: int = 10_000,
        security: KafkaSecurity = PLAINTEXT,
    ) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.request_timeout_ms = request_timeout_ms
        self.security = security
        self._clients: tuple[AIOKafkaAdminClient, AIOKafkaConsumer] | None = None

    async def end(self) -> int:
        """Messages the topic holds; 0 when the cluster does not know it. Raises when no
        broker answers, rather than reporting an empty cluster."""
        if self._clients is None:
            self._clients = await self._connect()
        admin, consumer = self._clients
        try:
            return await self._end(admin, consumer)
        except Exception:
            await self.close()  # new clients next time: the broker may be a new one
            raise

    async def lag(self, group: str) -> dict[int, int]:
        """Per partition of the topic, the messages group has not committed yet (all of
        them where it never committed). Raises when no broker answers."""
        if self._clients is None:
            self._clients = await self._connect()
        admin, consumer = self._clients
        try:
            described = [
                t for t in await admin.describe_topics([self.topic]) if t["topic"] == self.topic
            ]
            if not described or for_code(described[0]["error_code"]) is not NoError:
                return {}
            partitions = [
                TopicPartition(self.topic, p["partition"]) for p in described[0]["partitions"]
            ]
            ends = await consumer.end_offsets(partitions)
            committed = await admin.list_consumer_group_offsets(group, partitions=partitions)
        except Exception:
            await self.close()
            raise
        done = {tp.partition: meta.offset for tp, meta in committed.items() if meta.offset >= 0}
        return {tp.partition: max(end - done.get(tp.partition, 0), 0) for tp, end in ends.items()}

    async def _connect(self) -> tuple[AIOKafkaAdminClient, AIOKafkaConsumer]:
        options: dict[str, Any] = {
            "bootstrap_servers": self.bootstrap,
            "request_timeout_ms": self.request_timeout_ms,
            "client_id": "registrum-probe",
            **self.security.client_options(),
        }
        admin = AIOKafkaAdminClient(**options)
        consumer = AIOKafkaConsumer(enable_auto_commit=False, **options)
        try:
            await admin.start()
            await consumer.start()
        except BaseException:
            await _stop(admin, consumer)
            raise
        return admin, consumer

    async def _end(self, admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> int:
        # A fresh metadata read of this topic alone (the relay asks before every batch; a
        # shared cluster may hold thousands of topics).
        described = [
            t for t in await admin.describe_topics([self.topic]) if t["topic"] == self.topic
        ]
        if not described:
            raise KafkaError(f"the broker's metadata answer left out {self.topic}")
        error = for_code(described[0]["error_code"])
        if error in _NO_TOPIC:
            return 0
        if error is not NoError:
            raise error(f"metadata of {self.topic}")
        partitions = [
            TopicPartition(self.topic, p["partition"]) for p in described[0]["partitions"]
        ]
        if not partitions:
            return 0
        ends = await consumer.end_offsets(partitions)
        return sum(ends.values())

    async def close(self) -> None:
        if self._clients is not None:
            clients, self._clients = self._clients, None
            await _stop(*clients)


async def _stop(admin: AIOKafkaAdminClient, consumer: AIOKafkaConsumer) -> None:
    try:
        await consumer.stop()
    finally:
        await admin.close()
