"""Evaluating a policy against one version's facts: every rule, what it saw, the verdict.

Pure and deterministic: the same policy, stage and facts give an equal Evaluation, and
its JSON is the same text. A rule passes only when its expression is the boolean true;
one that errors (a missing key, a type mismatch, a budget run out) fails with the error
text. evaluate() does not raise for any facts a Facts object can hold.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

from celpy import celtypes

from services.policy import cel
from services.policy.document import Policy, Rule
from services.policy.errors import PolicyError
from services.policy.facts import PROMOTABLE, Facts, Json

STEPS_PER_RULE = 20_000
"""Parse-tree nodes one rule may visit (a rule over 100 approvals uses a few thousand)."""
STEPS_PER_EVALUATION = 200_000
"""Shared by all rules of one evaluation; about a second of celpy at worst."""
MAX_SAW = 4096
"""Bytes of JSON a seen value may take; a larger one is recorded by its sha256."""


@dataclass(frozen=True)
class RuleResult:
    """One rule's outcome and the facts it read.

    `saw` maps each fact path the expression names (`metrics.auc`, `tags["team"]`) to its
    value; paths absent from the facts are in `missing`; values too large to record are
    in `elided`, as the sha256 of their canonical JSON. Paths reached through a macro
    variable (`a.roles` in `facts.approvals.all(a, ...)`) are covered by the collection
    the macro ranges over (`approvals`)."""

    name: str
    expression: str
    message: str
    passed: bool
    saw: Mapping[str, Json] = field(default_factory=lambda: MappingProxyType({}))
    missing: tuple[str, ...] = ()
    elided: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    error: str | None = None

    def to_json(self) -> dict[str, Json]:
        return {
            "name": self.name,
            "expression": self.expression,
            "message": self.message,
            "passed": self.passed,
            "saw": _copy(dict(self.saw)),
            "missing": list(self.missing),
            "elided": dict(self.elided),
            "error": self.error,
        }


@dataclass(frozen=True)
class Evaluation:
    """A policy's verdict for one promotion, as stored in VersionPromoted."""

    policy: str
    policy_version: int
    stage: str
    risk_class: str | None
    passed: bool
    rules: tuple[RuleResult, ...]

    @property
    def failed(self) -> tuple[RuleResult, ...]:
        return tuple(r for r in self.rules if not r.passed)

    def to_json(self) -> dict[str, Json]:
        return {
            "policy": self.policy,
            "policy_version": self.policy_version,
            "stage": self.stage,
            "risk_class": self.risk_class,
            "passed": self.passed,
            "rules": [r.to_json() for r in self.rules],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> Evaluation:
        """Reads back what to_json wrote (from a stored event)."""
        return cls(
            policy=data["policy"],
            policy_version=data["policy_version"],
            stage=data["stage"],
            risk_class=data["risk_class"],
            passed=data["passed"],
            rules=tuple(
                RuleResult(
                    name=r["name"],
                    expression=r["expression"],
                    message=r["message"],
                    passed=r["passed"],
                    saw=MappingProxyType(dict(r["saw"])),
                    missing=tuple(r["missing"]),
                    elided=MappingProxyType(dict(r["elided"])),
                    error=r["error"],
                )
                for r in data["rules"]
            ),
        )


def evaluate(policy: Policy, stage: str, facts: Facts, *, version: int) -> Evaluation:
    """Evaluates the rules `policy` (at log version `version`) sets for `stage` and the
    facts' risk class. Passed when every rule passed; a stage without rules passes.
    Raises PolicyError only for a stage that cannot be promoted to or a bad version."""
    if stage not in PROMOTABLE:
        raise PolicyError(f"a promotion goes to {' or '.join(PROMOTABLE)}, not {stage!r}")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise PolicyError(f"a policy version is a positive integer, not {version!r}")
    plain = facts.to_json()
    activation = facts.to_cel()
    left = STEPS_PER_EVALUATION
    results = []
    for rule in policy.rules_for(stage, facts.risk_class):
        budget = cel.Budget(min(STEPS_PER_RULE, left))
        results.append(_run(rule, plain, activation, budget))
        left -= min(STEPS_PER_RULE, left) - max(budget.remaining, 0)
    return Evaluation(
        policy=policy.name,
        policy_version=version,
        stage=stage,
        risk_class=facts.risk_class,
        passed=all(r.passed for r in results),
        rules=tuple(results),
    )


def _run(
    rule: Rule, plain: dict[str, Json], activation: dict[str, Any], budget: cel.Budget
) -> RuleResult:
    saw: dict[str, Json] = {}
    missing: list[str] = []
    elided: dict[str, str] = {}
    for path in rule.compiled.paths:
        found, value = _lookup(plain, path)
        key = cel.render(path)
        if not found:
            missing.append(key)
            continue
        text = _canonical(value)
        if len(text.encode("utf-8", "surrogatepass")) > MAX_SAW:
            elided[key] = hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest()
        else:
            saw[key] = _copy(value)
    passed, error = False, None
    try:
        value = cel.evaluate(rule.compiled, activation, budget)
    except cel.EvaluationFailed as failure:
        error = str(failure)
    else:
        if isinstance(value, celtypes.BoolType):
            passed = bool(value)
        else:
            error = f"the rule gives {_type_name(value)}, not a bool"
    return RuleResult(
        name=rule.name,
        expression=rule.expression,
        message=rule.message,
        passed=passed,
        saw=MappingProxyType(saw),
        missing=tuple(missing),
        elided=MappingProxyType(elided),
        error=error,
    )


def _lookup(data: Json, path: cel.Path) -> tuple[bool, Json]:
    for segment in path:
        if isinstance(data, dict) and isinstance(segment, str) and segment in data:
            data = data[segment]
            continue
        if isinstance(data, list) and isinstance(segment, int) and 0 <= segment < len(data):
            data = data[segment]
            continue
        return False, None
    return True, data


def _canonical(value: Json) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def _copy(value: Json) -> Json:
    # Facts' JSON is at most a few levels deep (model cards are capped at 16).
    if isinstance(value, dict):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_copy(v) for v in value]
    return value


def _type_name(value: Any) -> str:
    if value is None:
        return "null"
    name = type(value).__name__
    return name[: -len("Type")].lower() if name.endswith("Type") else name
