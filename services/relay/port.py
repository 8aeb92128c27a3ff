"""Where the relay publishes, as a port (services/relay/sink.py is the Kafka adapter;
tests/fakes/sink.py the in-memory one, held to the same contract test)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from services.relay.translate import Outgoing

Acks = dict[int, tuple[int, int]]  # partition of registry.events: (lowest, highest) offset


class Sink(Protocol):
    """A Kafka cluster the relay publishes to: it publishes a batch and says which offsets
    the broker acknowledged, and it tells a new or emptied cluster from the one it knew.

    Offsets on a partition only grow within one cluster; a new cluster starts them over.
    """

    async def publish(self, batch: Sequence[Outgoing]) -> Acks:
        """Returns once the broker acknowledged every message; raises otherwise (then any
        part of the batch may have been written). The result: per partition of
        registry.events, the lowest and highest offset acked in this batch (empty when the
        sink cannot tell)."""
        ...

    async def events_end(self) -> int | None:
        """Messages registry.events holds now, or None when the sink cannot tell. Only 0
        is exact (a new or emptied cluster): some brokers report less than they hold."""
        ...

    async def reset(self) -> None:
        """Forgets what it knew of the cluster (a new one was found): the next publish
        goes to the cluster there now."""
        ...
