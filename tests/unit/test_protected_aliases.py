"""Protected aliases, through the real dispatcher on in-memory persistence: an alias an
owner protects (champion) moves only through an approved request, like a promotion; each
approval moves it once; it cannot be removed while protected."""

from __future__ import annotations

import pytest

from schemas import commands as c
from services.registry.application import Registry
from services.registry.domain.errors import Conflict, Forbidden, NotApproved, RuleBroken
from tests.fakes.registry import memory_registry
from tests.people import grant, person, stranger

ALICE, BOB, CAROL = person("alice"), person("bob"), person("carol")


@pytest.fixture
def registry() -> Registry:
    registry = memory_registry()
    registry.handle(c.RegisterModel(name="fraud"), ALICE)
    for i in (1, 2):
        registry.handle(c.RegisterVersion(model="fraud", artifact_uri=f"s3://m/{i}"), ALICE)
    registry.handle(c.SetAlias(model="fraud", alias="champion", version=1), CAROL)
    registry.handle(c.ProtectAlias(model="fraud", alias="champion"), ALICE)
    return registry


def signed_off(registry: Registry, number: int) -> str:
    asked = registry.handle(
        c.RequestAliasApproval(model="fraud", version=number, alias="champion"), ALICE
    )
    request = asked.result["approval_requests"][-1]
    assert request["stage"] == "alias:champion"
    registry.handle(c.Approve(model="fraud", version=number, request_id=request["id"]), BOB)
    return str(request["id"])


def champion(registry: Registry) -> int:
    return int(registry.get_model("fraud")["aliases"]["champion"])


def test_a_protected_alias_moves_only_on_an_approved_request(registry: Registry) -> None:
    with pytest.raises(NotApproved, match="protected"):
        registry.handle(c.SetAlias(model="fraud", alias="champion", version=2), CAROL)
    assert champion(registry) == 1
    signed_off(registry, 2)
    registry.handle(c.SetAlias(model="fraud", alias="champion", version=2), CAROL)
    assert champion(registry) == 2
    # The approval was used up: moving it back needs another.
    with pytest.raises(NotApproved):
        registry.handle(c.SetAlias(model="fraud", alias="champion", version=1), CAROL)


def test_the_requester_cannot_approve_the_move(registry: Registry) -> None:
    asked = registry.handle(
        c.RequestAliasApproval(model="fraud", version=2, alias="champion"), ALICE
    )
    request_id = asked.result["approval_requests"][-1]["id"]
    from services.registry.domain.errors import SelfApproval

    with pytest.raises(SelfApproval):
        registry.handle(c.Approve(model="fraud", version=2, request_id=request_id), ALICE)


def test_a_protected_alias_is_not_removed_and_plain_ones_need_no_request(
    registry: Registry,
) -> None:
    with pytest.raises(RuleBroken, match="unprotect"):
        registry.handle(c.RemoveAlias(model="fraud", alias="champion"), CAROL)
    with pytest.raises(Conflict, match="not protected"):
        registry.handle(c.RequestAliasApproval(model="fraud", version=2, alias="challenger"), ALICE)
    registry.handle(c.SetAlias(model="fraud", alias="challenger", version=2), CAROL)
    # Unprotected by an owner, champion is a plain alias again.
    registry.handle(c.ProtectAlias(model="fraud", alias="champion", protected=False), ALICE)
    registry.handle(c.SetAlias(model="fraud", alias="champion", version=2), CAROL)
    assert champion(registry) == 2


def test_only_owners_protect_aliases(registry: Registry) -> None:
    releaser = stranger("rob")
    grant(registry, "user:rob", "releaser:production")
    with pytest.raises(Forbidden) as refused:
        registry.handle(c.ProtectAlias(model="fraud", alias="challenger"), releaser)
    assert refused.value.details["permission"] == "administer"
