"""The registry's commands: one typed vocabulary for REST, Kafka and every later entrypoint.

A command is data. Its `type` names it in the imperative; its fields say what it acts on
(`model`, `version`; `name` for a new model) and what changes. Every entrypoint builds
one and hands it to the write side's one dispatcher (`Registry.handle`), so checks,
idempotency and errors are the same whichever way a command came in. Adding a command
means one class here, one handler in services/registry/handlers/, and a route; a test
fails until REST and Kafka both reach it.
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar, Literal, get_args

from pydantic import ConfigDict, Field, TypeAdapter

from schemas import bodies as b
from schemas import rules as r

ResultKind = Literal["model", "version", "grant", "policy", "promotion"]


def _type_required(schema: dict[str, Any]) -> None:
    # `type` has a default so code can build commands without naming it twice; on the
    # wire it is required.
    required = schema.setdefault("required", [])
    if "type" not in required:
        required.insert(0, "type")


class Command(b.Body):
    """Base of every command. `answers` says whether its result describes the model or
    one of its versions."""

    model_config = ConfigDict(json_schema_extra=_type_required)

    answers: ClassVar[ResultKind] = "version"

    @property
    def model_name(self) -> str:
        """The name of the model the command acts on."""
        return str(getattr(self, "model", ""))


class OnModel(Command):
    model: r.ModelName = Field(description="The registered model's name")


class OnVersion(OnModel):
    version: r.Number = Field(description="The version's number")


RequestId = Annotated[str, Field(min_length=1, max_length=200, description="From the request")]


# -- models ----------------------------------------------------------------------------


class RegisterModel(b.RegisterModelBody, Command):
    type: Literal["RegisterModel"] = "RegisterModel"
    answers: ClassVar[ResultKind] = "model"

    @property
    def model_name(self) -> str:
        return self.name


class RenameModel(b.RenameModelBody, OnModel):
    type: Literal["RenameModel"] = "RenameModel"
    answers: ClassVar[ResultKind] = "model"


class DescribeModel(b.DescribeBody, OnModel):
    type: Literal["DescribeModel"] = "DescribeModel"
    answers: ClassVar[ResultKind] = "model"


class TagModel(b.TagBody, OnModel):
    type: Literal["TagModel"] = "TagModel"
    answers: ClassVar[ResultKind] = "model"
    key: r.Key


class UntagModel(OnModel):
    type: Literal["UntagModel"] = "UntagModel"
    answers: ClassVar[ResultKind] = "model"
    key: r.Key


class DeleteModel(OnModel):
    type: Literal["DeleteModel"] = "DeleteModel"
    answers: ClassVar[ResultKind] = "model"


# -- versions --------------------------------------------------------------------------


class RegisterVersion(b.RegisterVersionBody, OnModel):
    """Registers the next version of `model`; the registry picks its number."""

    type: Literal["RegisterVersion"] = "RegisterVersion"


class DescribeVersion(b.DescribeBody, OnVersion):
    type: Literal["DescribeVersion"] = "DescribeVersion"


class TagVersion(b.TagBody, OnVersion):
    type: Literal["TagVersion"] = "TagVersion"
    key: r.Key


class UntagVersion(OnVersion):
    type: Literal["UntagVersion"] = "UntagVersion"
    key: r.Key


class RecordMetrics(b.RecordMetricsBody, OnVersion):
    type: Literal["RecordMetrics"] = "RecordMetrics"


class LinkLineage(b.LinkLineageBody, OnVersion):
    type: Literal["LinkLineage"] = "LinkLineage"


class UpdateModelCard(b.UpdateModelCardBody, OnVersion):
    """Sets the whole model card of a version."""

    type: Literal["UpdateModelCard"] = "UpdateModelCard"


class AmendModelCard(b.AmendModelCardBody, OnVersion):
    """Sets or empties some sections of a version's model card, keeping the others."""

    type: Literal["AmendModelCard"] = "AmendModelCard"


class DeleteVersion(OnVersion):
    type: Literal["DeleteVersion"] = "DeleteVersion"


# -- reviews, stages and aliases -------------------------------------------------------


class RequestApproval(b.RequestApprovalBody, OnVersion):
    type: Literal["RequestApproval"] = "RequestApproval"


class RequestAliasApproval(b.RequestAliasApprovalBody, OnVersion):
    """Asks for sign-off to point a protected alias at this version."""

    type: Literal["RequestAliasApproval"] = "RequestAliasApproval"


class OnRequest(b.ReviewBody, OnVersion):
    """A decision on one approval request of a version."""

    request_id: RequestId


class Approve(b.ApproveBody, OnRequest):
    """Signs off an approval request; `reason` is the reviewer's comment."""

    type: Literal["Approve"] = "Approve"


class Reject(OnRequest):
    type: Literal["Reject"] = "Reject"


class Withdraw(OnRequest):
    """The requester takes an approval request back."""

    type: Literal["Withdraw"] = "Withdraw"


class Promote(b.PromoteBody, OnVersion):
    type: Literal["Promote"] = "Promote"


class Archive(b.ArchiveBody, OnVersion):
    type: Literal["Archive"] = "Archive"


class SetAlias(b.SetAliasBody, OnModel):
    type: Literal["SetAlias"] = "SetAlias"
    alias: r.Alias


class ProtectAlias(b.ProtectAliasBody, OnModel):
    """Marks an alias protected (or not); needs owner on the model."""

    type: Literal["ProtectAlias"] = "ProtectAlias"
    answers: ClassVar[ResultKind] = "model"
    alias: r.Alias


class RemoveAlias(OnModel):
    type: Literal["RemoveAlias"] = "RemoveAlias"
    answers: ClassVar[ResultKind] = "model"
    alias: r.Alias


class PublishPolicy(b.PublishPolicyBody, Command):
    """Makes a promotion policy the one in force (a new version of it); needs owner on the
    registry."""

    type: Literal["PublishPolicy"] = "PublishPolicy"
    answers: ClassVar[ResultKind] = "policy"

    @property
    def model_name(self) -> str:
        return ""


# -- access ----------------------------------------------------------------------------


class GrantRole(b.GrantBody, Command):
    """Gives principal the role on scope; needs owner on that scope (the registry's owner
    for registry-wide grants)."""

    type: Literal["GrantRole"] = "GrantRole"
    answers: ClassVar[ResultKind] = "grant"

    @property
    def model_name(self) -> str:
        return ""


class RevokeRole(b.GrantBody, Command):
    """Takes a role back; the log keeps that it was held, and until when."""

    type: Literal["RevokeRole"] = "RevokeRole"
    answers: ClassVar[ResultKind] = "grant"

    @property
    def model_name(self) -> str:
        return ""


AnyCommand = Annotated[
    RegisterModel
    | RenameModel
    | DescribeModel
    | TagModel
    | UntagModel
    | DeleteModel
    | RegisterVersion
    | DescribeVersion
    | TagVersion
    | UntagVersion
    | RecordMetrics
    | LinkLineage
    | UpdateModelCard
    | AmendModelCard
    | DeleteVersion
    | RequestApproval
    | RequestAliasApproval
    | Approve
    | Reject
    | Withdraw
    | Promote
    | Archive
    | SetAlias
    | RemoveAlias
    | ProtectAlias
    | GrantRole
    | RevokeRole
    | PublishPolicy,
    Field(discriminator="type"),
]
COMMANDS: TypeAdapter[Any] = TypeAdapter(AnyCommand)
COMMAND_CLASSES: dict[str, type[Command]] = {
    cls.model_fields["type"].default: cls for cls in get_args(get_args(AnyCommand)[0])
}
COMMAND_TYPES = sorted(COMMAND_CLASSES)
