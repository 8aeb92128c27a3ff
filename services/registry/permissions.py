"""What each command needs, checked by the dispatcher before its handler decides.

One rule per command: the permissions it needs and on what (the registry, the model it
acts on, a new name, a grant's scope). A unit test fails when a command has no rule, and
the permission matrix test runs every command against every role over REST and Kafka.
Separation of duties rests on the authenticated subject: service accounts never review,
and the domain refuses a requester's or registrant's own sign-off.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from schemas import commands as c
from schemas.commands import Command
from services.auth import security_log
from services.auth.identity import Principal
from services.registry.domain.access import RELEASE, AccessPolicy, Permission, Target
from services.registry.domain.errors import Forbidden
from services.registry.scope import Scope

P = Permission
Need = tuple[Permission, Target]
Rule = Callable[[Any, Scope], list[Need]]


def _on_model(permission: Permission) -> Rule:
    # By name: the dispatcher looks the model's id up only when a grant on one model
    # could decide (most callers hold their rights on the registry or a prefix).
    return lambda command, scope: [(permission, Target(name=command.model))]


def _promote(command: c.Promote, scope: Scope) -> list[Need]:
    # Staging and production are separate rights; anything else the domain refuses, but
    # only after the strictest check.
    return [(RELEASE.get(command.stage, P.RELEASE_PRODUCTION), Target(name=command.model))]


def _approve(command: c.Approve, scope: Scope) -> list[Need]:
    # A break-glass override is an administrator's, on top of the reviewers' approvals.
    if command.override:
        return [(P.ADMINISTER, Target(registry=True))]
    return [(P.REVIEW, Target(name=command.model))]


def _rename(command: c.RenameModel, scope: Scope) -> list[Need]:
    return [
        (P.ADMINISTER, Target(name=command.model)),
        (P.CONTRIBUTE, Target(name=command.new_name, new=True)),
    ]


def _grant(command: c.GrantRole | c.RevokeRole, scope: Scope) -> list[Need]:
    kind, _, value = command.scope.partition(":")
    if kind == "model":
        return [(P.ADMINISTER, Target(name=value))]
    if kind == "prefix":
        return [(P.ADMINISTER, Target(prefix=value))]
    return [(P.ADMINISTER, Target(registry=True))]


RULES: dict[type[Command], Rule] = {
    c.RegisterModel: lambda command, scope: [(P.CONTRIBUTE, Target(name=command.name, new=True))],
    c.RenameModel: _rename,
    c.DescribeModel: _on_model(P.CONTRIBUTE),
    c.TagModel: _on_model(P.CONTRIBUTE),
    c.UntagModel: _on_model(P.CONTRIBUTE),
    c.DeleteModel: _on_model(P.ADMINISTER),
    c.RegisterVersion: _on_model(P.CONTRIBUTE),
    c.DescribeVersion: _on_model(P.CONTRIBUTE),
    c.TagVersion: _on_model(P.CONTRIBUTE),
    c.UntagVersion: _on_model(P.CONTRIBUTE),
    c.RecordMetrics: _on_model(P.CONTRIBUTE),
    c.LinkLineage: _on_model(P.CONTRIBUTE),
    c.UpdateModelCard: _on_model(P.CONTRIBUTE),
    c.AmendModelCard: _on_model(P.CONTRIBUTE),
    c.DeleteVersion: _on_model(P.ADMINISTER),
    c.RequestApproval: _on_model(P.CONTRIBUTE),
    c.RequestAliasApproval: _on_model(P.CONTRIBUTE),
    c.Approve: _approve,
    c.Reject: _on_model(P.REVIEW),
    # Only the requester may withdraw (a domain rule); they contributed to get there.
    c.Withdraw: _on_model(P.CONTRIBUTE),
    c.Promote: _promote,
    # Taking a version out of service, and pointing the aliases deployers resolve, are
    # release decisions.
    c.Archive: _on_model(P.RELEASE_PRODUCTION),
    c.SetAlias: _on_model(P.RELEASE_PRODUCTION),
    c.RemoveAlias: _on_model(P.RELEASE_PRODUCTION),
    # Which aliases need sign-off to move is governance: the model's owners decide.
    c.ProtectAlias: _on_model(P.ADMINISTER),
    c.GrantRole: _grant,
    c.RevokeRole: _grant,
    c.PublishPolicy: lambda command, scope: [(P.ADMINISTER, Target(registry=True))],
}


def principals(caller: Principal) -> list[str]:
    """The ids grants may name for caller: its subject and its groups."""
    return [f"user:{caller.subject}", *(f"group:{g}" for g in sorted(caller.groups))]


def authorise(command: Command, caller: Principal, scope: Scope, *, log: bool = True) -> None:
    """Raises Forbidden, naming the missing permission, unless caller may run command
    (and records the refusal in the security log, unless not to log: a check ahead)."""
    if caller.via == "system":
        return  # the registry's own start-up (the first administrator)
    rule = RULES.get(type(command))
    if rule is None:
        raise TypeError(f"no permission rule for {type(command).__name__}")
    needs = rule(command, scope)
    signs_off = isinstance(command, c.Approve)
    if (signs_off or any(p is P.REVIEW for p, _ in needs)) and caller.is_service:
        _refuse(command, caller, P.REVIEW, needs[0][1], "service accounts never review", log)
    policy = scope.current_access()
    ids = principals(caller)
    for permission, target in needs:
        if policy is None or not _holds(policy, ids, permission, target, scope):
            _refuse(command, caller, permission, target, f"{permission} on {target} is needed", log)


def _holds(
    policy: AccessPolicy, ids: list[str], permission: Permission, target: Target, scope: Scope
) -> bool:
    if policy.holds(ids, permission, target):
        return True
    if target.name is None or target.new or target.model_id or not policy.names_models(ids):
        return False
    # A grant on one model decides: look the model's id up (grants follow renames).
    return policy.holds(ids, permission, scope.target(target.name))


def _refuse(
    command: Command,
    caller: Principal,
    permission: Permission,
    target: Target,
    why: str,
    log: bool,
) -> None:
    kind = type(command).__name__
    if log:
        _log_refusal(command, caller, permission, target)
    raise Forbidden(
        f"{caller.subject} may not {kind}: {why}",
        permission=str(permission),
        on=str(target),
        subject=caller.subject,
    )


def _log_refusal(
    command: Command, caller: Principal, permission: Permission, target: Target
) -> None:
    kind = type(command).__name__
    security_log.record(
        "forbidden",
        subject=caller.subject,
        via=caller.via,
        command=kind,
        command_id=command.command_id,
        permission=str(permission),
        target=str(target),
    )
