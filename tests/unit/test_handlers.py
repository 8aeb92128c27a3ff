"""The dispatcher on the in-memory registry: one handler per command, the same rules and
idempotency as on PostgreSQL, without a database."""

from __future__ import annotations

import pytest

from schemas import commands as c
from schemas.commands import COMMAND_CLASSES
from services.registry.application import CommandIdReused
from services.registry.domain.errors import NotApproved, SelfApproval
from services.registry.handlers import HANDLERS
from tests.fakes.registry import memory_registry
from tests.people import person

ALICE, BOB, CAROL = person("alice"), person("bob"), person("carol")


def test_every_command_has_exactly_one_handler() -> None:
    assert set(HANDLERS) == set(COMMAND_CLASSES.values())


def test_a_governed_promotion_from_registration_to_alias() -> None:
    registry = memory_registry()
    registry.handle(c.RegisterModel(name="fraud"), ALICE)
    registered = registry.handle(c.RegisterVersion(model="fraud", artifact_uri="s3://m/1"), ALICE)
    assert registered.result["number"] == 1
    on = {"model": "fraud", "version": 1}
    # No approval yet; then the requester cannot sign off her own request.
    with pytest.raises(NotApproved):
        registry.handle(c.Promote(**on, stage="production"), CAROL)
    asked = registry.handle(c.RequestApproval(**on, stage="production"), ALICE)
    request_id = asked.result["approval_requests"][0]["id"]
    with pytest.raises(SelfApproval):
        registry.handle(c.Approve(**on, request_id=request_id), ALICE)
    registry.handle(c.Approve(**on, request_id=request_id, reason="card reviewed"), BOB)
    promoted = registry.handle(c.Promote(**on, stage="production"), CAROL)
    assert promoted.result["stage"] == "production"
    registry.handle(c.SetAlias(model="fraud", alias="champion", version=1), CAROL)
    assert registry.resolve_alias("fraud", "champion")["number"] == 1


def test_a_command_id_answers_once_and_refuses_another_command() -> None:
    registry = memory_registry()
    create = c.RegisterModel(name="churn", command_id="create-churn")
    first = registry.handle(create, ALICE)
    events = registry.command_log.count_events()
    again = registry.handle(create, ALICE)
    assert (again.result, again.position, again.replayed) == (first.result, first.position, True)
    assert registry.command_log.count_events() == events
    # The same id for a different command, or from someone else, is refused.
    with pytest.raises(CommandIdReused):
        registry.handle(c.RegisterModel(name="other", command_id="create-churn"), ALICE)
    with pytest.raises(CommandIdReused):
        registry.handle(create, BOB)
    assert registry.command_log.count_events() == events
