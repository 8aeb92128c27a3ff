"""Who may do what: roles granted to principals on scopes, as events.

One aggregate holds every grant of the registry, so grants and revocations are ordered in
the log with the commands they govern: "who could approve production models of team X on
date T" is a fold of its events up to T. A principal is `user:<subject>` (a person or a
service account, by its normalised id) or `group:<name>`; a scope is the registry, one
model (by id, so a grant follows a rename) or a name prefix (a team's models).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from services.registry.domain.errors import Conflict, NotFound
from services.registry.domain.values import Context

ACCESS_ID = uuid5(NAMESPACE_URL, "registrum:access")


class Permission(StrEnum):
    READ = "read"
    CONTRIBUTE = "contribute"
    REVIEW = "review"
    RELEASE_STAGING = "release:staging"
    RELEASE_PRODUCTION = "release:production"
    ADMINISTER = "administer"


P = Permission
# The right to promote to each stage (staging and production are separate rights).
RELEASE: dict[str, Permission] = {"staging": P.RELEASE_STAGING, "production": P.RELEASE_PRODUCTION}
# Owners administer (grants, deletion, renames) but neither review nor release: an owner
# who wants to sign off grants themselves reviewer first, and the log shows it.
ROLE_PERMISSIONS: dict[str, frozenset[Permission]] = {
    "reader": frozenset({P.READ}),
    "contributor": frozenset({P.READ, P.CONTRIBUTE}),
    "reviewer": frozenset({P.READ, P.REVIEW}),
    "releaser:staging": frozenset({P.READ, P.RELEASE_STAGING}),
    "releaser:production": frozenset({P.READ, P.RELEASE_PRODUCTION}),
    "owner": frozenset({P.READ, P.CONTRIBUTE, P.ADMINISTER}),
}
ROLES = tuple(ROLE_PERMISSIONS)
REGISTRY, MODEL, PREFIX = "registry", "model", "prefix"


@dataclass(frozen=True)
class Target:
    """What a permission is needed on: the registry itself (registry=True), an existing
    model (its id and current name), a name no model holds yet, or a name prefix."""

    registry: bool = False
    model_id: UUID | None = None
    name: str | None = None
    prefix: str | None = None
    new: bool = False  # a name no model may hold yet (a registration, a rename's target)

    def __str__(self) -> str:
        if self.registry:
            return "the registry"
        if self.prefix is not None:
            return f"models named {self.prefix}*"
        return f"model {self.name}"

    def covered_by(self, kind: str, value: str) -> bool:
        """Whether a grant on scope (kind, value) reaches this target."""
        if kind == REGISTRY:
            return True
        if self.registry:
            return False
        if kind == MODEL:
            return self.model_id is not None and str(self.model_id) == value
        if self.prefix is not None:
            return self.prefix.startswith(value)
        return self.name is not None and self.name.startswith(value)


def grant_key(principal: str, role: str, kind: str, value: str) -> str:
    return f"{principal}|{role}|{kind}:{value}"


class AccessPolicy(Aggregate):
    """Every grant in force, by principal. Created by the first grant."""

    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class AccessOpened(Aggregate.Created, Event):
        def apply(self, policy: AccessPolicy) -> None:
            policy.grants = {}

    class RoleGranted(Event):
        principal: str
        role: str
        scope_kind: str
        scope_value: str
        scope_label: str  # what the grant named: the model's name at the time

        def apply(self, policy: AccessPolicy) -> None:
            key = grant_key(self.principal, self.role, self.scope_kind, self.scope_value)
            policy.grants.setdefault(self.principal, {})[key] = {
                "principal": self.principal,
                "role": self.role,
                "scope_kind": self.scope_kind,
                "scope_value": self.scope_value,
                "scope": self.scope_label,
                "granted_by": self.actor,
                "granted_at": self.timestamp.isoformat(),
            }

    class RoleRevoked(Event):
        principal: str
        role: str
        scope_kind: str
        scope_value: str

        def apply(self, policy: AccessPolicy) -> None:
            key = grant_key(self.principal, self.role, self.scope_kind, self.scope_value)
            held = policy.grants.get(self.principal, {})
            held.pop(key, None)
            if not held:
                policy.grants.pop(self.principal, None)

    if TYPE_CHECKING:
        grants: dict[str, dict[str, dict[str, Any]]]

    @classmethod
    def open(cls, ctx: Context) -> AccessPolicy:
        return cls._create(cls.AccessOpened, id=ACCESS_ID, **ctx.fields())

    # -- decisions ---------------------------------------------------------------------

    def grant(
        self, principal: str, role: str, kind: str, value: str, label: str, ctx: Context
    ) -> dict[str, Any]:
        """Gives the role; granting what is already held changes nothing."""
        key = grant_key(principal, role, kind, value)
        if key not in self.grants.get(principal, {}):
            self.trigger_event(
                self.RoleGranted,
                principal=principal,
                role=role,
                scope_kind=kind,
                scope_value=value,
                scope_label=label,
                **ctx.fields(),
            )
        return self.grants[principal][key]

    def revoke(self, principal: str, role: str, kind: str, value: str, ctx: Context) -> None:
        key = grant_key(principal, role, kind, value)
        if key not in self.grants.get(principal, {}):
            raise NotFound(f"{principal} holds no {role} there", principal=principal, role=role)
        if role == "owner" and kind == REGISTRY and len(self.registry_owners()) == 1:
            raise Conflict(
                "this is the registry's last owner; grant owner to someone else first",
                principal=principal,
            )
        self.trigger_event(
            self.RoleRevoked,
            principal=principal,
            role=role,
            scope_kind=kind,
            scope_value=value,
            **ctx.fields(),
        )

    # -- questions ---------------------------------------------------------------------

    def held_by(self, principals: Iterable[str]) -> list[dict[str, Any]]:
        """The grants any of principals holds."""
        return [g for p in principals for g in self.grants.get(p, {}).values()]

    def holds(self, principals: Iterable[str], permission: Permission, target: Target) -> bool:
        return any(
            permission in ROLE_PERMISSIONS[g["role"]]
            and target.covered_by(g["scope_kind"], g["scope_value"])
            for g in self.held_by(principals)
        )

    def roles_on(self, principals: Iterable[str], target: Target) -> tuple[str, ...]:
        """The roles any of principals holds that reach target."""
        return tuple(
            sorted(
                {
                    g["role"]
                    for g in self.held_by(principals)
                    if target.covered_by(g["scope_kind"], g["scope_value"])
                }
            )
        )

    def names_models(self, principals: Iterable[str]) -> bool:
        """Whether any of principals holds a grant on one model (so a check needs the
        model's id)."""
        return any(g["scope_kind"] == MODEL for g in self.held_by(principals))

    def registry_owners(self) -> list[str]:
        return [
            g["principal"]
            for held in self.grants.values()
            for g in held.values()
            if g["role"] == "owner" and g["scope_kind"] == REGISTRY
        ]

    def all_grants(self) -> list[dict[str, Any]]:
        return [g for held in self.grants.values() for g in held.values()]
