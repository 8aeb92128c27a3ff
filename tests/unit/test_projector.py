"""The projector's failure branches, on fakes: a view whose batch fails keeps its position
and catches up later; a batch another instance applied meanwhile, or that a view already
has, changes nothing. Asserted: each view's position and what its tables received."""

from __future__ import annotations

import asyncio

import pytest

from services.catalogue.projector import project_batch
from services.catalogue.views import Statement, View
from services.eventlog.record import StoredEvent
from tests.fakes.eventlog import MemoryEventLog, RegistryEvents
from tests.fakes.views import MemoryViewStore

KINDS = ("ModelRegistered", "ModelRenamed", "VersionAdded", "VersionRegistered", "VersionPromoted")


def seen(name: str) -> View:
    """A view with one row per event it applied."""
    view = View(name, ddl=["CREATE TABLE {s}.seen (position bigint PRIMARY KEY)"])

    @view.on(*KINDS)
    def record(event: StoredEvent) -> list[Statement]:
        return [("INSERT INTO {s}.seen (position) VALUES ($1)", (event.position,))]

    return view


class World:
    """A log of a model with three promoted versions; views a and b on a fake store."""

    def __init__(self, batch_size: int = 100) -> None:
        self.log = MemoryEventLog()
        write = RegistryEvents(self.log.append)
        model = write.register_model("fraud")
        for number in (1, 2, 3):
            write.register_version(model, number)
            write.promote(model, number)
        write.rename_model(model, "fraud-v2")
        self.views = [seen("a"), seen("b")]
        self.store = MemoryViewStore(v.name for v in self.views)
        self.batch_size = batch_size

    def step(self) -> int:
        return asyncio.run(project_batch(self.log, self.store, self.views, self.batch_size))

    def catch_up(self) -> None:
        while self.step():
            pass

    def everything(self) -> list[int]:
        return [e.position for e in asyncio.run(self.log.read_after(0, 1_000))]

    def rows(self, view: str) -> list[int]:
        return [args[0] for _, args in self.store.statements(view)]

    def position(self, view: str) -> int:
        return self.store.positions[view][1]


def test_every_view_receives_every_event_once() -> None:
    world = World(batch_size=4)
    world.catch_up()
    for view in ("a", "b"):
        assert world.rows(view) == world.everything()
        assert world.position(view) == world.everything()[-1]


def test_a_batch_that_fails_to_apply_leaves_its_views_position_unchanged() -> None:
    world = World(batch_size=5)
    world.step()
    # The next batch fails in view b (the read database went away mid-batch).
    world.store.fail_next_run("b")
    with pytest.raises(ConnectionError):
        world.step()
    first, second = world.everything()[:5], world.everything()[5:10]
    # b is where it was, with none of that batch; a applied it in its own transaction.
    assert (world.position("b"), world.rows("b")) == (first[-1], first)
    assert (world.position("a"), world.rows("a")) == (second[-1], first + second)
    # Resuming from the stored positions: b catches up, a gets nothing twice.
    world.catch_up()
    assert world.rows("a") == world.rows("b") == world.everything()


def test_a_batch_another_instance_applied_meanwhile_changes_nothing() -> None:
    world = World()
    # Between our read of the positions and our apply, another projector applies it all.
    world.store.after_next_read(
        lambda: project_batch(world.log, world.store, world.views, world.batch_size)
    )
    assert world.step() == len(world.everything())  # we read the batch, and let it be
    for view in ("a", "b"):
        assert world.rows(view) == world.everything()
        assert world.position(view) == world.everything()[-1]


def test_a_view_ahead_of_another_takes_only_what_it_lacks() -> None:
    world = World(batch_size=3)
    world.step()  # both have 1-3
    world.store.fail_next_run("b")
    with pytest.raises(ConnectionError):
        world.step()  # a has 1-6, b still 1-3
    # The next batch is read after b's position; for a, half of it is a duplicate.
    world.step()
    assert world.rows("a") == world.everything()[:6]
    assert world.rows("b") == world.everything()[:6]
