"""Commands producers send on `registry.commands`, and the outcomes on
`registry.command-results`.

A command message is one JSON object whose `type` names the command. It carries its own
`command_id` (the Kafka key of its outcome, and what makes a redelivery harmless). The
remaining fields are those of the REST request body, plus the model (and version) the
REST API takes from the path. Who acts is the subject of the message's credential, in its
`authorization` header (`Bearer <API token or OIDC JWT>`); no field names it.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.commands import COMMANDS
from schemas.rules import MAX_COMMAND_ID

MAX_COMMAND_BYTES = 1024 * 1024


def command_message_schema(ref_template: str = "#/$defs/{model}") -> dict[str, Any]:
    """JSON Schema of a command message: any command (schemas/commands.py) with its
    `command_id` required."""
    schema = COMMANDS.json_schema(ref_template=ref_template)
    for name, definition in schema["$defs"].items():
        if "type" not in definition.get("properties", {}):
            continue  # a part of a command (a lineage reference), not a command
        definition["properties"]["command_id"] = {
            "type": "string",
            "minLength": 1,
            "maxLength": MAX_COMMAND_ID,
            "description": "Chosen by the producer; its outcome is keyed by it, and sending "
            "it again returns the first outcome instead of acting twice.",
        }
        definition["required"] = [
            *definition.get("required", []),
            *(k for k in ("command_id",) if k not in definition.get("required", [])),
        ]
        schema["$defs"][name] = definition
    return schema


class Rejection(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(description="not_found, conflict, not_approved, invalid_input, ...")
    message: str
    details: dict[str, Any] = Field(default_factory=dict)


class CommandResult(BaseModel):
    """Outcome of a command, on `registry.command-results` keyed by its command id."""

    model_config = ConfigDict(extra="forbid")

    command_id: str
    type: str
    status: Literal["accepted", "rejected"]
    position: int | None = Field(
        None, description="Log position of the command's last event (accepted only)"
    )
    replayed: bool = Field(False, description="The command id was seen before")
    result: dict[str, Any] | None = Field(None, description="The model or version after it")
    result_truncated: bool = Field(
        False, description="The result was too large for a message; read it from the REST API"
    )
    error: Rejection | None = None


class DeadLetter(BaseModel):
    """What `registry.commands.dlq` carries in its `x-registrum-*` headers; the value is the
    original message, byte for byte."""

    model_config = ConfigDict(extra="forbid")

    reason: Literal[
        "unauthenticated", "malformed", "oversized", "unknown_type", "invalid", "failed"
    ] = Field(
        description="unauthenticated: no credential, or one that is not valid (the detail "
        "says why); failed: the command failed the same way several times (a defect)"
    )
    detail: str = Field(description="What was wrong, for a human")
    topic: str
    partition: int
    offset: int


INTAKE_MESSAGES: dict[str, TypeAdapter[Any]] = {
    "command-result": TypeAdapter(CommandResult),
    "dead-letter": TypeAdapter(DeadLetter),
}
