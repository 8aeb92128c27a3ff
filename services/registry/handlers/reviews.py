"""Handlers of approvals, stages and aliases: request approval, approve, reject,
withdraw, promote, archive, set and remove an alias."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from schemas import commands as c
from services.policy.facts import Artifact
from services.registry import gates
from services.registry.domain import rules, values
from services.registry.domain.access import Target
from services.registry.domain.errors import InvalidInput
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context, promotable_stage
from services.registry.domain.version import ModelVersion
from services.registry.execution import Decide, Decision
from services.registry.handlers.base import handles, on_model, on_stage, on_version
from services.registry.scope import Scope
from services.registry.summaries import version_summary

Gate = Callable[[dict[str, Any]], dict[str, Any] | None]


def _required(asked: int | None, scope: Scope) -> int:
    required = asked or scope.required_approvals
    if not 1 <= required <= 10:
        raise InvalidInput("required_approvals is between 1 and 10", field="required_approvals")
    if required < scope.required_approvals:
        raise InvalidInput(
            f"this registry requires at least {scope.required_approvals} approvals",
            field="required_approvals",
        )
    return required


def _request_id(ctx: Context) -> str:
    # The request id derives from the command id when there is one, so a retried
    # request names the same request.
    if ctx.command_id:
        return str(uuid.uuid5(uuid.NAMESPACE_URL, f"registrum:request:{ctx.command_id}"))
    return str(uuid.uuid4())


@handles(c.RequestApproval)
def request_approval(command: c.RequestApproval, ctx: Context, scope: Scope) -> Decide:
    stage = promotable_stage(command.stage)
    required = _required(command.required_approvals, scope)
    request_id = _request_id(ctx)
    return on_version(
        scope,
        command,
        lambda m, v: rules.request_approval(m, v, request_id, stage, required, ctx),
    )


@handles(c.RequestAliasApproval)
def request_alias_approval(command: c.RequestAliasApproval, ctx: Context, scope: Scope) -> Decide:
    alias = values.check_alias(command.alias)
    required = _required(command.required_approvals, scope)
    request_id = _request_id(ctx)
    return on_version(
        scope,
        command,
        lambda m, v: rules.request_alias_approval(m, v, request_id, alias, required, ctx),
    )


def _decision(name: str, check_live: bool = True) -> Callable[..., Decide]:
    """The handler of a decision on a request: the version's method of that name."""

    def handle(command: c.OnRequest, ctx: Context, scope: Scope) -> Decide:
        def decide(model: object, version: ModelVersion) -> None:
            getattr(version, name)(command.request_id, ctx)

        return on_version(scope, command, decide, check_live=check_live)

    return handle


@handles(c.Approve)
def approve(command: c.Approve, ctx: Context, scope: Scope) -> Decide:
    def decide(model: RegisteredModel, version: ModelVersion) -> None:
        # What the approver held on this model when signing off, for the gates and the
        # record (grants change later; the log keeps this).
        access = scope.current_access()
        target = Target(model_id=model.id, name=model.name)
        roles = access.roles_on(ctx.principals, target) if access is not None else ()
        version.approve(command.request_id, ctx, roles=roles, override=command.override)

    return on_version(scope, command, decide)


handles(c.Reject)(_decision("reject"))
# A requester may withdraw even after the version was archived.
handles(c.Withdraw)(_decision("withdraw", check_live=False))


@handles(c.Promote)
def promote(command: c.Promote, ctx: Context, scope: Scope) -> Decide:
    stage = promotable_stage(command.stage)
    # The artefact is re-hashed once per command, not again on a retry after a conflict.
    checked: dict[str, Artifact] = {}

    def gate(model: RegisteredModel, version: ModelVersion) -> Gate:
        def evaluate(request: dict[str, Any]) -> dict[str, Any] | None:
            published = scope.published_policy()
            if published is None:
                return None
            if "artifact" not in checked:
                checked["artifact"] = gates.artifact(version, model, scope.artifacts)
            found = gates.facts(model, version, stage, request, checked["artifact"])
            verdict = gates.evaluation(published, stage, found)
            return verdict.to_json() if verdict is not None else None

        return evaluate

    if command.dry_run:
        return lambda: Decision([], lambda: dry_run(scope, command, stage, gate))

    def decide() -> Decision:
        model = scope.model(command.model)
        version = scope.version(model, command.version)
        # An archived version may come back, through a new approval.
        evaluation = rules.promote(model, version, stage, ctx, gate(model, version))
        return Decision(
            [model], lambda: {**version_summary(model, version), "evaluation": evaluation}
        )

    return decide


def dry_run(
    scope: Scope,
    command: c.Promote,
    stage: values.Stage,
    gate: Callable[[RegisteredModel, ModelVersion], Gate],
) -> dict[str, Any]:
    """What promoting would do now: the approval it would use and the gates' verdict;
    nothing is recorded."""
    model = scope.model(command.model)
    version = scope.version(model, command.version)
    model.version_entry(version.number)
    request = version.approved_request(stage, model.used_requests)
    evaluation = gate(model, version)(request or {"approvals": []})
    overrides = [a["actor"] for a in (request or {}).get("approvals", []) if a.get("override")]
    passes = evaluation is None or evaluation["passed"] or bool(overrides)
    return {
        "dry_run": True,
        "model": model.name,
        "version": version.number,
        "stage": stage.value,
        "from_stage": model.stage_of(version.number).value,
        "approved_request": request["id"] if request else None,
        "would_promote": request is not None and passes,
        "evaluation": evaluation,
        "overridden_by": overrides if evaluation and not evaluation["passed"] else [],
    }


@handles(c.Archive)
def archive(command: c.Archive, ctx: Context, scope: Scope) -> Decide:
    return on_stage(scope, command, lambda m, v: m.archive(v.number, ctx))


@handles(c.SetAlias)
def set_alias(command: c.SetAlias, ctx: Context, scope: Scope) -> Decide:
    alias = values.check_alias(command.alias)

    return on_stage(scope, command, lambda m, v: rules.assign_alias(m, v, alias, ctx))


@handles(c.ProtectAlias)
def protect_alias(command: c.ProtectAlias, ctx: Context, scope: Scope) -> Decide:
    alias = values.check_alias(command.alias)
    return on_model(scope, command.model, lambda m: m.protect_alias(alias, command.protected, ctx))


@handles(c.RemoveAlias)
def remove_alias(command: c.RemoveAlias, ctx: Context, scope: Scope) -> Decide:
    return on_model(scope, command.model, lambda m: m.remove_alias(command.alias, ctx))
