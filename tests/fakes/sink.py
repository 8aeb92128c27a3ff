"""The relay's Sink port in memory: a Kafka cluster the test can replace, empty, or make
refuse the next publish, and that shows what a consumer would read from it."""

from __future__ import annotations

import zlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import orjson
from aiokafka.errors import KafkaConnectionError, MessageSizeTooLargeError, UnknownError

from services.bus.broker import MAX_REQUEST_BYTES
from services.bus.topics import EVENTS
from services.relay.port import Acks
from services.relay.translate import Outgoing


@dataclass(frozen=True)
class Record:
    """A message as a consumer reads it."""

    topic: str
    partition: int
    offset: int
    key: bytes
    headers: dict[str, str]
    value: bytes

    @property
    def position(self) -> int:
        """The log position the message came from (the end of its ce_id)."""
        return int(self.headers["ce_id"].rpartition(":")[2])

    def json(self) -> Any:
        return orjson.loads(self.value)


def _bytes(value: str | bytes) -> bytes:
    return value.encode() if isinstance(value, str) else value


@dataclass
class Cluster:
    """What one cluster holds: its records per topic and partition, in offset order."""

    partitions: int
    logs: dict[tuple[str, int], list[Record]] = field(default_factory=dict)

    def write(self, out: Outgoing) -> Record:
        message = out.message
        key = _bytes(message.key or b"")
        partition = zlib.crc32(key) % self.partitions
        log = self.logs.setdefault((out.topic, partition), [])
        headers = {k: v.decode() for k, v in message.headers.items()}
        record = Record(out.topic, partition, len(log), key, headers, _bytes(message.value))
        log.append(record)
        return record

    def records(self, topic: str) -> list[Record]:
        """Every record of a topic, partition by partition."""
        return [r for (t, _), log in sorted(self.logs.items()) if t == topic for r in log]

    def end(self, topic: str) -> int:
        return sum(len(log) for (t, _), log in self.logs.items() if t == topic)


class FakeSink:
    """The Sink port over an in-memory cluster; `reports_end=False` stands for a sink
    without a probe (it cannot tell how many messages registry.events holds).

    Scripts what a real cluster does to the relay:
    - `refuse_next`: the next publishes fail (the broker away, or refusing the batch);
      nothing of a refused batch is written. As the Kafka sink does, a failed publish
      replaces the producer.
    - `replace_cluster`: an empty cluster takes the old one's place (an embedded broker
      restarted). The producer still knows the old one, and a broker refuses writes from
      it (as Tansu does) until the sink is reset or a failure replaced the producer.
    - `replace_cluster_in_flight`: the same, while the next batch is in flight: the
      producer's retry writes that batch into the new cluster, so its offsets go back.
    Messages larger than the Kafka sink's request limit are refused as Kafka refuses them.
    """

    def __init__(self, partitions: int = 3, reports_end: bool = True) -> None:
        self.cluster = Cluster(partitions)
        self.reports_end = reports_end
        self.resets = 0
        self._refusals: list[BaseException] = []
        self._stale = False  # the producer knows a cluster that is gone
        self._replace_in_flight = False

    # -- scripting ------------------------------------------------------------------------

    def refuse_next(self, times: int = 1, error: BaseException | None = None) -> None:
        self._refusals += [error or KafkaConnectionError("broker away")] * times

    def replace_cluster(self) -> None:
        self.cluster = Cluster(self.cluster.partitions)
        self._stale = True

    def replace_cluster_in_flight(self) -> None:
        self._replace_in_flight = True

    # -- the port -------------------------------------------------------------------------

    async def publish(self, batch: Sequence[Outgoing]) -> Acks:
        if self._refusals:
            self._stale = False  # a failed publish replaces the producer
            raise self._refusals.pop(0)
        if self._stale:
            self._stale = False
            raise UnknownError("a producer of a cluster that is gone")
        for out in batch:
            if len(out.message.value) > MAX_REQUEST_BYTES:
                self._stale = False
                raise MessageSizeTooLargeError(f"{len(out.message.value)} bytes")
        if self._replace_in_flight:
            self._replace_in_flight = False
            self.replace_cluster()  # the retry of this batch lands there; later ones fail
        acks: Acks = {}
        for out in batch:
            record = self.cluster.write(out)
            if record.topic == EVENTS:
                low, high = acks.get(record.partition, (record.offset, record.offset))
                acks[record.partition] = (min(low, record.offset), max(high, record.offset))
        return acks

    async def events_end(self) -> int | None:
        return self.cluster.end(EVENTS) if self.reports_end else None

    async def reset(self) -> None:
        self.resets += 1
        self._stale = False
