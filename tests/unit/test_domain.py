"""Domain rules on RegisteredModel and ModelVersion, and replay as a fold of events."""

from __future__ import annotations

from typing import Any
from uuid import uuid4

import pytest

from services.registry.domain import rules
from services.registry.domain.errors import (
    Conflict,
    NotApproved,
    NotChangeable,
    NotFound,
    RuleBroken,
    SelfApproval,
)
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion
from tests.factories import version_facts

ALICE, BOB, CAROL, DAN = (Context(n) for n in ("alice", "bob", "carol", "dan"))


def new_version(model: RegisteredModel, who: Context = ALICE) -> ModelVersion:
    number, version_id = model.add_version(who)
    return ModelVersion.register(
        version_id=version_id,
        ctx=who,
        model_id=model.id,
        model_name=model.name,
        number=number,
        **version_facts(artifact_uri=f"s3://models/{number}"),
    )


def approved(
    model: RegisteredModel,
    version: ModelVersion,
    stage: Stage,
    requester: Context = ALICE,
    approvers: tuple[Context, ...] = (BOB,),
) -> str:
    request_id = uuid4().hex
    rules.request_approval(model, version, request_id, stage, len(approvers), requester)
    for approver in approvers:
        version.approve(request_id, approver)
    return request_id


def test_numbers_are_handed_out_in_order_without_gaps() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    assert [new_version(model).number for _ in range(5)] == [1, 2, 3, 4, 5]


def test_promotion_needs_an_approved_request_for_that_stage() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    with pytest.raises(NotApproved):
        rules.promote(model, version, Stage.PRODUCTION, CAROL)
    # Approval for staging does not open production.
    approved(model, version, Stage.STAGING)
    with pytest.raises(NotApproved):
        rules.promote(model, version, Stage.PRODUCTION, CAROL)
    rules.promote(model, version, Stage.STAGING, CAROL)
    assert model.stage_of(1) is Stage.STAGING


def test_an_approval_is_used_once() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    approved(model, version, Stage.PRODUCTION)
    rules.promote(model, version, Stage.PRODUCTION, CAROL)
    model.archive(1, CAROL)
    with pytest.raises(NotApproved):
        rules.promote(model, version, Stage.PRODUCTION, CAROL)


def test_requester_and_registrant_cannot_approve() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model, who=ALICE)
    request_id = uuid4().hex
    rules.request_approval(model, version, request_id, Stage.PRODUCTION, 1, BOB)
    with pytest.raises(SelfApproval):
        version.approve(request_id, BOB)  # the requester
    with pytest.raises(SelfApproval):
        version.approve(request_id, ALICE)  # the registrant
    with pytest.raises(SelfApproval):
        version.reject(request_id, BOB)
    version.approve(request_id, CAROL)
    assert version.request(request_id)["status"] == "approved"


def test_n_distinct_approvers_are_needed() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    request_id = uuid4().hex
    rules.request_approval(model, version, request_id, Stage.PRODUCTION, 2, ALICE)
    version.approve(request_id, BOB)
    with pytest.raises(Conflict):
        version.approve(request_id, BOB)  # the same person twice counts once
    with pytest.raises(NotApproved):
        rules.promote(model, version, Stage.PRODUCTION, CAROL)
    version.approve(request_id, CAROL)
    rules.promote(model, version, Stage.PRODUCTION, DAN)
    assert model.holders(Stage.PRODUCTION) == [1]


def test_rejected_and_withdrawn_requests_do_not_count() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    first, second = uuid4().hex, uuid4().hex
    rules.request_approval(model, version, first, Stage.PRODUCTION, 1, ALICE)
    version.reject(first, BOB)
    with pytest.raises(Conflict):
        version.approve(first, CAROL)
    rules.request_approval(model, version, second, Stage.PRODUCTION, 1, ALICE)
    with pytest.raises(RuleBroken):
        version.withdraw(second, BOB)  # only the requester withdraws
    version.withdraw(second, ALICE)
    with pytest.raises(NotApproved):
        rules.promote(model, version, Stage.PRODUCTION, CAROL)


def test_a_second_pending_request_for_the_same_stage_is_refused() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    rules.request_approval(model, version, "r1", Stage.PRODUCTION, 1, ALICE)
    with pytest.raises(Conflict):
        rules.request_approval(model, version, "r2", Stage.PRODUCTION, 1, ALICE)


def test_promoting_to_production_archives_the_previous_one_in_the_same_change() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    v1, v2 = new_version(model), new_version(model)
    approved(model, v1, Stage.PRODUCTION)
    rules.promote(model, v1, Stage.PRODUCTION, CAROL)
    model.assign_alias("champion", 1, CAROL)
    model.collect_events()
    approved(model, v2, Stage.PRODUCTION)
    rules.promote(model, v2, Stage.PRODUCTION, CAROL)
    pending = [type(e).__name__ for e in model.collect_events()]
    assert pending == ["VersionPromoted", "VersionArchived", "AliasRemoved"]
    assert model.holders(Stage.PRODUCTION) == [2]
    assert model.stage_of(1) is Stage.ARCHIVED
    assert "champion" not in model.aliases


def test_a_model_may_allow_several_production_versions() -> None:
    model = RegisteredModel.register("ab-test", ALICE, allow_multiple_production=True)
    v1, v2 = new_version(model), new_version(model)
    for version in (v1, v2):
        approved(model, version, Stage.PRODUCTION)
        rules.promote(model, version, Stage.PRODUCTION, CAROL)
    assert model.holders(Stage.PRODUCTION) == [1, 2]


def test_aliases_need_a_live_version() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    new_version(model)
    with pytest.raises(NotFound):
        model.assign_alias("champion", 7, ALICE)
    model.archive(1, ALICE)
    with pytest.raises(NotChangeable):
        model.assign_alias("champion", 1, ALICE)
    with pytest.raises(NotFound):
        model.remove_alias("champion", ALICE)


def test_archived_versions_and_deleted_models_cannot_change() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    model.archive(1, ALICE)
    with pytest.raises(NotChangeable):
        model.check_version_changeable(version.number)
    with pytest.raises(NotChangeable):
        rules.request_approval(model, version, "r", Stage.STAGING, 1, ALICE)
    model.delete(ALICE)
    for change in (
        lambda: model.describe("x", ALICE),
        lambda: new_version(model),
        lambda: model.tag("k", "v", ALICE),
    ):
        with pytest.raises(NotChangeable):
            change()


def test_a_model_with_live_versions_cannot_be_deleted() -> None:
    model = RegisteredModel.register("fraud", ALICE)
    version = new_version(model)
    approved(model, version, Stage.STAGING)
    rules.promote(model, version, Stage.STAGING, CAROL)
    with pytest.raises(Conflict):
        model.delete(ALICE)
    with pytest.raises(Conflict):
        model.delete_version(1, ALICE)


def test_a_name_is_reserved_once_until_released() -> None:
    index = ModelName.reserve("fraud", uuid4(), ALICE)
    from services.registry.domain.errors import DuplicateName

    with pytest.raises(DuplicateName):
        index.reclaim(uuid4(), BOB)
    index.release(ALICE)
    index.reclaim(uuid4(), BOB)


def test_every_event_records_who_why_and_the_command() -> None:
    ctx = Context("alice", reason="retrain on Q3 data", command_id="cmd-7")
    model = RegisteredModel.register("fraud", ctx)
    new_version(model, who=ctx)
    for event in model.collect_events():
        assert (event.actor, event.reason, event.command_id) == (
            "alice",
            "retrain on Q3 data",
            "cmd-7",
        )


def replay(events: list[Any]) -> Any:
    aggregate = None
    for event in events:
        aggregate = event.mutate(aggregate)
    return aggregate


def test_replaying_the_events_gives_the_same_state() -> None:
    model = RegisteredModel.register("fraud", ALICE, description="v0", tags={"team": "risk"})
    v1, v2 = new_version(model), new_version(model)
    approved(model, v1, Stage.PRODUCTION, approvers=(BOB, CAROL))
    rules.promote(model, v1, Stage.PRODUCTION, DAN)
    model.assign_alias("champion", 1, DAN)
    approved(model, v2, Stage.PRODUCTION)
    rules.promote(model, v2, Stage.PRODUCTION, DAN)
    model.rename("fraud-2", ALICE)
    model.tag("tier", "1", ALICE)
    model.untag("team", ALICE)
    v2.record_metrics({"auc": 0.93}, ALICE)
    v2.link_lineage([{"kind": "dataset", "id": "s3://d/1", "relation": "input"}], ALICE)
    v2.update_model_card({"schema_version": 1, "intended_purpose": "card fraud"}, ALICE)
    v2.amend_model_card({"risk": {"class": "high", "reason": "credit"}}, ["legacy"], ALICE)
    v2.tag("k", "v", ALICE)
    v2.describe("better", ALICE)

    for aggregate in (model, v1, v2):
        events = aggregate.collect_events()
        assert replay(events) == aggregate
