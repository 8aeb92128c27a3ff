"""Separation of duties cannot be bypassed, over REST or Kafka: it rests on authenticated,
normalised subjects and on grants, not on names a client chooses.

Each scenario runs twice, through the REST API and through the Kafka intake, against the
same in-memory registry (the real dispatcher, handlers and domain).
"""

from __future__ import annotations

import asyncio
import itertools
from typing import Any

import orjson
import pytest
from fastapi.testclient import TestClient
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas import commands as c
from schemas.commands import Command
from services.api.app import build_fastapi
from services.auth.authenticate import Authenticator
from services.auth.tokens import MemoryTokenStore
from services.bus.topics import COMMANDS, RESULTS
from services.intake.consumer import Intake
from services.registry.application import SYSTEM, Registry
from tests.fakes.registry import memory_registry
from tests.people import bearer, grant, token_for
from tests.unit.test_reachability import rest_request_for

_ids = itertools.count()


class Rest:
    def __init__(self, registry: Registry, store: MemoryTokenStore) -> None:
        app = build_fastapi()
        app.state.registry = registry
        app.state.authenticator = Authenticator(store)
        self.client = TestClient(app)

    def send(self, token: str, command: Command) -> tuple[str, dict[str, Any]]:
        """("accepted", result) or (error code, details)."""
        method, path, body = rest_request_for(command)
        response = self.client.request(method, path, json=body, headers=bearer(token))
        payload = response.json()
        if response.status_code < 300:
            return "accepted", payload
        return payload["error"]["code"], payload["error"]["details"]


class Kafka:
    def __init__(self, registry: Registry, store: MemoryTokenStore) -> None:
        self.intake = Intake(registry, Authenticator(store))

    def send(self, token: str, command: Command) -> tuple[str, dict[str, Any]]:
        bus = self.intake.attach("memory:9092")
        answers: list[dict[str, Any]] = []

        async def collect(message: KafkaMessage) -> None:
            answers.append(orjson.loads(message.body))

        bus.broker.subscriber(RESULTS)(collect)
        document = command.model_dump(mode="json") | {"command_id": f"sod-{next(_ids)}"}

        async def scenario() -> None:
            async with TestKafkaBroker(bus.broker) as broker:
                await broker.publish(
                    orjson.dumps(document), COMMANDS, headers={"authorization": token}
                )

        asyncio.run(scenario())
        (answer,) = answers
        if answer["status"] == "accepted":
            return "accepted", answer["result"]
        return answer["error"]["code"], answer["error"]["details"]


class World:
    """A registry with model fraud (version 1 registered by `registrant`), people with
    tokens, and one entrypoint to send commands through."""

    def __init__(self, entrypoint: str) -> None:
        self.registry = memory_registry(open=False)
        self.store = MemoryTokenStore()
        self.via = (Rest if entrypoint == "rest" else Kafka)(self.registry, self.store)
        self.tokens: dict[str, str] = {}
        for who, kind in (
            ("registrant", "user"),
            ("Alice", "user"),  # the requester
            ("ALICE", "user"),  # the same person, another spelling
            ("bob", "user"),
            ("dora", "user"),
            ("ci-bot", "service"),
            ("erin", "user"),
        ):
            self.tokens[who] = asyncio.run(token_for(self.store, who, "staff", kind=kind))
        grant(self.registry, "group:staff", "contributor")
        for reviewer in ("alice", "bob", "dora", "ci-bot"):
            grant(self.registry, f"user:{reviewer}", "reviewer")
        self.registry.handle(c.RegisterModel(name="fraud"), SYSTEM)
        self.registry.handle(c.RegisterModel(name="other"), SYSTEM)
        self.send("registrant", c.RegisterVersion(model="fraud", artifact_uri="s3://m/1"))

    def send(self, who: str, command: Command) -> tuple[str, dict[str, Any]]:
        return self.via.send(self.tokens[who], command)

    def request(self, who: str, required: int = 1) -> str:
        code, answer = self.send(
            who,
            c.RequestApproval(
                model="fraud", version=1, stage="production", required_approvals=required
            ),
        )
        assert code == "accepted", answer
        return str(answer["version"]["approval_requests"][-1]["id"])

    def approve(self, who: str, request_id: str) -> tuple[str, dict[str, Any]]:
        return self.send(who, c.Approve(model="fraud", version=1, request_id=request_id))


ENTRYPOINTS = ("rest", "kafka")


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_the_requester_under_another_spelling_is_still_the_requester(entrypoint: str) -> None:
    world = World(entrypoint)
    request_id = world.request("Alice")
    code, details = world.approve("ALICE", request_id)
    assert (code, details["actor"]) == ("self_approval", "alice")


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_the_registrant_cannot_approve(entrypoint: str) -> None:
    world = World(entrypoint)
    grant(world.registry, "user:registrant", "reviewer")
    code, _ = world.approve("registrant", world.request("bob"))
    assert code == "self_approval"


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_a_service_account_never_approves_even_holding_reviewer(entrypoint: str) -> None:
    world = World(entrypoint)
    code, details = world.approve("ci-bot", world.request("Alice"))
    assert (code, details["permission"]) == ("forbidden", "review")


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_a_reviewer_of_another_model_has_no_say_on_this_one(entrypoint: str) -> None:
    world = World(entrypoint)
    grant(world.registry, "user:erin", "reviewer", "model:other")
    request_id = world.request("Alice")
    code, details = world.approve("erin", request_id)
    assert (code, details["permission"], details["on"]) == ("forbidden", "review", "model fraud")
    # Given reviewer on this model, the same person may.
    grant(world.registry, "user:erin", "reviewer", "model:fraud")
    assert world.approve("erin", request_id)[0] == "accepted"


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_n_distinct_approvers_each_a_reviewer(entrypoint: str) -> None:
    world = World(entrypoint)
    request_id = world.request("Alice", required=2)
    assert world.approve("bob", request_id)[0] == "accepted"
    # The same approver twice counts once.
    assert world.approve("bob", request_id)[0] == "conflict"
    # Without the second approval, production is refused even to a releaser.
    grant(world.registry, "user:erin", "releaser:production")
    promote = c.Promote(model="fraud", version=1, stage="production")
    assert world.send("erin", promote)[0] == "not_approved"
    assert world.approve("dora", request_id)[0] == "accepted"
    code, answer = world.send("erin", promote)
    assert code == "accepted"
    assert answer["version"]["stage"] == "production"


@pytest.mark.parametrize("entrypoint", ENTRYPOINTS)
def test_the_promoter_holds_releaser_for_that_stage(entrypoint: str) -> None:
    world = World(entrypoint)
    world.approve("bob", world.request("Alice"))
    grant(world.registry, "user:erin", "releaser:staging")
    promote = c.Promote(model="fraud", version=1, stage="production")
    code, details = world.send("erin", promote)
    assert (code, details["permission"]) == ("forbidden", "release:production")
    # A reviewer who approved is no releaser either.
    code, details = world.send("bob", promote)
    assert (code, details["permission"]) == ("forbidden", "release:production")
