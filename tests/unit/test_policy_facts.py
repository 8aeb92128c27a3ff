"""Facts: what a gate reads, checked when built, the same whatever order it came in."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import pytest

from services.policy.errors import FactsInvalid
from services.policy.facts import (
    MAX_APPROVALS,
    MAX_CARD_BYTES,
    MAX_CARD_DEPTH,
    MAX_LINEAGE,
    MAX_METRICS,
    Approval,
    Artifact,
    Facts,
    Lineage,
)

AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def test_facts_as_json_are_plain_with_times_in_utc() -> None:
    paris = timezone(timedelta(hours=1))
    facts = Facts(
        stage_from="staging",
        stage_to="production",
        metrics={"auc": 1, "f1": 0.5},
        model_card={"owners": ["risk"], "intended_use": "card fraud"},
        risk_class="high",
        lineage=Lineage(datasets=("txns-2026",), code=("git:abc",)),
        approvals=(Approval("bob", ("ml-lead",), datetime(2026, 3, 1, 13, 0, tzinfo=paris)),),
        artifact=Artifact(digest="ab" * 32, verified=True, verified_at=AT),
        tags={"team": "risk"},
    )
    assert facts.to_json() == {
        "metrics": {"auc": 1.0, "f1": 0.5},
        "model_card": {"intended_use": "card fraud", "owners": ["risk"]},
        "risk_class": "high",
        "lineage": {"datasets": ["txns-2026"], "code": ["git:abc"], "runs": [], "parents": []},
        "approvals": [{"subject": "bob", "roles": ["ml-lead"], "at": "2026-03-01T12:00:00Z"}],
        "artifact": {"digest": "ab" * 32, "verified": True, "verified_at": "2026-03-01T12:00:00Z"},
        "stage_from": "staging",
        "stage_to": "production",
        "tags": {"team": "risk"},
    }
    # Metrics are doubles even when given as ints: CEL has no int == double.
    assert isinstance(facts.metrics["auc"], float)


def test_facts_do_not_change_when_the_caller_changes_what_it_passed() -> None:
    metrics = {"auc": 0.9}
    card: dict[str, Any] = {"owners": ["risk"]}
    facts = Facts(stage_from="staging", stage_to="production", metrics=metrics, model_card=card)
    metrics["auc"] = 0.1
    card["owners"].append("mallory")
    assert facts.to_json()["metrics"] == {"auc": 0.9}
    assert facts.to_json()["model_card"] == {"owners": ["risk"]}


def test_key_order_of_the_input_does_not_reach_the_rules() -> None:
    card_one: dict[str, Any] = {"owners": ["risk"], "training": {"rows": 10, "from": "2025"}}
    card_two: dict[str, Any] = {"training": {"from": "2025", "rows": 10}, "owners": ["risk"]}
    one = Facts(
        "staging", "production", metrics={"a": 1.0, "b": 2.0}, model_card=card_one, tags={"x": "1"}
    )
    two = Facts(
        "staging", "production", metrics={"b": 2.0, "a": 1.0}, model_card=card_two, tags={"x": "1"}
    )
    assert json.dumps(one.to_json()) == json.dumps(two.to_json())
    assert '"metrics": {"a": 1.0, "b": 2.0}' in json.dumps(one.to_json())
    assert '"training": {"from": "2025", "rows": 10}' in json.dumps(two.to_json())
    # CEL iterates maps in key order (`facts.metrics.map(k, k)`), so that is sorted too.
    assert [str(k) for k in one.to_cel()["facts"]["metrics"]] == ["a", "b"]
    assert [str(k) for k in two.to_cel()["facts"]["metrics"]] == ["a", "b"]


def nested(depth: int) -> dict[str, Any]:
    card: dict[str, Any] = {}
    for _ in range(depth - 1):
        card = {"k": card}
    return card


@pytest.mark.parametrize(
    ("build", "field"),
    [
        (lambda: Facts("staging", "archived"), "stage_to"),
        (lambda: Facts("nowhere", "production"), "stage_from"),
        (lambda: Facts("staging", "production", risk_class="extreme"), "risk_class"),
        (lambda: Facts("staging", "production", metrics={"auc": float("nan")}), "metrics.auc"),
        (lambda: Facts("staging", "production", metrics={"auc": True}), "metrics.auc"),
        (
            lambda: Facts("staging", "production", metrics={f"m{i}": 1.0 for i in range(1001)}),
            "metrics",
        ),
        (lambda: Facts("staging", "production", model_card={"n": 2**64}), "model_card"),
        (lambda: Facts("staging", "production", model_card={"t": AT}), "model_card"),  # type: ignore[dict-item]
        (lambda: Facts("staging", "production", model_card={1: "x"}), "model_card"),  # type: ignore[dict-item]
        (
            lambda: Facts("staging", "production", model_card=nested(MAX_CARD_DEPTH + 1)),
            "model_card",
        ),
        (
            lambda: Facts("staging", "production", model_card={"x": "y" * MAX_CARD_BYTES}),
            "model_card",
        ),
        (
            lambda: Facts("staging", "production", model_card={"x": [0] * MAX_CARD_BYTES}),
            "model_card",
        ),
        (lambda: Lineage(datasets=("d",) * (MAX_LINEAGE + 1)), "lineage.datasets"),
        (lambda: Lineage(runs=["r"]), "lineage.runs"),  # type: ignore[arg-type]
        (lambda: Approval("bob", ("lead",), datetime(2026, 1, 1)), "approvals.at"),
        (
            lambda: Facts(
                "staging", "production", approvals=(Approval("b", (), AT),) * (MAX_APPROVALS + 1)
            ),
            "approvals",
        ),
        (lambda: Artifact(verified="yes"), "artifact.verified"),  # type: ignore[arg-type]
    ],
)
def test_facts_over_the_limits_or_of_the_wrong_type_are_refused(build: Any, field: str) -> None:
    with pytest.raises(FactsInvalid) as caught:
        build()
    assert caught.value.field == field


def test_the_limits_themselves_are_accepted() -> None:
    facts = Facts(
        "staging",
        "production",
        metrics={f"m{i}": float(i) for i in range(MAX_METRICS)},
        model_card=nested(MAX_CARD_DEPTH),
        lineage=Lineage(datasets=("d",) * MAX_LINEAGE),
        approvals=(Approval("b", (), AT),) * MAX_APPROVALS,
    )
    assert len(facts.metrics) == MAX_METRICS
