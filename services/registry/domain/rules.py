"""Rules that span a model and one of its versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.registry.domain.errors import Conflict, NotApproved, PolicyFailed
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion, alias_target


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


def request_alias_approval(
    model: RegisteredModel,
    version: ModelVersion,
    request_id: str,
    alias: str,
    required: int,
    ctx: Context,
) -> None:
    model.check_version_changeable(version.number)
    if alias not in model.protected_aliases:
        raise Conflict(
            f"alias {alias!r} of {model.name!r} is not protected; set it directly", alias=alias
        )
    version.request_alias_approval(request_id, alias, required, ctx)


def assign_alias(model: RegisteredModel, version: ModelVersion, alias: str, ctx: Context) -> bool:
    """Points alias at version; a protected alias uses an approved, unused request for it
    (and the request is used up)."""
    if alias not in model.protected_aliases:
        return model.assign_alias(alias, version.number, ctx)
    request = version.approved_request(alias_target(alias), model.used_requests)
    return model.assign_alias(
        alias, version.number, ctx, request_id=request["id"] if request else None
    )


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
