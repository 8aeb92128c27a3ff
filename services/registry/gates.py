"""Promotion gates at work: the facts of a version at its promotion, and the policy in
force evaluated against them (services/policy is the pure evaluator).

The facts are what the registry knows then: metrics, the model card and its risk class,
lineage, the approvals that count with the roles each approver held on the model, and
the artefact's digest with whether the registry re-hashed the stored bytes just now.
Each approval carries the roles its approver held on the model when signing off (recorded
in ApprovalGranted); approvals from before gates existed carry none.
"""

from __future__ import annotations

import functools
from datetime import UTC, datetime
from typing import Any

from services.artifacts.verify import CannotVerify, verify_version
from services.policy.document import Policy, parse_policy
from services.policy.errors import FactsInvalid
from services.policy.evaluate import Evaluation, evaluate
from services.policy.facts import RISK_CLASSES, Approval, Artifact, Facts, Lineage
from services.registry.domain.errors import InvalidInput
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Stage
from services.registry.domain.version import ModelVersion
from services.registry.summaries import version_summary

_LINEAGE = {"dataset": "datasets", "code": "code", "run": "runs", "model_version": "parents"}


@functools.lru_cache(maxsize=16)
def parsed(document: str) -> Policy:
    """A published document, parsed once per process (it parsed when it was published)."""
    return parse_policy(document)


def risk_class(card: dict[str, Any]) -> str | None:
    """The EU AI Act class the model card states, if it states a known one."""
    risk = card.get("risk")
    value = risk.get("class") if isinstance(risk, dict) else None
    return value if value in RISK_CLASSES else None


def artifact(version: ModelVersion, model: RegisteredModel, scope_artifacts: Any) -> Artifact:
    """The version's digest, and whether its stored bytes hash to it now."""
    summary = version_summary(model, version)
    digest = summary.get("sha256")
    try:
        checked = verify_version(summary, scope_artifacts)
    except CannotVerify:
        return Artifact(digest=digest, verified=False)
    return Artifact(digest=digest, verified=bool(checked["ok"]), verified_at=datetime.now(UTC))


def facts(
    model: RegisteredModel,
    version: ModelVersion,
    stage: Stage,
    request: dict[str, Any] | None,
    checked: Artifact,
) -> Facts:
    lineage: dict[str, list[str]] = {name: [] for name in _LINEAGE.values()}
    for ref in version.lineage:
        if ref.get("kind") in _LINEAGE:
            lineage[_LINEAGE[ref["kind"]]].append(str(ref["id"]))
    if version.run_id and version.run_id not in lineage["runs"]:
        lineage["runs"].append(version.run_id)
    # Each approval with the roles its approver held on the model when signing off.
    approvals = tuple(
        Approval(
            subject=a["actor"],
            roles=tuple(a.get("roles", ())),
            at=datetime.fromisoformat(a["at"]),
        )
        for a in (request or {}).get("approvals", [])
        if not a.get("override")
    )
    try:
        return Facts(
            stage_from=model.stage_of(version.number).value,
            stage_to=stage.value,
            metrics=dict(version.metrics),
            model_card=dict(version.model_card),
            risk_class=risk_class(version.model_card),
            lineage=Lineage(**{k: tuple(v) for k, v in lineage.items()}),
            approvals=approvals,
            artifact=checked,
            tags=dict(version.tags),
        )
    except FactsInvalid as exc:
        raise InvalidInput(f"the version's facts cannot be evaluated: {exc}") from None


def evaluation(published: dict[str, Any] | None, stage: Stage, found: Facts) -> Evaluation | None:
    """The policy in force (as published) evaluated for stage; None without a policy."""
    if published is None:
        return None
    return evaluate(parsed(published["document"]), stage.value, found, version=published["version"])
