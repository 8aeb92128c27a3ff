"""Commands producers send on `registry.commands`, and the outcomes on
`registry.command-results`.

A command message is one JSON object whose `type` names the command. It carries its own
`command_id` (the Kafka key of its outcome, and what makes a redelivery harmless) and the
`actor` who acts. The remaining fields are those of the REST request body, plus the model
(and version) the REST API takes from the path.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, get_args

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter

from schemas.commands import (
    Archive,
    CreateModel,
    LinkLineage,
    Promote,
    RecordMetrics,
    RegisterVersion,
    RequestApproval,
    Review,
    SetAlias,
    SetTag,
    UpdateModelCard,
)

MAX_COMMAND_BYTES = 1024 * 1024


class _Addressed(BaseModel):
    """Fields every command message carries."""

    model_config = ConfigDict(extra="forbid")

    command_id: str = Field(
        min_length=1,
        max_length=200,
        description="Chosen by the producer; its outcome is keyed by it, and sending it "
        "again returns the first outcome instead of acting twice.",
    )
    actor: str = Field(description="Who acts; recorded on the event.")


class _OnModel(_Addressed):
    model: str = Field(description="The registered model's name")


class _OnVersion(_OnModel):
    version: int = Field(ge=1, description="The version's number")


class RegisterModelCommand(_Addressed, CreateModel):
    type: Literal["RegisterModel"]


class RegisterVersionCommand(_OnModel, RegisterVersion):
    type: Literal["RegisterVersion"]


class RecordMetricsCommand(_OnVersion, RecordMetrics):
    type: Literal["RecordMetrics"]


class LinkLineageCommand(_OnVersion, LinkLineage):
    type: Literal["LinkLineage"]


class UpdateModelCardCommand(_OnVersion, UpdateModelCard):
    type: Literal["UpdateModelCard"]


class TagVersionCommand(_OnVersion, SetTag):
    type: Literal["TagVersion"]
    key: str


class RequestApprovalCommand(_OnVersion, RequestApproval):
    type: Literal["RequestApproval"]


class ReviewCommand(_OnVersion, Review):
    """Approve, reject or withdraw an approval request; `reason` is the comment."""

    type: Literal["Approve", "Reject", "Withdraw"]
    request_id: str


class PromoteCommand(_OnVersion, Promote):
    type: Literal["Promote"]


class ArchiveCommand(_OnVersion, Archive):
    type: Literal["Archive"]


class SetAliasCommand(_OnModel, SetAlias):
    type: Literal["SetAlias"]
    alias: str


class RemoveAliasCommand(_OnModel):
    type: Literal["RemoveAlias"]
    alias: str
    reason: str | None = None


IntakeCommand = Annotated[
    RegisterModelCommand
    | RegisterVersionCommand
    | RecordMetricsCommand
    | LinkLineageCommand
    | UpdateModelCardCommand
    | TagVersionCommand
    | RequestApprovalCommand
    | ReviewCommand
    | PromoteCommand
    | ArchiveCommand
    | SetAliasCommand
    | RemoveAliasCommand,
    Field(discriminator="type"),
]
COMMANDS: TypeAdapter[Any] = TypeAdapter(IntakeCommand)
COMMAND_TYPES = sorted(
    kind
    for cls in get_args(get_args(IntakeCommand)[0])
    for kind in get_args(cls.model_fields["type"].annotation)
)


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

    reason: Literal["malformed", "oversized", "unknown_type", "invalid", "failed"] = Field(
        description="failed: the command failed the same way several times (a defect)"
    )
    detail: str = Field(description="What was wrong, for a human")
    topic: str
    partition: int
    offset: int


INTAKE_MESSAGES: dict[str, TypeAdapter[Any]] = {
    "command": COMMANDS,
    "command-result": TypeAdapter(CommandResult),
    "dead-letter": TypeAdapter(DeadLetter),
}
