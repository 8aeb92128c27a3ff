"""The permission matrix, generated from the command union: every command, sent by a
subject holding exactly one role on the registry (or none), over REST and over Kafka, is
allowed or refused 403 `forbidden` naming the permission, exactly as SPEC says.

SPEC is written out here, apart from the rules in services/registry/permissions.py, so a
change to either shows; a command without a line in SPEC fails the first test.
"""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
import pytest
from fastapi.testclient import TestClient
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas import commands as c
from schemas.commands import COMMAND_TYPES
from schemas.rules import ROLES
from services.api.app import build_fastapi
from services.auth.authenticate import Authenticator
from services.auth.tokens import MemoryTokenStore
from services.bus.topics import COMMANDS, RESULTS
from services.intake.consumer import Intake
from services.registry.application import SYSTEM, Registry
from services.registry.domain import access
from services.registry.permissions import RULES
from tests.examples import EXAMPLES
from tests.fakes.registry import memory_registry
from tests.people import bearer, grant, token_for
from tests.unit.test_reachability import rest_request

NOBODY = "nobody-in-particular"
CONTRIBUTE = ("contributor", "owner")
# command -> (the permission it needs, the roles that give it on the registry)
SPEC: dict[str, tuple[str, tuple[str, ...]]] = {
    "RegisterModel": ("contribute", CONTRIBUTE),
    "RenameModel": ("administer", ("owner",)),
    "DescribeModel": ("contribute", CONTRIBUTE),
    "TagModel": ("contribute", CONTRIBUTE),
    "UntagModel": ("contribute", CONTRIBUTE),
    "DeleteModel": ("administer", ("owner",)),
    "RegisterVersion": ("contribute", CONTRIBUTE),
    "DescribeVersion": ("contribute", CONTRIBUTE),
    "TagVersion": ("contribute", CONTRIBUTE),
    "UntagVersion": ("contribute", CONTRIBUTE),
    "RecordMetrics": ("contribute", CONTRIBUTE),
    "LinkLineage": ("contribute", CONTRIBUTE),
    "UpdateModelCard": ("contribute", CONTRIBUTE),
    "AmendModelCard": ("contribute", CONTRIBUTE),
    "DeleteVersion": ("administer", ("owner",)),
    "RequestApproval": ("contribute", CONTRIBUTE),
    "RequestAliasApproval": ("contribute", CONTRIBUTE),
    "Approve": ("review", ("reviewer",)),
    "Reject": ("review", ("reviewer",)),
    "Withdraw": ("contribute", CONTRIBUTE),
    "Promote": ("release:production", ("releaser:production",)),  # the example's stage
    "Archive": ("release:production", ("releaser:production",)),
    "SetAlias": ("release:production", ("releaser:production",)),
    "RemoveAlias": ("release:production", ("releaser:production",)),
    "ProtectAlias": ("administer", ("owner",)),
    "GrantRole": ("administer", ("owner",)),
    "RevokeRole": ("administer", ("owner",)),
    "PublishPolicy": ("administer", ("owner",)),
}
HOLDINGS = (None, *ROLES)  # None: a subject holding no role at all


def test_every_command_has_a_line_in_the_spec_and_a_rule() -> None:
    assert sorted(SPEC) == COMMAND_TYPES
    assert sorted(kind.__name__ for kind in RULES) == COMMAND_TYPES
    # The roles of the contract are the domain's.
    assert ROLES == access.ROLES


def expected(kind: str, role: str | None) -> str | None:
    """The permission named in the refusal, or None when the command is allowed."""
    permission, roles = SPEC[kind]
    return None if role in roles else permission


def prepared(role: str | None) -> tuple[Registry, MemoryTokenStore, str]:
    """A registry holding model fraud with versions 1-3, and a token for a subject that
    holds role (only) on the registry."""
    registry = memory_registry(open=False)
    registry.handle(c.RegisterModel(name="fraud"), SYSTEM)
    for _ in range(3):
        registry.handle(c.RegisterVersion(model="fraud", artifact_uri="s3://m/f"), SYSTEM)
    store = MemoryTokenStore()
    subject = f"holder-of-{role or 'nothing'}".replace(":", "-")
    token = asyncio.run(token_for(store, subject, NOBODY))
    if role is not None:
        grant(registry, f"user:{subject}", role)
    return registry, store, token


def refused_for(status: int, error: dict[str, Any] | None) -> str | None:
    """The permission a refusal names, or None when it was not refused for want of one."""
    if status == 403 and error is not None and error["code"] == "forbidden":
        return str(error["details"]["permission"])
    return None


@pytest.mark.parametrize("role", HOLDINGS)
def test_rest(role: str | None) -> None:
    registry, store, token = prepared(role)
    app = build_fastapi()
    app.state.registry = registry
    app.state.authenticator = Authenticator(store)
    seen = {}
    with TestClient(app) as client:
        for kind in COMMAND_TYPES:
            method, path, body = rest_request(kind)
            response = client.request(method, path, json=body, headers=bearer(token))
            assert response.status_code < 500, response.text
            error = response.json().get("error")
            seen[kind] = refused_for(response.status_code, error)
    assert seen == {kind: expected(kind, role) for kind in COMMAND_TYPES}


@pytest.mark.parametrize("role", HOLDINGS)
def test_kafka(role: str | None) -> None:
    registry, store, token = prepared(role)
    intake = Intake(registry, Authenticator(store))
    bus = intake.attach("memory:9092")
    results: dict[str, dict[str, Any]] = {}

    async def collect(message: KafkaMessage) -> None:
        result = orjson.loads(message.body)
        results[result["type"]] = result

    bus.broker.subscriber(RESULTS)(collect)

    async def scenario() -> None:
        async with TestKafkaBroker(bus.broker) as broker:
            for kind in COMMAND_TYPES:
                document = EXAMPLES[kind].model_dump(mode="json") | {"command_id": f"{kind}-1"}
                await broker.publish(
                    orjson.dumps(document),
                    COMMANDS,
                    key=kind.encode(),
                    headers={"authorization": f"Bearer {token}"},
                )

    asyncio.run(scenario())
    seen = {
        kind: refused_for(403 if r["status"] == "rejected" else 200, r["error"])
        for kind, r in results.items()
    }
    assert seen == {kind: expected(kind, role) for kind in COMMAND_TYPES}


def test_the_allowed_commands_did_act() -> None:
    # Not only "not refused": with every role, the commands that can succeed on this state
    # did (the matrix above would also pass if everything failed for another reason).
    registry, store, token = prepared(None)
    for role in ROLES:
        grant(registry, "user:holder-of-nothing", role)
    app = build_fastapi()
    app.state.registry = cast(Registry, registry)
    app.state.authenticator = Authenticator(store)
    with TestClient(app) as client:
        for kind in ("TagModel", "RecordMetrics", "SetAlias", "GrantRole", "RegisterVersion"):
            method, path, body = rest_request(kind)
            response = client.request(method, path, json=body, headers=bearer(token))
            assert response.status_code in (200, 201), (kind, response.text)
    model = registry.get_model("fraud")
    assert (model["tags"], model["aliases"], model["latest_version"]) == (
        {"team": "risk"},
        {"champion": 3},
        4,
    )
