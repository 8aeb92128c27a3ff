"""Rules that span a model and one of its versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.registry.domain.errors import NotApproved, PolicyFailed
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion


def request_approval(
    model: RegisteredModel,
    version: ModelVersion,
    request_id: str,
    stage: Stage,
    required: int,
    ctx: Context,
) -> None:
    model.check_version_changeable(version.number)
    version.request_approval(request_id, stage, model.stage_of(version.number), required, ctx)


def promote(
    model: RegisteredModel,
    version: ModelVersion,
    stage: Stage,
    ctx: Context,
    gate: Callable[[dict[str, Any]], dict[str, Any] | None] | None = None,
) -> dict[str, Any] | None:
    """Moves version to stage on the strength of an approved, unused request for it and
    the gates of the policy in force (gate: the evaluation for that request, None without
    a policy). Failing gates refuse the promotion, unless an administrator signed the
    request off as an override: then it goes ahead, recorded as overridden. Returns the
    evaluation recorded."""
    model.version_entry(version.number)
    request = version.approved_request(stage, model.used_requests)
    if request is None:
        raise NotApproved(
            f"version {version.number} of {model.name!r} has no approved request for "
            f"{stage.value}; request approval and have it signed off first",
            stage=stage.value,
            version=version.number,
        )
    evaluation = gate(request) if gate is not None else None
    if evaluation is not None and not evaluation["passed"]:
        overrides = [a["actor"] for a in request["approvals"] if a.get("override")]
        if not overrides:
            raise policy_failed(evaluation, model.name, version.number)
        evaluation = {**evaluation, "overridden_by": overrides}
    model.record_promotion(
        version.number, stage, request["id"], request["approvals"], ctx, evaluation=evaluation
    )
    return evaluation


def policy_failed(evaluation: dict[str, Any], name: str, number: int) -> PolicyFailed:
    failed = [r for r in evaluation["rules"] if not r["passed"]]
    return PolicyFailed(
        f"version {number} of {name!r} fails {len(failed)} gate(s) of policy "
        f"{evaluation['policy']!r} v{evaluation['policy_version']}: "
        + "; ".join(f"{r['name']}: {r['message']}" for r in failed),
        policy=evaluation["policy"],
        policy_version=evaluation["policy_version"],
        failed=[{k: r[k] for k in ("name", "message", "saw", "missing", "error")} for r in failed],
    )
