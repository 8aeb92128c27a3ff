"""Command messages from raw bytes: what becomes a command, and why the rest is a dead letter."""

from __future__ import annotations

from typing import Any, cast

import orjson
import pytest

from schemas import intake
from services.intake.handler import Refused, decide, parse
from services.registry.application import Outcome, Registry
from services.registry.domain.errors import NotFound
from services.registry.domain.values import Stage

ON_VERSION = {"model": "fraud", "version": 3}

# One valid message body per command type, beyond command_id and actor.
VALID: dict[str, tuple[type[Any], dict[str, Any]]] = {
    "RegisterModel": (intake.RegisterModelCommand, {"name": "fraud"}),
    "RegisterVersion": (
        intake.RegisterVersionCommand,
        {"model": "fraud", "artifact_uri": "s3://models/fraud/3", "sha256": "ab" * 32},
    ),
    "RecordMetrics": (intake.RecordMetricsCommand, {**ON_VERSION, "metrics": {"auc": 0.91}}),
    "LinkLineage": (
        intake.LinkLineageCommand,
        {**ON_VERSION, "references": [{"kind": "dataset", "id": "txns-2026-11"}]},
    ),
    "UpdateModelCard": (intake.UpdateModelCardCommand, {**ON_VERSION, "card": {"owner": "risk"}}),
    "TagVersion": (intake.TagVersionCommand, {**ON_VERSION, "key": "team", "value": "risk"}),
    "RequestApproval": (intake.RequestApprovalCommand, {**ON_VERSION, "stage": "production"}),
    "Approve": (intake.ReviewCommand, {**ON_VERSION, "request_id": "r1", "reason": "lgtm"}),
    "Reject": (intake.ReviewCommand, {**ON_VERSION, "request_id": "r1"}),
    "Withdraw": (intake.ReviewCommand, {**ON_VERSION, "request_id": "r1"}),
    "Promote": (intake.PromoteCommand, {**ON_VERSION, "stage": "production"}),
    "Archive": (intake.ArchiveCommand, ON_VERSION),
    "SetAlias": (intake.SetAliasCommand, {"model": "fraud", "alias": "champion", "version": 3}),
    "RemoveAlias": (intake.RemoveAliasCommand, {"model": "fraud", "alias": "champion"}),
}


def message(kind: str, **fields: Any) -> dict[str, Any]:
    return {"type": kind, "command_id": "cmd-1", "actor": "alice", **fields}


def raw(document: Any) -> bytes:
    return orjson.dumps(document)


def test_every_command_type_has_a_valid_example() -> None:
    # A new command type must get an example here, or it goes untested.
    assert sorted(VALID) == intake.COMMAND_TYPES


@pytest.mark.parametrize("kind", intake.COMMAND_TYPES)
def test_a_valid_message_parses_to_its_command(kind: str) -> None:
    cls, fields = VALID[kind]
    command = parse(raw(message(kind, **fields)))
    assert type(command) is cls
    assert (command.type, command.command_id, command.actor) == (kind, "cmd-1", "alice")


def test_not_json_is_malformed() -> None:
    refused = parse(b'{"type": "Promote", "command_id": ')
    assert isinstance(refused, Refused)
    assert refused.reason == "malformed"
    assert parse(b"\xff\xfe").reason == "malformed"


def test_more_than_a_mebibyte_is_oversized_without_being_read() -> None:
    # Padding inside an otherwise valid command: the size alone refuses it.
    body = raw(message("Promote", **ON_VERSION, stage="production", reason=""))
    padded = body.replace(b'"reason":""', b'"reason":"' + b"x" * intake.MAX_COMMAND_BYTES + b'"')
    refused = parse(padded)
    assert isinstance(refused, Refused)
    assert refused.reason == "oversized"
    assert str(len(padded)) in refused.detail
    # At the limit itself it is still a command.
    exact = body.replace(
        b'"reason":""', b'"reason":"' + b"x" * (intake.MAX_COMMAND_BYTES - len(body)) + b'"'
    )
    assert len(exact) == intake.MAX_COMMAND_BYTES
    assert isinstance(parse(exact), intake.PromoteCommand)


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
        ("actor", {"password": "s3cr3t-token-value"}),  # the wrong type
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
        self.calls: list[tuple[str, int, Stage]] = []

    def promote(self, name: str, number: int, stage: Stage, ctx: Any) -> Any:
        self.calls.append((name, number, stage))
        raise NotFound(f"model {name!r} has no version {number}", version=number)


def test_a_domain_error_is_a_rejected_outcome_not_a_dead_letter() -> None:
    registry = RegistryWithoutVersion3()
    document = message("Promote", **ON_VERSION, stage="production")
    result = decide(cast(Registry, registry), raw(document))
    assert isinstance(result, intake.CommandResult)
    assert registry.calls == [("fraud", 3, Stage.PRODUCTION)]
    # The producer gets an answer keyed by its command id, with the domain's typed reason.
    assert (result.command_id, result.type, result.status) == ("cmd-1", "Promote", "rejected")
    assert result.error is not None
    assert result.error.code == "not_found"
    assert result.error.details == {"version": 3}
    assert result.position is None


class RegistryWithAHugeModel:
    def create_model(self, name: str, ctx: Any, **_: Any) -> Any:
        return Outcome({"name": name, "description": "x" * (600 * 1024)}, position=5)


def test_a_result_too_large_for_a_message_is_left_out_and_flagged() -> None:
    result = decide(
        cast(Registry, RegistryWithAHugeModel()), raw(message("RegisterModel", name="m"))
    )
    assert isinstance(result, intake.CommandResult)
    assert (result.status, result.position) == ("accepted", 5)
    assert result.result is None and result.result_truncated is True
