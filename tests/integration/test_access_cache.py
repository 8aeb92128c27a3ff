"""Each registry process keeps the grants between commands: a grant or a revocation made
through another process counts from the next command on."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from schemas import commands as c
from services.bootstrap import build_registry
from services.registry.application import SYSTEM, Registry
from services.registry.domain.errors import Forbidden
from services.settings import Settings
from tests.people import stranger


@pytest.fixture
def other(database_url: str, registry: Registry) -> Iterator[Registry]:
    # (registry: the session's; other: a second process on the same store)
    second = build_registry(Settings(db_pool_size=2), database_url)
    yield second
    second.close()


def test_grants_and_revocations_through_another_process_count_at_once(
    registry: Registry, other: Registry, unique: str
) -> None:
    team = f"cache-{unique}-"
    dora = stranger(f"dora-{unique}")
    with pytest.raises(Forbidden):
        other.handle(c.RegisterModel(name=f"{team}a"), dora)  # (and now cached)
    grant = c.GrantRole(
        principal=f"user:{dora.subject}", role="contributor", scope=f"prefix:{team}"
    )
    registry.handle(grant, SYSTEM)
    other.handle(c.RegisterModel(name=f"{team}a"), dora)
    registry.handle(c.RevokeRole(**grant.model_dump(exclude={"type"})), SYSTEM)
    with pytest.raises(Forbidden):
        other.handle(c.RegisterModel(name=f"{team}b"), dora)


def test_a_grant_on_one_model_follows_it_through_a_rename(
    registry: Registry, other: Registry, unique: str
) -> None:
    old, new = f"named-{unique}", f"renamed-{unique}"
    erin = stranger(f"erin-{unique}")
    registry.handle(c.RegisterModel(name=old), SYSTEM)
    registry.handle(
        c.GrantRole(principal=f"user:{erin.subject}", role="contributor", scope=f"model:{old}"),
        SYSTEM,
    )
    registry.handle(c.RenameModel(model=old, new_name=new), SYSTEM)
    other.handle(c.TagModel(model=new, key="k", value="v"), erin)
    # The old name, now free, is not the model the grant was for.
    registry.handle(c.RegisterModel(name=old), SYSTEM)
    with pytest.raises(Forbidden):
        other.handle(c.TagModel(model=old, key="k", value="v"), erin)
