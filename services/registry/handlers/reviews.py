"""Handlers of approvals, stages and aliases: request approval, approve, reject,
withdraw, promote, archive, set and remove an alias."""

from __future__ import annotations

import uuid

from schemas import commands as c
from services.registry.domain import rules, values
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context, promotable_stage
from services.registry.execution import Decide
from services.registry.handlers.base import handles, on_model, on_version
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
        command.model,
        command.version,
        lambda m, v: rules.request_approval(m, v, request_id, stage, required, ctx),
    )


@handles(c.Approve)
def approve(command: c.Approve, ctx: Context, scope: Scope) -> Decide:
    return on_version(
        scope, command.model, command.version, lambda m, v: v.approve(command.request_id, ctx)
    )


@handles(c.Reject)
def reject(command: c.Reject, ctx: Context, scope: Scope) -> Decide:
    return on_version(
        scope, command.model, command.version, lambda m, v: v.reject(command.request_id, ctx)
    )


@handles(c.Withdraw)
def withdraw(command: c.Withdraw, ctx: Context, scope: Scope) -> Decide:
    # A requester may withdraw even after the version was archived.
    return on_version(
        scope,
        command.model,
        command.version,
        lambda m, v: v.withdraw(command.request_id, ctx),
        check_live=False,
    )


@handles(c.Promote)
def promote(command: c.Promote, ctx: Context, scope: Scope) -> Decide:
    stage = promotable_stage(command.stage)
    # An archived version may come back, through a new approval.
    return on_version(
        scope,
        command.model,
        command.version,
        lambda m, v: rules.promote(m, v, stage, ctx),
        check_live=False,
        saves_model=True,
    )


@handles(c.Archive)
def archive(command: c.Archive, ctx: Context, scope: Scope) -> Decide:
    return on_version(
        scope,
        command.model,
        command.version,
        lambda m, v: m.archive(v.number, ctx),
        check_live=False,
        saves_model=True,
    )


@handles(c.SetAlias)
def set_alias(command: c.SetAlias, ctx: Context, scope: Scope) -> Decide:
    alias = values.check_alias(command.alias)

    return on_version(
        scope,
        command.model,
        command.version,
        lambda m, v: m.assign_alias(alias, v.number, ctx),
        check_live=False,
        saves_model=True,
    )


@handles(c.RemoveAlias)
def remove_alias(command: c.RemoveAlias, ctx: Context, scope: Scope) -> Decide:
    return on_model(scope, command.model, lambda m: m.remove_alias(command.alias, ctx))
