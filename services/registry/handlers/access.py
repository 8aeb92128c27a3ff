"""Handlers of grants: give a role to a principal on a scope, and take it back."""

from __future__ import annotations

from typing import Any

from schemas import commands as c
from services.auth.identity import BadSubject, normalise
from services.registry.domain.access import AccessPolicy
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import Context
from services.registry.execution import Decide, Decision
from services.registry.handlers.base import handles
from services.registry.scope import Scope


def principal_id(principal: str) -> str:
    """user:ID or group:NAME with the id case-folded, as grants keep it."""
    kind, _, name = principal.partition(":")
    if kind not in ("user", "group") or not name:
        raise InvalidInput("a principal is user:ID or group:NAME", field="principal")
    try:
        return f"{kind}:{normalise(name, kind)}"
    except BadSubject as error:
        raise InvalidInput(str(error), field="principal") from None


def _summary(grant: dict[str, Any], held: bool) -> dict[str, Any]:
    return {
        "principal": grant["principal"],
        "role": grant["role"],
        "scope": grant["scope"],
        "held": held,
    }


@handles(c.GrantRole)
def grant_role(command: c.GrantRole, ctx: Context, scope: Scope) -> Decide:
    principal = principal_id(command.principal)
    kind, value, label = scope.grant_scope(command.scope)

    def decide() -> Decision:
        policy = scope.access() or AccessPolicy.open(ctx)
        grant = policy.grant(principal, command.role, kind, value, label, ctx)
        return Decision([policy], lambda: _summary(grant, held=True))

    return decide


@handles(c.RevokeRole)
def revoke_role(command: c.RevokeRole, ctx: Context, scope: Scope) -> Decide:
    principal = principal_id(command.principal)
    kind, value, label = scope.grant_scope(command.scope)

    def decide() -> Decision:
        policy = scope.access() or AccessPolicy.open(ctx)
        policy.revoke(principal, command.role, kind, value, ctx)
        revoked = {"principal": principal, "role": command.role, "scope": label}
        return Decision([policy], lambda: _summary(revoked, held=False))

    return decide
