"""Evaluating a policy: each rule's verdict and the facts it saw, failing closed on
errors, bounded in time, the same every time, and never raising for any facts."""

from __future__ import annotations

import hashlib
import json
import textwrap
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.policy import facts as f
from services.policy.document import Policy, parse_policy
from services.policy.errors import PolicyError
from services.policy.evaluate import STEPS_PER_EVALUATION, STEPS_PER_RULE, Evaluation, evaluate
from services.policy.facts import Approval, Artifact, Facts, Lineage

EXAMPLE = textwrap.dedent(
    """\
    name: fraud-gates
    description: What a fraud model needs before it serves traffic.
    stages:
      staging:
        rules:
          - name: auc-floor
            expression: facts.metrics.auc >= 0.75
            message: AUC must be at least 0.75.
      production:
        rules:
          - name: auc-floor
            expression: facts.metrics.auc >= 0.85
            message: AUC must be at least 0.85 in production.
          - name: artifact-verified
            expression: facts.artifact.verified && facts.artifact.digest.matches('^[0-9a-f]{64}$')
            message: The artefact's sha256 digest must have been verified.
          - name: risk-classified
            expression: facts.risk_class != null
            message: A production model needs a risk class.
        risk_classes:
          high:
            - name: lead-approved
              expression: facts.approvals.exists(a, 'ml-lead' in a.roles)
              message: A high-risk model needs an ML lead's approval.
            - name: card-complete
              expression: has(facts.model_card.intended_use) && has(facts.model_card.limitations)
              message: The model card must state intended use and limitations.
            - name: verified-after-approval
              expression: >-
                facts.approvals.all(a, facts.artifact.verified_at >= a.at)
              message: The artefact is verified again after the last approval.
          prohibited:
            - name: never
              expression: "false"
              message: Prohibited systems are never promoted.
    """
)
AT = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)
LATER = datetime(2026, 3, 2, 9, 30, tzinfo=UTC)


def good_facts(**changes: Any) -> Facts:
    """A high-risk version that passes every production gate of EXAMPLE."""
    fields: dict[str, Any] = {
        "stage_from": "staging",
        "stage_to": "production",
        "metrics": {"auc": 0.91, "f1": 0.8},
        "model_card": {"intended_use": "card fraud", "limitations": "EU cards only"},
        "risk_class": "high",
        "lineage": Lineage(datasets=("txns-2026",), runs=("run-7",)),
        "approvals": (Approval("bob", ("ml-lead", "approver"), AT),),
        "artifact": Artifact(digest="ab" * 32, verified=True, verified_at=LATER),
        "tags": {"team": "risk"},
    }
    fields.update(changes)
    return Facts(**fields)


def policy_of(*rules: tuple[str, str], stage: str = "production") -> Policy:
    items = "".join(
        f"      - name: {name}\n        expression: {json.dumps(expr)}\n        message: m\n"
        for name, expr in rules
    )
    return parse_policy(f"name: p\nstages:\n  {stage}:\n    rules:\n{items}")


def by_name(evaluation: Evaluation) -> dict[str, Any]:
    return {r.name: r for r in evaluation.rules}


def test_a_version_that_meets_every_gate_passes_and_the_evaluation_says_what_it_saw() -> None:
    result = evaluate(parse_policy(EXAMPLE), "production", good_facts(), version=3)
    assert result.passed
    assert (result.policy, result.policy_version, result.stage) == ("fraud-gates", 3, "production")
    assert result.risk_class == "high"
    assert [r.name for r in result.rules] == [
        "auc-floor",
        "artifact-verified",
        "risk-classified",
        "lead-approved",
        "card-complete",
        "verified-after-approval",
    ]
    rules = by_name(result)
    assert dict(rules["auc-floor"].saw) == {"metrics.auc": 0.91}
    assert dict(rules["artifact-verified"].saw) == {
        "artifact.verified": True,
        "artifact.digest": "ab" * 32,
    }
    assert dict(rules["risk-classified"].saw) == {"risk_class": "high"}
    # A macro's variable is covered by the collection it ranges over.
    assert dict(rules["lead-approved"].saw) == {
        "approvals": [{"subject": "bob", "roles": ["ml-lead", "approver"], "at": AT_TEXT}]
    }
    assert dict(rules["verified-after-approval"].saw) == {
        "approvals": [{"subject": "bob", "roles": ["ml-lead", "approver"], "at": AT_TEXT}],
        "artifact.verified_at": "2026-03-02T09:30:00Z",
    }
    assert all(r.passed and r.error is None and r.missing == () for r in result.rules)


AT_TEXT = "2026-03-01T12:00:00Z"


def test_a_failing_rule_fails_the_gate_and_keeps_its_message_and_values() -> None:
    result = evaluate(
        parse_policy(EXAMPLE), "production", good_facts(metrics={"auc": 0.8}), version=1
    )
    assert not result.passed
    [failed] = result.failed
    assert failed.name == "auc-floor"
    assert failed.message == "AUC must be at least 0.85 in production."
    assert failed.error is None
    assert dict(failed.saw) == {"metrics.auc": 0.8}
    # The same facts pass the lower staging floor.
    staging = good_facts(stage_to="staging", metrics={"auc": 0.8})
    assert evaluate(parse_policy(EXAMPLE), "staging", staging, version=1).passed


def test_a_missing_fact_is_recorded_as_missing_and_fails_the_rule() -> None:
    facts = good_facts(metrics={"f1": 0.8}, model_card={"intended_use": "card fraud"})
    rules = by_name(evaluate(parse_policy(EXAMPLE), "production", facts, version=1))
    # Reading a missing metric is an error: the rule fails with the error's text.
    assert not rules["auc-floor"].passed
    assert rules["auc-floor"].missing == ("metrics.auc",)
    assert dict(rules["auc-floor"].saw) == {}
    assert rules["auc-floor"].error == "no such member in mapping: 'auc'"
    # has() of a missing field is false, not an error; the field is still recorded.
    assert not rules["card-complete"].passed
    assert rules["card-complete"].error is None
    assert rules["card-complete"].missing == ("model_card.limitations",)
    assert dict(rules["card-complete"].saw) == {"model_card.intended_use": "card fraud"}


@pytest.mark.parametrize(
    ("expression", "error"),
    [
        ("facts.metrics.auc > 'high'", "no overload for '>' applied to '(double, string)'"),
        ("facts.risk_class + 1 > 0", "no overload for '+' applied to '(string, int)'"),
        ("facts.approvals[3].subject == 'bob'", "invalid_argument: list index out of range"),
        ("int(facts.tags.team) > 0", "invalid literal for int()"),
        ("facts.metrics.auc", "the rule gives double, not a bool"),
        ("facts.lineage.datasets", "the rule gives list, not a bool"),
        ("facts.model_card.intended_use.startsWith(1)", "no such overload"),
    ],
)
def test_a_rule_that_errors_fails_with_the_error_and_does_not_raise(
    expression: str, error: str
) -> None:
    [result] = evaluate(policy_of(("r", expression)), "production", good_facts(), version=1).rules
    assert not result.passed
    assert result.error is not None
    assert error in result.error
    # Errors are short, whatever celpy put in them (it can embed the whole activation).
    assert len(result.error) <= 300


def test_the_rules_of_the_versions_risk_class_are_added() -> None:
    policy = parse_policy(EXAMPLE)
    # A minimal-risk version needs neither an ML lead nor a complete card.
    minimal = good_facts(risk_class="minimal", approvals=(), model_card={})
    result = evaluate(policy, "production", minimal, version=1)
    assert result.passed
    assert [r.name for r in result.rules] == ["auc-floor", "artifact-verified", "risk-classified"]
    # The same version classed high fails on exactly the high-risk rules.
    high = evaluate(policy, "production", good_facts(approvals=(), model_card={}), version=1)
    assert [r.name for r in high.failed] == ["lead-approved", "card-complete"]
    # Prohibited never passes; unclassified fails the base rule.
    prohibited = evaluate(policy, "production", good_facts(risk_class="prohibited"), version=1)
    assert [r.name for r in prohibited.failed] == ["never"]
    unclassified = evaluate(policy, "production", good_facts(risk_class=None), version=1)
    assert [r.name for r in unclassified.failed] == ["risk-classified"]


def test_a_stage_without_rules_passes_and_an_unknown_stage_is_refused() -> None:
    policy = policy_of(("auc", "facts.metrics.auc > 0.5"), stage="staging")
    result = evaluate(policy, "production", good_facts(), version=1)
    assert result.passed
    assert result.rules == ()
    with pytest.raises(PolicyError):
        evaluate(policy, "Production", good_facts(), version=1)
    with pytest.raises(PolicyError):
        evaluate(policy, "production", good_facts(), version=0)


def test_saw_paths_render_unambiguously() -> None:
    facts = good_facts(metrics={"val.auc": 0.9}, tags={"team-name": "risk"})
    [result] = evaluate(
        policy_of(
            (
                "r",
                "facts.metrics['val.auc'] > 0.5 && facts.tags['team-name'] == 'risk' "
                "&& facts.approvals[0].roles.size() > 0 "
                "&& facts.approvals[7].at > facts.approvals[0].at",
            )
        ),
        "production",
        facts,
        version=1,
    ).rules
    # In the order the expression names them.
    assert list(result.saw.items()) == [
        ('metrics["val.auc"]', 0.9),
        ('tags["team-name"]', "risk"),
        ("approvals[0].roles", ["ml-lead", "approver"]),
        ("approvals[0].at", AT_TEXT),
    ]
    assert result.missing == ("approvals[7].at",)


def test_a_large_value_is_recorded_by_its_digest() -> None:
    card = {"intended_use": "x" * 5000, "limitations": "none"}
    rules = by_name(
        evaluate(parse_policy(EXAMPLE), "production", good_facts(model_card=card), version=1)
    )
    # has() saw the long text, which is too long to copy into every promotion event.
    assert dict(rules["card-complete"].saw) == {"model_card.limitations": "none"}
    [(path, digest)] = rules["card-complete"].elided.items()
    assert path == "model_card.intended_use"
    assert digest == hashlib.sha256(json.dumps("x" * 5000).encode()).hexdigest()


def test_an_expensive_rule_runs_out_of_budget_and_fails() -> None:
    approvals = tuple(Approval(f"u{i}", ("approver",), AT) for i in range(100))
    cubic = "facts.approvals.all(a, facts.approvals.all(b, facts.approvals.all(c, true)))"
    policy = policy_of(("cubic", cubic), ("cheap", "facts.metrics.auc > 0.5"))
    result = evaluate(policy, "production", good_facts(approvals=approvals), version=1)
    cubic_result, cheap = result.rules
    assert not cubic_result.passed
    assert cubic_result.error == "evaluation step budget exhausted"
    # The next rule has a budget of its own.
    assert cheap.passed


def test_the_whole_evaluation_shares_one_budget() -> None:
    approvals = tuple(Approval(f"u{i}", ("approver",), AT) for i in range(100))
    square = "facts.approvals.all(a, facts.approvals.all(b, true))"  # over a rule's budget
    rules = [(f"square-{i}", square) for i in range(12)] + [("cheap", "true")]
    result = evaluate(policy_of(*rules), "production", good_facts(approvals=approvals), version=1)
    # The first rules spend the evaluation's budget; what comes after fails without running.
    spenders = STEPS_PER_EVALUATION // STEPS_PER_RULE
    assert spenders < 12
    exhausted = "evaluation step budget exhausted"
    assert [r.error for r in result.rules] == [exhausted] * 13
    assert not result.rules[-1].passed
    # The cheap rule itself is fine: alone, it passes.
    assert evaluate(policy_of(("cheap", "true")), "production", good_facts(), version=1).passed


def test_the_evaluation_is_json_and_reads_back_equal() -> None:
    result = evaluate(parse_policy(EXAMPLE), "production", good_facts(approvals=()), version=4)
    text = json.dumps(result.to_json(), allow_nan=False, sort_keys=True)
    assert Evaluation.from_json(json.loads(text)) == result
    assert json.loads(text)["rules"][3] == {
        "name": "lead-approved",
        "expression": "facts.approvals.exists(a, 'ml-lead' in a.roles)",
        "message": "A high-risk model needs an ML lead's approval.",
        "passed": False,
        "saw": {"approvals": []},
        "missing": [],
        "elided": {},
        "error": None,
    }


def test_evaluation_is_deterministic_whatever_order_the_facts_came_in() -> None:
    policy = parse_policy(EXAMPLE)
    one = good_facts(metrics={"auc": 0.91, "f1": 0.8}, tags={"a": "1", "b": "2"})
    two = good_facts(metrics={"f1": 0.8, "auc": 0.91}, tags={"b": "2", "a": "1"})
    keys = policy_of(("keys", "facts.metrics.map(k, k) == ['auc', 'f1']"))
    for p in (policy, keys):
        texts = {
            json.dumps(evaluate(p, "production", x, version=1).to_json()) for x in (one, two, one)
        }
        assert len(texts) == 1
    assert evaluate(keys, "production", two, version=1).passed


# Arbitrary facts, within the limits a Facts object enforces.
texts = st.text(max_size=12)
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63 - 1)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=20,
)
times = st.datetimes(timezones=st.just(UTC))
arbitrary_facts = st.builds(
    Facts,
    stage_from=st.sampled_from(f.STAGES),
    stage_to=st.sampled_from(f.PROMOTABLE),
    metrics=st.dictionaries(
        st.sampled_from(["auc", "f1", "val.auc", ""]) | texts,
        st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10, 10),
        max_size=5,
    ),
    model_card=st.dictionaries(
        st.sampled_from(["intended_use", "limitations"]) | texts, json_values, max_size=4
    ),
    risk_class=st.none() | st.sampled_from(f.RISK_CLASSES),
    lineage=st.builds(Lineage, datasets=st.tuples(texts) | st.just(())),
    approvals=st.lists(
        st.builds(
            Approval,
            subject=texts,
            roles=st.lists(st.sampled_from(["ml-lead", "approver"]) | texts, max_size=3).map(tuple),
            at=times,
        ),
        max_size=4,
    ).map(tuple),
    artifact=st.builds(
        Artifact,
        digest=st.none() | texts | st.just("ab" * 32),
        verified=st.booleans(),
        verified_at=st.none() | times,
    ),
    tags=st.dictionaries(texts, texts, max_size=3),
)
TRICKY = policy_of(
    ("example-like", "facts.metrics.auc >= 0.85 && facts.artifact.verified"),
    ("card", "has(facts.model_card.intended_use) && facts.model_card.intended_use.size() > 3"),
    ("types", "facts.model_card.limitations + 1 > facts.metrics.f1"),
    ("timestamps", "facts.approvals.all(a, a.at < facts.artifact.verified_at)"),
    ("index", "facts.approvals[0].roles.exists(r, r.matches('^ml-'))"),
    ("division", "facts.metrics.f1 / facts.metrics.auc > 1.0"),
    ("ints", "int(facts.metrics.auc) * 9223372036854775807 > 0"),
    ("keys", "facts.model_card.all(k, facts.model_card[k] != null)"),
    ("strings", "facts.tags.exists(k, facts.tags[k].endsWith(k))"),
    ("lineage", "size(facts.lineage.datasets) > 0 ? facts.lineage.datasets[0] : false"),
)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(facts=arbitrary_facts, stage=st.sampled_from(f.PROMOTABLE))
def test_evaluate_never_raises_and_never_passes_an_erroring_rule(facts: Facts, stage: str) -> None:
    for policy in (parse_policy(EXAMPLE), TRICKY):
        result = evaluate(policy, stage, facts, version=1)
        assert result.passed == all(r.passed for r in result.rules)
        assert not any(r.passed and r.error for r in result.rules)
        # Strict JSON, and it reads back to an equal evaluation.
        text = json.dumps(result.to_json(), allow_nan=False)
        assert Evaluation.from_json(json.loads(text)) == result
