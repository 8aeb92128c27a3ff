"""Promotion gates as policy code, through the real dispatcher on in-memory persistence:
a failing rule blocks a promotion (403 policy_failed naming it and what it saw), the same
promotion passes once the card and lineage are completed, the verdict is stored in the
event, a dry run changes nothing, an administrator's override is recorded as such, and a
new policy is a new version."""

from __future__ import annotations

from typing import Any

import pytest

from schemas import commands as c
from schemas.bodies import LineageReference
from services.registry.application import Registry
from services.registry.domain.errors import Forbidden, InvalidInput, PolicyFailed
from tests.fakes.registry import memory_registry
from tests.people import person, stranger

ALICE, BOB, CAROL = person("alice"), person("bob"), person("carol")
POLICY = """\
name: fraud-gates
description: What a fraud model needs before it serves.
stages:
  production:
    rules:
      - name: auc-floor
        expression: facts.metrics.auc >= 0.85
        message: AUC must be at least 0.85.
      - name: intended-use
        expression: has(facts.model_card.intended_use)
        message: The model card must state its intended use.
      - name: trained-on-known-data
        expression: size(facts.lineage.datasets) > 0
        message: Link the training dataset.
      - name: a-reviewer-signed
        expression: facts.approvals.exists(a, 'reviewer' in a.roles)
        message: A reviewer of this model must sign off.
"""


CARD = {"schema_version": 1, "intended_use": {"primary_uses": ["flag card fraud"]}}


@pytest.fixture
def registry() -> Registry:
    registry = memory_registry()
    registry.handle(c.RegisterModel(name="fraud"), ALICE)
    registry.handle(
        c.RegisterVersion(model="fraud", artifact_uri="s3://m/1", metrics={"auc": 0.91}), ALICE
    )
    return registry


def approved(registry: Registry, *approvers: Any) -> str:
    asked = registry.handle(c.RequestApproval(model="fraud", version=1, stage="production"), ALICE)
    request_id = str(asked.result["approval_requests"][-1]["id"])
    for who in approvers or (BOB,):
        registry.handle(c.Approve(model="fraud", version=1, request_id=request_id), who)
    return request_id


def promoted_events(registry: Registry) -> list[Any]:
    model = registry.scope.model("fraud")
    return [
        e
        for e in registry.repository.event_store.get(model.id)
        if type(e).__name__ == "VersionPromoted"
    ]


def test_without_a_policy_approvals_alone_promote(registry: Registry) -> None:
    approved(registry)
    done = registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
    assert done.result["stage"] == "production" and done.result["evaluation"] is None


def test_a_failing_rule_blocks_then_the_completed_card_passes(registry: Registry) -> None:
    registry.handle(c.PublishPolicy(document=POLICY), ALICE)
    approved(registry)
    with pytest.raises(PolicyFailed) as refused:
        registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
    details = refused.value.details
    assert (details["policy"], details["policy_version"]) == ("fraud-gates", 1)
    assert [r["name"] for r in details["failed"]] == ["intended-use", "trained-on-known-data"]
    assert "intended-use" in refused.value.message
    assert promoted_events(registry) == []  # nothing was recorded

    # The contributor completes the card and links the data; the same approval now does.
    registry.handle(c.UpdateModelCard(model="fraud", version=1, card=CARD), ALICE)
    registry.handle(
        c.LinkLineage(
            model="fraud", version=1, references=[LineageReference(kind="dataset", id="txns")]
        ),
        ALICE,
    )
    done = registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
    evaluation = done.result["evaluation"]
    assert evaluation["passed"] and evaluation["policy_version"] == 1
    # The verdict is in the event, with what each rule saw.
    (event,) = promoted_events(registry)
    assert event.evaluation == evaluation
    rules = {r["name"]: r for r in event.evaluation["rules"]}
    assert rules["auc-floor"]["saw"] == {"metrics.auc": 0.91}
    assert rules["trained-on-known-data"]["saw"] == {"lineage.datasets": ["txns"]}
    # Bob's roles were recorded when he signed off (he holds every role through testers).
    assert "reviewer" in event.approvals[0]["roles"]


def test_a_dry_run_evaluates_and_changes_nothing(registry: Registry) -> None:
    registry.handle(c.PublishPolicy(document=POLICY), ALICE)
    approved(registry)
    before = registry.head_position()
    dry = registry.handle(
        c.Promote(model="fraud", version=1, stage="production", dry_run=True), CAROL
    )
    assert dry.result["dry_run"] is True and dry.result["would_promote"] is False
    assert dry.result["approved_request"] is not None
    assert [r["name"] for r in dry.result["evaluation"]["rules"] if not r["passed"]] == [
        "intended-use",
        "trained-on-known-data",
    ]
    assert registry.head_position() == before
    assert registry.get_version("fraud", 1)["stage"] == "development"


def test_an_administrators_override_lets_it_through_recorded_as_such(registry: Registry) -> None:
    registry.handle(c.PublishPolicy(document=POLICY), ALICE)
    request_id = approved(registry)
    # Dora, an owner of the registry (testers), signs off as a break-glass override.
    dora = person("dora")
    registry.handle(
        c.Approve(
            model="fraud",
            version=1,
            request_id=request_id,
            override=True,
            reason="incident 4711: the old model misfires",
        ),
        dora,
    )
    done = registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
    evaluation = done.result["evaluation"]
    assert evaluation["passed"] is False and evaluation["overridden_by"] == ["dora"]
    (event,) = promoted_events(registry)
    assert [a["override"] for a in event.approvals] == [False, True]


def test_an_override_is_an_administrators_alone(registry: Registry) -> None:
    request_id = approved(registry)
    reviewer = stranger("rita")
    from tests.people import grant

    grant(registry, "user:rita", "reviewer")
    with pytest.raises(Forbidden) as refused:
        registry.handle(
            c.Approve(model="fraud", version=1, request_id=request_id, override=True), reviewer
        )
    assert refused.value.details["permission"] == "administer"
    # And an override does not count towards the approvals a request needs.
    asked = registry.handle(
        c.RequestApproval(model="fraud", version=1, stage="staging", required_approvals=1), ALICE
    )
    staging = str(asked.result["approval_requests"][-1]["id"])
    registry.handle(
        c.Approve(model="fraud", version=1, request_id=staging, override=True), person("dora")
    )
    version = registry.get_version("fraud", 1)
    status = {r["id"]: r["status"] for r in version["approval_requests"]}
    assert status[staging] == "pending"


def test_a_new_policy_is_a_new_version_and_a_bad_one_is_refused_saying_where(
    registry: Registry,
) -> None:
    first = registry.handle(c.PublishPolicy(document=POLICY), ALICE).result
    same = registry.handle(c.PublishPolicy(document=POLICY), ALICE).result
    assert first["version"] == same["version"] == 1  # the same text changes nothing
    second = registry.handle(c.PublishPolicy(document=POLICY.replace("0.85", "0.95")), ALICE).result
    assert second["version"] == 2 and second["published_by"] == "alice"
    assert [p["version"] for p in registry.policies()] == [1, 2]
    with pytest.raises(InvalidInput) as refused:
        registry.handle(c.PublishPolicy(document=POLICY.replace(">= 0.85", ">= = 0.85")), ALICE)
    assert refused.value.details["rule"] == "auc-floor"
    assert refused.value.details["column"] is not None
    approved(registry)
    with pytest.raises(PolicyFailed) as failed:
        registry.handle(c.Promote(model="fraud", version=1, stage="production"), CAROL)
    assert failed.value.details["policy_version"] == 2
    assert "auc-floor" in [r["name"] for r in failed.value.details["failed"]]
