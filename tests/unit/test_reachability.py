"""Every command is reachable over REST and over Kafka, and both reach the dispatcher
with the same command: a command added to one entrypoint only fails here."""

from __future__ import annotations

import asyncio
from typing import Any, cast

import orjson
import pytest
from fastapi.testclient import TestClient

from schemas.commands import COMMAND_TYPES, Command
from services.api.app import build_fastapi
from services.auth.authenticate import Authenticator
from services.auth.identity import Principal
from services.auth.tokens import MemoryTokenStore
from services.intake.handler import decide
from services.registry.application import Outcome, Registry
from tests.examples import EXAMPLES
from tests.people import bearer, person, token_for

# Path parameters named after the resource, and the command fields they fill.
PATH_FIELDS = {"name": "model", "number": "version"}


class RecordingRegistry:
    """In the dispatcher's seat: records what it is handed, decides nothing."""

    def __init__(self) -> None:
        self.handled: list[tuple[Command, Principal]] = []

    def handle(self, command: Command, caller: Principal, **options: Any) -> Outcome:
        self.handled.append((command, caller))
        return Outcome({"number": 3}, position=11)


def operations() -> dict[str, tuple[str, str, dict[str, Any]]]:
    """command type -> (method, path template, operation) from the OpenAPI document."""
    found: dict[str, tuple[str, str, dict[str, Any]]] = {}
    for path, methods in build_fastapi().openapi()["paths"].items():
        for method, operation in methods.items():
            kind = operation.get("x-registrum-command")
            if kind is None:
                continue
            assert kind not in found, f"{kind} is sent by two routes"
            found[kind] = (method.upper(), path, operation)
    return found


OPERATIONS = operations()


def test_every_command_has_one_rest_route_and_every_route_a_known_command() -> None:
    assert sorted(OPERATIONS) == COMMAND_TYPES


def rest_request(kind: str) -> tuple[str, str, dict[str, Any] | None]:
    """The REST request that should send EXAMPLES[kind]."""
    return rest_request_for(EXAMPLES[kind])


def rest_request_for(command: Command) -> tuple[str, str, dict[str, Any] | None]:
    """The REST request that should send command: path from its address fields, body from
    the rest."""
    method, template, operation = OPERATIONS[command.type]  # type: ignore[attr-defined]
    fields = command.model_dump(mode="json", exclude={"type"}, exclude_none=True)
    params = [p["name"] for p in operation.get("parameters", []) if p["in"] == "path"]
    path = template
    for param in params:
        path = path.replace(f"{{{param}}}", str(fields.pop(PATH_FIELDS.get(param, param))))
    if "requestBody" not in operation:
        # Nothing may be lost on the way: a route without a body carries no other field.
        assert not fields, f"{method} {template} has no body for {sorted(fields)}"
        return method, path, None
    return method, path, fields


@pytest.mark.parametrize("kind", COMMAND_TYPES)
def test_rest_sends_the_command_to_the_dispatcher(kind: str) -> None:
    registry = RecordingRegistry()
    app = build_fastapi()
    app.state.registry = cast(Registry, registry)
    store = MemoryTokenStore()
    app.state.authenticator = Authenticator(store)
    token = asyncio.run(token_for(store, "Alice"))
    method, path, body = rest_request(kind)
    with TestClient(app) as client:
        response = client.request(method, path, json=body, headers=bearer(token))
    assert response.status_code in (200, 201), response.text
    ((command, caller),) = registry.handled
    # The command as sent, for the token's subject (case-folded).
    assert (command, caller.subject, caller.via) == (EXAMPLES[kind], "alice", "token")
    # The answer names what the command describes, with the position of its events.
    assert response.json() == {EXAMPLES[kind].answers: {"number": 3}, "position": 11}


@pytest.mark.parametrize("kind", COMMAND_TYPES)
def test_kafka_sends_the_command_to_the_dispatcher(kind: str) -> None:
    registry = RecordingRegistry()
    message = EXAMPLES[kind].model_dump(mode="json") | {"command_id": "c-1"}
    result = decide(cast(Registry, registry), orjson.dumps(message), person("alice"))
    assert registry.handled == [
        (EXAMPLES[kind].model_copy(update={"command_id": "c-1"}), person("alice"))
    ]
    assert result.model_dump(include={"status", "position", "result"}) == {  # type: ignore[union-attr]
        "status": "accepted",
        "position": 11,
        "result": {EXAMPLES[kind].answers: {"number": 3}},
    }
