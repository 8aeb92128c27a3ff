"""Group commit on the in-memory registry: commands decided together, each answered on its
own; one that fails after changing an aggregate leaves no trace on the others."""

from __future__ import annotations

import pytest

from schemas import commands as c
from services.registry.domain.errors import Conflict, DuplicateName, NotFound
from services.registry.execution import Decision, Ticket
from tests.fakes.registry import memory_registry
from tests.people import person

ALICE = person("alice")


def test_a_command_that_fails_after_changing_the_model_is_rolled_back_alone() -> None:
    registry = memory_registry()
    registry.handle(c.RegisterModel(name="m"), ALICE)
    registry.handle(c.RegisterVersion(model="m", artifact_uri="s3://m/1"), ALICE)
    events_before = registry.command_log.count_events()

    def take_a_number_then_fail() -> Decision:
        model = registry.scope.model("m")
        model.add_version(failing.ctx)  # changed, then refused
        raise Conflict("refused after deciding half of it")

    first = registry.ticket(c.RegisterVersion(model="m", artifact_uri="s3://m/2"), ALICE)
    failing = registry.ticket(c.RegisterVersion(model="m", artifact_uri="s3://m/x"), ALICE)
    failing = Ticket(failing.command, failing.ctx, take_a_number_then_fail, context=ALICE)
    missing = registry.ticket(c.TagVersion(model="m", version=9, key="k", value="v"), ALICE)
    last = registry.ticket(c.RegisterVersion(model="m", artifact_uri="s3://m/3"), ALICE)
    new = registry.ticket(c.RegisterModel(name="fresh"), ALICE)
    again = registry.ticket(c.RegisterModel(name="fresh"), ALICE)

    registry.executor.run_group([first, failing, missing, last, new, again])

    assert first.answer().result["number"] == 2
    with pytest.raises(Conflict, match="half"):
        failing.answer()
    with pytest.raises(NotFound):
        missing.answer()
    assert last.answer().result["number"] == 3  # not 4: the failed one took nothing
    assert new.answer().result["name"] == "fresh"
    with pytest.raises(DuplicateName):
        again.answer()
    # Two versions (each a model event and a version's) and a model with its name's
    # reservation: six events, in one save.
    assert registry.command_log.count_events() == events_before + 6
    assert registry.get_model("m")["latest_version"] == 3
    positions = [t.answer().position for t in (first, last, new)]
    assert positions == sorted(positions) and len(set(positions)) == 3


def test_a_command_id_twice_in_one_group_is_one_command_and_a_replay() -> None:
    registry = memory_registry()
    registry.handle(c.RegisterModel(name="m"), ALICE)
    command = c.RegisterVersion(model="m", artifact_uri="s3://m/1", command_id="once")
    one, two = registry.ticket(command, ALICE), registry.ticket(command, ALICE)
    registry.executor.run_group([one, two])
    assert one.answer().result == two.answer().result
    assert two.answer().replayed and not one.answer().replayed
    assert registry.get_model("m")["latest_version"] == 1
