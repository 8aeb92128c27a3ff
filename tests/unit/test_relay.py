"""The relay's failure branches, on fakes: a new or emptied cluster, offsets going back, a
failed publish. What is asserted is what a consumer would read from the cluster and
which position the relay stored (what it would resume from)."""

from __future__ import annotations

import asyncio

import pytest
from aiokafka.errors import KafkaConnectionError, UnknownError

from services.bus.topics import EVENTS, PROMOTIONS
from services.relay.positions import Mark
from services.relay.relay import LogPublisher
from tests.fakes.eventlog import MemoryEventLog, RegistryEvents
from tests.fakes.marks import MemoryMarks
from tests.fakes.sink import FakeSink


class World:
    """A log with a model, fraud, and `versions` promoted versions; a relay on fakes."""

    def __init__(self, versions: int = 2, batch_size: int = 100, **sink: bool) -> None:
        self.log = MemoryEventLog()
        self.write = RegistryEvents(self.log.append)
        self.model = self.write.register_model("fraud")
        for number in range(1, versions + 1):
            self.write.register_version(self.model, number)
            self.write.promote(self.model, number)
        self.sink = FakeSink(partitions=1, **sink)
        self.marks = MemoryMarks()
        self.relay = LogPublisher(self.sink, store_id="s", batch_size=batch_size)

    def step(self) -> int:
        return asyncio.run(self.relay.step(self.log, self.marks))

    def catch_up(self) -> None:
        while self.step():
            pass

    def head(self) -> int:
        return asyncio.run(self.log.head())

    def on_events(self) -> list[int]:
        """Positions on registry.events in the cluster there now, in offset order."""
        return [r.position for r in self.sink.cluster.records(EVENTS)]

    @property
    def mark(self) -> Mark:
        return self.marks.stored[-1]


def test_a_batch_is_published_then_its_position_stored() -> None:
    world = World(versions=1)
    world.catch_up()
    everything = list(range(1, world.head() + 1))
    assert world.on_events() == everything
    assert [r.json()["to_stage"] for r in world.sink.cluster.records(PROMOTIONS)] == ["production"]
    assert world.mark == Mark(world.head(), len(everything), {0: len(everything) - 1})


def test_an_emptied_cluster_after_publishing_gets_the_whole_log_again() -> None:
    world = World()
    world.catch_up()
    published = world.on_events()
    # An embedded broker restarted empty: the relay finds registry.events empty although
    # it had published there, and republishes the log from the start into the new cluster.
    world.sink.replace_cluster()
    world.catch_up()
    assert world.on_events() == published
    assert world.mark == Mark(world.head(), len(published), {0: len(published) - 1})


def test_an_empty_topic_is_no_news_before_the_relay_published_anything() -> None:
    world = World()
    world.marks.stored.append(Mark(3, 0))  # a position from before any publishing
    world.catch_up()
    # Nothing is republished: the empty topic was expected.
    assert world.on_events() == list(range(4, world.head() + 1))


def test_without_a_count_a_new_cluster_is_found_by_its_offsets() -> None:
    world = World(reports_end=False)  # a sink without a probe
    world.catch_up()
    world.sink.replace_cluster()
    world.write.tag_model(world.model, "team", "risk")
    # The producer that knew the old cluster is refused once (and replaced); the retry
    # lands in the new cluster at offset 0, below what the relay knew: it starts over.
    with pytest.raises(UnknownError):
        world.step()
    world.catch_up()
    assert world.on_events() == [world.head(), *range(1, world.head() + 1)]
    assert world.mark.position == world.head()


def test_offsets_going_back_start_over_from_zero_with_a_fresh_producer() -> None:
    world = World(batch_size=2)
    world.step()
    world.step()  # positions 1-4 are on the first cluster
    # The broker is replaced while the next batch is in flight: the producer's retry puts
    # it into the new cluster, whose offsets start at 0, below those the relay knew.
    world.sink.replace_cluster_in_flight()
    world.step()
    assert world.on_events() == [5, 6]
    assert world.mark == Mark(0, 2, {0: 1})  # from the start, counting what is there
    # It republishes everything after 0; a producer still knowing the old cluster would be
    # refused by the new one, so the relay must have replaced it.
    world.catch_up()
    assert world.on_events() == [5, 6, *range(1, world.head() + 1)]
    assert world.mark.position == world.head()
    assert world.mark.offsets == {0: len(world.on_events()) - 1}


def test_a_failed_publish_stores_no_position_and_the_batch_goes_out_on_retry() -> None:
    world = World()
    world.sink.refuse_next()
    with pytest.raises(KafkaConnectionError):
        world.step()
    assert world.marks.stored == [] and world.on_events() == []
    world.catch_up()
    assert world.on_events() == list(range(1, world.head() + 1))
    assert world.mark.position == world.head()


def test_after_a_failed_publish_messages_carry_the_name_the_model_had_then() -> None:
    world = World(versions=1)
    world.write.rename_model(world.model, "fraud-v2")
    world.write.register_version(world.model, 2)
    world.write.promote(world.model, 2)
    # The relay starts mid-log (as an instance taking over would), before the first
    # promotion; its first publish fails after it read the rename in that batch.
    world.marks.stored.append(Mark(3, 0))
    world.sink.refuse_next()
    with pytest.raises(KafkaConnectionError):
        world.step()
    world.catch_up()
    promotions = [
        (r.key.decode(), r.json()["version"]) for r in world.sink.cluster.records(PROMOTIONS)
    ]
    assert promotions == [("fraud", 1), ("fraud-v2", 2)]


def test_versions_facts_come_from_the_log_when_the_batch_lacks_them() -> None:
    world = World(versions=1)
    world.write.register_version(world.model, 2, sha256="cd" * 32, size=7)
    world.write.assign_alias(world.model, "champion", 2)
    world.marks.stored.append(Mark(world.head() - 1, 0))  # only the alias is new
    world.catch_up()
    (alias,) = world.sink.cluster.records(PROMOTIONS)
    assert alias.key == b"fraud"
    assert (alias.json()["version"], alias.json()["sha256"], alias.json()["size"]) == (
        2,
        "cd" * 32,
        7,
    )
