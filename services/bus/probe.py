"""How many messages a topic holds, summed over its partitions (its end offsets).

Zero for a topic the relay had published to means the topic was deleted or the cluster
replaced (an embedded broker restarted). Only zero is trusted: Tansu reports a partition's
end as the start of its last write batch plus one, below the true count.
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition
from aiokafka.cluster import ClusterMetadata
from aiokafka.errors import KafkaError


class TopicProbe:
    def __init__(self, bootstrap: str, topic: str, request_timeout_ms: int = 10_000) -> None:
        self.bootstrap = bootstrap
        self.topic = topic
        self.request_timeout_ms = request_timeout_ms
        self._consumer: AIOKafkaConsumer | None = None

    async def end(self) -> int:
        if self._consumer is None:
            self._consumer = AIOKafkaConsumer(
                bootstrap_servers=self.bootstrap,
                enable_auto_commit=False,
                request_timeout_ms=self.request_timeout_ms,
                client_id="registrum-probe",
            )
            await self._consumer.start()
        try:
            return await self._end(self._consumer)
        except Exception:
            await self.close()  # a new client next time: the broker may be a new one
            raise

    async def _end(self, consumer: AIOKafkaConsumer) -> int:
        # A fresh metadata read of this topic alone (the relay asks before every batch; a
        # shared cluster may hold thousands of topics). It fails when no broker answers,
        # rather than reporting an empty cluster.
        metadata = ClusterMetadata()
        if not await consumer._client._metadata_update(metadata, [self.topic]):
            raise KafkaError(f"no broker answered a metadata request for {self.topic}")
        partitions = metadata.partitions_for_topic(self.topic) or set()
        if not partitions:
            return 0
        ends = await consumer.end_offsets([TopicPartition(self.topic, p) for p in partitions])
        return sum(ends.values())

    async def close(self) -> None:
        if self._consumer is not None:
            consumer, self._consumer = self._consumer, None
            await consumer.stop()
