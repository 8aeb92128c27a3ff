"""Handlers of approvals, stages and aliases: request approval, approve, reject,
withdraw, promote, archive, set and remove an alias."""

from __future__ import annotations

import uuid
from collections.abc import Callable

from schemas import commands as c
from services.registry.domain import rules, values
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context, promotable_stage
from services.registry.domain.version import ModelVersion
from services.registry.execution import Decide
from services.registry.handlers.base import handles, on_model, on_stage, on_version
from services.registry.scope import Scope


@handles(c.RequestApproval)
def request_approval(command: c.RequestApproval, ctx: Context, scope: Scope) -> Decide:
    stage = promotable_stage(command.stage)
    required = command.required_approvals or scope.required_approvals
    if not 1 <= required <= 10:
        raise InvalidInput("required_approvals is between 1 and 10", field="required_approvals")
    if required < scope.required_approvals:
        raise InvalidInput(
            f"this registry requires at least {scope.required_approvals} approvals",
            field="required_approvals",
        )
    # The request id derives from the command id when there is one, so a retried
    # request names the same request.
    request_id = (
        str(uuid.uuid5(uuid.NAMESPACE_URL, f"registrum:request:{ctx.command_id}"))
        if ctx.command_id
        else str(uuid.uuid4())
    )
    return on_version(
        scope,
        command,
        lambda m, v: rules.request_approval(m, v, request_id, stage, required, ctx),
    )


def _decision(name: str, check_live: bool = True) -> Callable[..., Decide]:
    """The handler of a decision on a request: the version's method of that name."""

    def handle(command: c.OnRequest, ctx: Context, scope: Scope) -> Decide:
        def decide(model: object, version: ModelVersion) -> None:
            getattr(version, name)(command.request_id, ctx)

        return on_version(scope, command, decide, check_live=check_live)

    return handle


handles(c.Approve)(_decision("approve"))
handles(c.Reject)(_decision("reject"))
# A requester may withdraw even after the version was archived.
handles(c.Withdraw)(_decision("withdraw", check_live=False))


@handles(c.Promote)
def promote(command: c.Promote, ctx: Context, scope: Scope) -> Decide:
    stage = promotable_stage(command.stage)
    # An archived version may come back, through a new approval.
    return on_stage(scope, command, lambda m, v: rules.promote(m, v, stage, ctx))


@handles(c.Archive)
def archive(command: c.Archive, ctx: Context, scope: Scope) -> Decide:
    return on_stage(scope, command, lambda m, v: m.archive(v.number, ctx))


@handles(c.SetAlias)
def set_alias(command: c.SetAlias, ctx: Context, scope: Scope) -> Decide:
    alias = values.check_alias(command.alias)

    return on_stage(scope, command, lambda m, v: m.assign_alias(alias, v.number, ctx))


@handles(c.RemoveAlias)
def remove_alias(command: c.RemoveAlias, ctx: Context, scope: Scope) -> Decide:
    return on_model(scope, command.model, lambda m: m.remove_alias(command.alias, ctx))
