"""How many messages a topic holds, summed over its partitions (its end offsets).

End offsets only grow in a given cluster, retention or not; fewer than the relay last saw
means the topic was deleted or the cluster replaced (an embedded broker restarted).
"""

from __future__ import annotations

from aiokafka import AIOKafkaConsumer, TopicPartition


class TopicProbe:
    def __init__(self, bootstrap: str, topic: str, request_timeout_ms: int = 10_000) -> None:
        self.topic = topic
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=bootstrap,
            enable_auto_commit=False,
            request_timeout_ms=request_timeout_ms,
            client_id="registrum-probe",
        )
        self._started = False

    async def end(self) -> int:
        if not self._started:
            await self._consumer.start()
            self._started = True
        # A fresh metadata read, so a topic deleted or recreated since is seen now.
        await self._consumer._client.force_metadata_update()
        partitions = self._consumer.partitions_for_topic(self.topic) or set()
        if not partitions:
            return 0
        ends = await self._consumer.end_offsets([TopicPartition(self.topic, p) for p in partitions])
        return sum(ends.values())

    async def close(self) -> None:
        if self._started:
            await self._consumer.stop()
            self._started = False
