"""A policy document: promotion gates per stage, written as CEL rules in YAML.

    name: fraud-gates
    description: What a fraud model needs before it serves.
    stages:
      staging:
        rules:
          - name: auc-floor
            expression: facts.metrics.auc >= 0.75
            message: AUC must be at least 0.75.
      production:
        rules: [...]            # for every version
        risk_classes:           # added for versions of that risk class
          high: [...]
          prohibited: [...]

A stage's rules for a version are its `rules` followed by those of the version's risk
class. Rule names are unique within a stage. Every expression is compiled when the
document is parsed; anything wrong raises one PolicyInvalid naming the rule and the
line and column inside its expression. Sizes are capped so hostile input is cheap to
refuse, and YAML aliases and duplicate keys are refused (a duplicate `production:` would
otherwise silently replace the first).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

import yaml

from services.policy import cel
from services.policy.errors import PolicyInvalid
from services.policy.facts import NAMES, PROMOTABLE, RISK_CLASSES

MAX_DOCUMENT = 64 * 1024
"""Characters of YAML."""
MAX_RULES = 64
"""Rules in one stage, its risk classes' included."""
MAX_MESSAGE = 500
MAX_DESCRIPTION = 4000
MAX_NESTING = 16
"""YAML levels; a policy needs six."""
NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")
"""Policy and rule names."""


@dataclass(frozen=True)
class Rule:
    """One gate: passes when `expression` is true for the facts."""

    name: str
    expression: str
    message: str
    """Said to the user when the rule fails."""
    compiled: cel.Compiled = field(compare=False, repr=False)


@dataclass(frozen=True)
class StageRules:
    rules: tuple[Rule, ...] = ()
    by_risk_class: Mapping[str, tuple[Rule, ...]] = field(
        default_factory=lambda: MappingProxyType({})
    )


@dataclass(frozen=True)
class Policy:
    """A parsed, compiled policy document. Its version is the log's business."""

    name: str
    description: str
    stages: Mapping[str, StageRules]

    def rules_for(self, stage: str, risk_class: str | None) -> tuple[Rule, ...]:
        """The stage's rules, then those of the risk class; none for a stage the
        document does not name."""
        rules = self.stages.get(stage, StageRules())
        extra = rules.by_risk_class.get(risk_class, ()) if risk_class is not None else ()
        return rules.rules + extra

    def to_json(self) -> dict[str, Any]:
        """The document in its canonical JSON form (parses back to an equal Policy)."""

        def listed(rules: tuple[Rule, ...]) -> list[dict[str, str]]:
            return [
                {"name": r.name, "expression": r.expression, "message": r.message} for r in rules
            ]

        stages: dict[str, Any] = {}
        for stage, rules in self.stages.items():
            entry: dict[str, Any] = {"rules": listed(rules.rules)}
            if rules.by_risk_class:
                entry["risk_classes"] = {k: listed(v) for k, v in rules.by_risk_class.items()}
            stages[stage] = entry
        return {"name": self.name, "description": self.description, "stages": stages}


def parse_policy(text: str) -> Policy:
    """Parses and compiles a YAML policy document. Raises PolicyInvalid."""
    if not isinstance(text, str):
        raise PolicyInvalid("a policy document is YAML text")
    if len(text) > MAX_DOCUMENT:
        raise PolicyInvalid(f"the document is longer than {MAX_DOCUMENT} characters")
    try:
        # _Loader is a SafeLoader: safe_load with the stricter checks below.
        document = yaml.load(text, Loader=_Loader)
    except yaml.MarkedYAMLError as error:
        mark = error.problem_mark or error.context_mark
        line, column = (mark.line + 1, mark.column + 1) if mark else (None, None)
        reason = error.problem or error.context or "not YAML"
        raise PolicyInvalid(f"YAML: {reason}", line=line, column=column) from None
    except yaml.YAMLError as error:
        raise PolicyInvalid(f"YAML: {error}") from None
    return from_json(document)


def from_json(document: Any) -> Policy:
    """A Policy from an already parsed document (the shape `to_json` gives)."""
    body = _mapping(document, "the document", {"name", "description", "stages"})
    name = body.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise PolicyInvalid("name: 1-64 of a-z, 0-9, _ and -, starting with a letter or digit")
    description = body.get("description", "")
    if not isinstance(description, str) or len(description) > MAX_DESCRIPTION:
        raise PolicyInvalid(f"description: a string of at most {MAX_DESCRIPTION} characters")
    stages = _mapping(body.get("stages", {}), "stages", set(PROMOTABLE))
    return Policy(
        name=name,
        description=description,
        stages=MappingProxyType(
            {stage: _stage(stage, stages[stage]) for stage in PROMOTABLE if stage in stages}
        ),
    )


def _stage(stage: str, value: Any) -> StageRules:
    body = _mapping(value, f"stages.{stage}", {"rules", "risk_classes"})
    seen: set[str] = set()
    rules = _rules(body.get("rules", []), f"stages.{stage}.rules", seen)
    classes = _mapping(body.get("risk_classes", {}), f"stages.{stage}.risk_classes", RISK_CLASSES)
    by_class = {
        risk: _rules(classes[risk], f"stages.{stage}.risk_classes.{risk}", seen)
        for risk in RISK_CLASSES
        if risk in classes
    }
    return StageRules(rules=rules, by_risk_class=MappingProxyType(by_class))


def _rules(value: Any, where: str, seen: set[str]) -> tuple[Rule, ...]:
    if value is None:
        return ()
    if not isinstance(value, list):
        raise PolicyInvalid(f"{where}: a list of rules")
    if len(seen) + len(value) > MAX_RULES:
        raise PolicyInvalid(f"{where}: more than {MAX_RULES} rules in the stage")
    rules = []
    for index, item in enumerate(value):
        rule = _rule(item, f"{where}[{index}]")
        if rule.name in seen:
            raise PolicyInvalid("the name is used twice in the stage", rule=rule.name)
        seen.add(rule.name)
        rules.append(rule)
    return tuple(rules)


def _rule(value: Any, where: str) -> Rule:
    body = _mapping(value, where, {"name", "expression", "message"})
    name = body.get("name")
    if not isinstance(name, str) or not NAME.match(name):
        raise PolicyInvalid(f"{where}.name: 1-64 of a-z, 0-9, _ and -")
    expression = body.get("expression")
    if not isinstance(expression, str):
        raise PolicyInvalid("expression: a string (quote it in YAML)", rule=name)
    message = body.get("message")
    if not isinstance(message, str) or not message.strip() or len(message) > MAX_MESSAGE:
        raise PolicyInvalid(f"message: 1-{MAX_MESSAGE} characters", rule=name)
    try:
        compiled = cel.compile_expression(expression, NAMES)
    except cel.ExpressionInvalid as error:
        raise PolicyInvalid(
            error.message, rule=name, line=error.line, column=error.column
        ) from None
    return Rule(name=name, expression=expression, message=message, compiled=compiled)


def _mapping(value: Any, where: str, allowed: set[str] | tuple[str, ...]) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise PolicyInvalid(f"{where}: a mapping")
    unknown = sorted(str(k) for k in value if k not in allowed)
    if unknown:
        raise PolicyInvalid(f"{where}: unknown key {unknown[0]!r}; allowed: {sorted(allowed)}")
    return value


class _Loader(yaml.SafeLoader):
    """safe_load, refusing aliases (exponential expansion), nesting deeper than a policy
    needs (the composer recurses) and duplicate keys."""

    depth = 0

    def compose_node(self, parent: Any, index: Any) -> Any:
        mark = self.peek_event().start_mark
        if self.check_event(yaml.AliasEvent):
            raise PolicyInvalid(
                "YAML aliases are not allowed", line=mark.line + 1, column=mark.column + 1
            )
        if self.depth >= MAX_NESTING:
            raise PolicyInvalid(
                f"YAML nests deeper than {MAX_NESTING}", line=mark.line + 1, column=mark.column + 1
            )
        self.depth += 1
        try:
            return super().compose_node(parent, index)
        finally:
            self.depth -= 1

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        keys = set()
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=deep)
            if isinstance(key, list | dict) or key in keys:
                mark = key_node.start_mark
                raise PolicyInvalid(
                    f"YAML key {key!r} is repeated or not a scalar",
                    line=mark.line + 1,
                    column=mark.column + 1,
                )
            keys.add(key)
        return super().construct_mapping(node, deep=deep)
