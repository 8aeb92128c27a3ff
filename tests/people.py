"""People and pipelines in tests: authenticated principals, their grants, their tokens.

Tests about other things act as members of the `testers` group, which holds every role on
the registry (`open_to_testers`); separation of duties still applies to them, by subject.
Tests about access control use principals outside that group (`stranger`).
"""

from __future__ import annotations

import asyncio
from datetime import timedelta
from typing import Any

from schemas import commands as c
from schemas.rules import ROLES
from services.auth import tokens
from services.auth.authenticate import Authenticator
from services.auth.identity import Kind, Principal, normalise
from services.registry.application import SYSTEM

TESTERS = "testers"
READERS = "readers"  # a group that holds reader on the registry, and nothing else


def person(name: str, *groups: str, kind: Kind = "user") -> Principal:
    """name as an authenticated subject in the testers group (or in groups)."""
    return Principal(
        subject=normalise(name),
        display_name=name,
        kind=kind,
        groups=frozenset(groups or (TESTERS,)),
    )


def stranger(name: str, *groups: str, kind: Kind = "user") -> Principal:
    """name holding nothing but what is granted to it (or to groups) by the test."""
    return Principal(
        subject=normalise(name), display_name=name, kind=kind, groups=frozenset(groups)
    )


def open_to_testers(registry: Any) -> None:
    """Gives the testers group every role on the registry, and the readers group reader
    (once per store)."""
    registry.handle(
        c.GrantRole(principal=f"group:{READERS}", role="reader", command_id="tests:readers:reader"),
        SYSTEM,
    )
    for role in ROLES:
        grant = c.GrantRole(
            principal=f"group:{TESTERS}",
            role=role,
            scope="registry",
            command_id=f"tests:testers:{role}",
        )
        registry.handle(grant, SYSTEM)


def grant(registry: Any, principal: str, role: str, scope: str = "registry") -> None:
    registry.handle(c.GrantRole(principal=principal, role=role, scope=scope), SYSTEM)


async def token_for(
    store: tokens.TokenStore, name: str, *groups: str, kind: Kind = "user", days: int = 1
) -> str:
    """A fresh API token for name, in the testers group unless groups are given."""
    issued = tokens.issue(
        normalise(name),
        display_name=name,
        kind=kind,
        lifetime=timedelta(days=days),
        created_by="tests",
        groups=groups or (TESTERS,),
    )
    await store.add(issued.record)
    return issued.secret


def bearer(secret: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {secret}"}


class Badges:
    """API tokens for people, kept in memory, for an in-process app to authenticate
    against (the token store itself has its own contract test against PostgreSQL)."""

    def __init__(self) -> None:
        self.store = tokens.MemoryTokenStore()
        self._secrets: dict[tuple[str, tuple[str, ...], str], str] = {}

    def authenticator(self) -> Authenticator:
        return Authenticator(self.store)

    def token(self, name: str, *groups: str, kind: Kind = "user") -> str:
        key = (name, groups, kind)
        if key not in self._secrets:
            self._secrets[key] = asyncio.run(token_for(self.store, name, *groups, kind=kind))
        return self._secrets[key]

    def headers(self, name: str, *groups: str, kind: Kind = "user", **extra: str) -> dict[str, str]:
        return {**bearer(self.token(name, *groups, kind=kind)), **extra}
