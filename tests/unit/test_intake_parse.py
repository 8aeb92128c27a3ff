"""Command messages from raw bytes: what becomes a command, and why the rest is a dead letter."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from schemas import commands as c
from schemas.commands import COMMAND_CLASSES, COMMAND_TYPES
from schemas.intake import MAX_COMMAND_BYTES, CommandResult
from services.auth.identity import Principal
from services.intake.handler import Message, Refused, decide, parse
from services.registry.application import Outcome, Registry
from services.registry.domain.errors import NotFound
from tests.examples import EXAMPLES, ON_VERSION
from tests.people import person


def example(kind: str) -> dict[str, Any]:
    """The example command of type kind as message fields, beyond command_id."""
    return EXAMPLES[kind].model_dump(mode="json", exclude={"command_id"})


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "command_id": "cmd-1", **fields}


def raw(document: Any) -> bytes:
    return orjson.dumps(document)


def test_every_command_type_has_a_valid_example() -> None:
    # A new command type must get an example, or it goes untested.
    assert sorted(EXAMPLES) == COMMAND_TYPES


@pytest.mark.parametrize("kind", COMMAND_TYPES)
def test_a_valid_message_parses_to_its_command(kind: str) -> None:
    parsed = parse(raw(message(kind, **example(kind))))
    assert isinstance(parsed, Message)
    assert type(parsed.command) is COMMAND_CLASSES[kind]
    assert parsed.command == EXAMPLES[kind].model_copy(update={"command_id": "cmd-1"})
    assert (parsed.type, parsed.command_id) == (kind, "cmd-1")


def test_not_json_is_malformed() -> None:
    refused = parse(b'{"type": "Promote", "command_id": ')
    assert isinstance(refused, Refused)
    assert refused.reason == "malformed"
    assert parse(b"\xff\xfe").reason == "malformed"


def test_more_than_a_mebibyte_is_oversized_without_being_read() -> None:
    # Padding inside an otherwise valid command: the size alone refuses it.
    # (The free JSON a card keeps under `legacy` has no limit of its own in the schema.)
    body = raw(message("UpdateModelCard", **ON_VERSION, card={"legacy": {"notes": ""}}))
    padded = body.replace(b'"notes":""', b'"notes":"' + b"x" * MAX_COMMAND_BYTES + b'"')
    refused = parse(padded)
    assert isinstance(refused, Refused)
    assert refused.reason == "oversized"
    assert str(len(padded)) in refused.detail
    # At the limit itself it is still a command.
    exact = body.replace(
        b'"notes":""', b'"notes":"' + b"x" * (MAX_COMMAND_BYTES - len(body)) + b'"'
    )
    assert len(exact) == MAX_COMMAND_BYTES
    parsed = parse(exact)
    assert isinstance(parsed, Message) and isinstance(parsed.command, c.UpdateModelCard)


def test_an_unknown_type_is_refused_naming_it() -> None:
    refused = parse(raw(message("DeployEverything", **ON_VERSION)))
    assert isinstance(refused, Refused)
    assert refused.reason == "unknown_type"
    assert "'DeployEverything'" in refused.detail
    # A missing type is a missing field: invalid, and named.
    no_type = {k: v for k, v in message("Promote").items() if k != "type"}
    refused = parse(raw(no_type))
    assert isinstance(refused, Refused)
    assert refused.reason == "invalid" and refused.detail.startswith("type: field required")


@pytest.mark.parametrize("document", [[message("Promote")], "Promote", 42, None])
def test_json_that_is_not_an_object_is_malformed(document: Any) -> None:
    refused = parse(raw(document))
    assert isinstance(refused, Refused)
    assert refused.reason == "malformed"


@pytest.mark.parametrize("empty", [None, b""])
def test_an_empty_message_is_malformed_not_oversized(empty: bytes | None) -> None:
    refused = parse(empty)
    assert isinstance(refused, Refused)
    assert refused.reason == "malformed"


def test_a_missing_command_id_is_invalid_and_named() -> None:
    document = message("Promote", **ON_VERSION, stage="production")
    del document["command_id"]
    refused = parse(raw(document))
    assert isinstance(refused, Refused)
    assert refused.reason == "invalid"
    assert refused.detail.startswith("command_id:")


def test_an_unknown_field_is_invalid_and_named() -> None:
    # Commands forbid extra fields: a typo must not be silently dropped.
    refused = parse(raw(message("Promote", **ON_VERSION, stage="production", stgae="staging")))
    assert isinstance(refused, Refused)
    assert refused.reason == "invalid"
    assert "stgae" in refused.detail


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("api_token", "s3cr3t-token-value"),  # an extra field
        ("tags", {"password": ["s3cr3t-token-value"]}),  # the wrong type
        ("version", "s3cr3t-token-value"),  # not a number
        ("command_id", "s3cr3t-token-value" * 20),  # too long
    ],
)
def test_the_detail_names_the_field_and_never_echoes_its_value(field: str, value: Any) -> None:
    document = message("Promote", **ON_VERSION, stage="production")
    document[field] = value
    refused = parse(raw(document))
    assert isinstance(refused, Refused)
    assert refused.reason == "invalid"
    assert field in refused.detail
    assert "s3cr3t" not in refused.detail


class RegistryWithoutVersion3:
    """Stands in for the registry: knows model fraud, but not its version 3."""

    def __init__(self) -> None:
        self.calls: list[tuple[c.Command, Principal]] = []

    def handle(self, command: c.Promote, caller: Principal, **options: Any) -> Any:
        self.calls.append((command, caller))
        raise NotFound(f"model {command.model!r} has no version 3", version=command.version)


def test_a_domain_error_is_a_rejected_outcome_not_a_dead_letter() -> None:
    registry = RegistryWithoutVersion3()
    document = message("Promote", **ON_VERSION, stage="production")
    result = decide(cast(Registry, registry), raw(document), person("alice"))
    assert isinstance(result, CommandResult)
    promote = c.Promote(**ON_VERSION, stage="production", command_id="cmd-1")
    assert registry.calls == [(promote, person("alice"))]
    # The producer gets an answer keyed by its command id, with the domain's typed reason.
    assert (result.command_id, result.type, result.status) == ("cmd-1", "Promote", "rejected")
    assert result.error is not None
    assert result.error.code == "not_found"
    assert result.error.details == {"version": 3}
    assert result.position is None


class RegistryWithAHugeModel:
    def handle(self, command: c.RegisterModel, caller: Principal, **options: Any) -> Any:
        return Outcome({"name": command.name, "description": "x" * (600 * 1024)}, position=5)


def test_a_result_too_large_for_a_message_is_left_out_and_flagged() -> None:
    result = decide(
        cast(Registry, RegistryWithAHugeModel()),
        raw(message("RegisterModel", name="m")),
        person("alice"),
    )
    assert isinstance(result, CommandResult)
    assert (result.status, result.position) == ("accepted", 5)
    assert result.result is None and result.result_truncated is True


def test_a_message_naming_an_actor_is_refused_not_believed() -> None:
    # Who acts is the credential's subject; a field claiming otherwise is an error, never
    # silently dropped (the sender would believe it counted).
    refused = parse(raw(message("Promote", **ON_VERSION, stage="production", actor="bob")))
    assert isinstance(refused, Refused)
    assert refused.reason == "invalid"
    assert refused.detail.startswith("actor:") and "authorization" in refused.detail


def test_a_command_messages_trace_is_kept_with_its_record() -> None:
    from services.intake.handler import trace_context
    from tests.fakes.registry import memory_registry

    traced = f"00-{'5' * 32}-{'6' * 16}-01"
    # A CloudEvents producer's header, or the plain W3C one; garbage is ignored.
    assert trace_context([("ce_traceparent", traced.encode())]) == traced
    assert trace_context([("traceparent", traced.encode())]) == traced
    assert trace_context([("traceparent", b"00-not-a-trace")]) is None
    assert trace_context([("authorization", b"Bearer x")]) is None
    registry = memory_registry()
    try:
        message = {"type": "RegisterModel", "command_id": "kafka-traced", "name": "traced"}
        result = decide(registry, orjson.dumps(message), person("alice"), traced)
        assert isinstance(result, CommandResult) and result.status == "accepted"
        record = registry.command_log.find_command("kafka-traced")
        assert record is not None and record.traceparent == traced
    finally:
        registry.close()
