"""The fields of each command beyond what it acts on: the REST request bodies.

A REST route takes the model and version from its path and the rest from one of these
bodies; the command (schemas/commands.py) is the body plus that address. The value rules
(schemas/rules.py) are those the domain enforces, so the contract says what will be
accepted; validation is strict (no "1" for 1, no 1 for true), and unknown fields are
refused instead of silently dropped.
"""

from __future__ import annotations

import re
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from schemas import rules as r
from schemas.model_card import SECTIONS, CardSections, ModelCard, SectionName


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, strict=True)


class Body(Strict):
    """What every command carries: its id (for safe retries) and why."""

    command_id: r.CommandId | None = Field(
        None,
        description="Client-chosen id; repeating it returns the first outcome and records "
        "nothing new.",
    )
    reason: r.Reason | None = Field(None, description="Why: recorded on the event.")


class RegisterModelBody(Body):
    name: r.ModelName
    description: r.Text = ""
    tags: r.Tags = Field(default_factory=dict)
    allow_multiple_production: bool = False


class DescribeBody(Body):
    description: r.Text


class RenameModelBody(Body):
    new_name: r.ModelName


class TagBody(Body):
    value: r.TagValue


class LineageReference(Strict):
    kind: r.LineageKind = Field(
        description="dataset, feature, code, run, model_version or deployment"
    )
    id: str = Field(
        min_length=1,
        max_length=r.MAX_URI,
        pattern=r.NO_NUL,
        description="For model_version: NAME/NUMBER, NAME@ALIAS or the version's id",
    )
    relation: str = Field(
        "input", max_length=r.MAX_RELATION, pattern=r.NO_NUL, description="'' means input"
    )

    model_config = ConfigDict(
        json_schema_extra={
            "if": {"properties": {"kind": {"const": "model_version"}}},
            "then": {"properties": {"id": {"pattern": r.VERSION_REFERENCE}}},
        }
    )

    @model_validator(mode="after")
    def _parent_reference(self) -> LineageReference:
        if self.kind == "model_version" and not re.fullmatch(r.VERSION_REFERENCE, self.id):
            raise ValueError("a parent version is NAME/NUMBER, NAME@ALIAS or a version id")
        return self


class ManifestEntry(Strict):
    path: str = Field(
        min_length=1,
        max_length=r.MAX_PATH,
        pattern=r.FILE_PATH,
        description="Relative path inside the version, '/'-separated",
    )
    sha256: r.Sha256
    size: r.Size


class RegisterVersionBody(Body):
    artifact_uri: str = Field(
        "",
        max_length=r.MAX_URI,
        pattern=r.URI_OR_EMPTY,
        description="Where the artefact is; may be left out when files are uploaded",
    )
    manifest: list[ManifestEntry] = Field(
        default_factory=list,
        max_length=r.MAX_FILES,
        description="Files uploaded to /api/v1/artifacts; each path once",
        json_schema_extra={"uniqueItems": True},
    )
    sha256: r.Sha256 | None = None
    size: r.Size | None = None
    format: r.ShortText | None = None
    flavor: r.ShortText | None = None
    run_id: r.ShortText | None = None
    dataset_version: r.ShortText | None = None
    hyperparameters: r.JsonObject = Field(default_factory=dict)
    metrics: r.Metrics = Field(default_factory=dict)
    lineage: list[LineageReference] = Field(default_factory=list, max_length=r.MAX_LINEAGE)
    tags: r.Tags = Field(default_factory=dict)
    description: r.Text = ""

    model_config = ConfigDict(
        json_schema_extra={
            "anyOf": [
                {"required": ["artifact_uri"], "properties": {"artifact_uri": {"minLength": 1}}},
                {"required": ["manifest"], "properties": {"manifest": {"minItems": 1}}},
            ]
        }
    )

    @model_validator(mode="after")
    def _somewhere(self) -> RegisterVersionBody:
        if not self.artifact_uri and not self.manifest:
            raise ValueError("give an artifact_uri, or the manifest of uploaded files")
        return self


class RecordMetricsBody(Body):
    metrics: r.Metrics


class LinkLineageBody(Body):
    references: list[LineageReference] = Field(max_length=r.MAX_LINEAGE)


class UpdateModelCardBody(Body):
    """Sets the whole model card: sections left out are emptied."""

    card: ModelCard


class AmendModelCardBody(Body):
    """Changes some sections of the model card and keeps the others: the sections named in
    `remove` are emptied, then those in `sections` set (null or absent: left as they are).
    An amendment that changes nothing records nothing."""

    sections: CardSections = Field(
        default_factory=CardSections, description="Sections to set, each replaced whole"
    )
    remove: list[SectionName] = Field(
        default_factory=list,
        max_length=len(SECTIONS),
        description="Sections to empty",
        json_schema_extra={"uniqueItems": True},
    )

    @model_validator(mode="after")
    def _once(self) -> AmendModelCardBody:
        if len(set(self.remove)) != len(self.remove):
            raise ValueError("a section is named twice in remove")
        return self


class RequestApprovalBody(Body):
    stage: r.PromotableStage
    required_approvals: r.Approvals | None = Field(
        None, description="More than the registry's minimum, if wanted"
    )


class RequestAliasApprovalBody(Body):
    alias: r.Alias = Field(description="A protected alias, to point at this version")
    required_approvals: r.Approvals | None = Field(
        None, description="More than the registry's minimum, if wanted"
    )


class ProtectAliasBody(Body):
    protected: bool = Field(
        True,
        description="true: the alias moves only through an approved request (like a "
        "promotion) and cannot be removed; false: back to a plain alias",
    )


class ReviewBody(Body):
    """Approve, reject or withdraw: the reason is the reviewer's comment."""


class ApproveBody(ReviewBody):
    override: bool = Field(
        False,
        description="An administrator's break-glass approval: on top of the approvals the "
        "request needs, it lets the promotion past failing gates (recorded as overridden). "
        "Needs owner on the registry; the reason should say why.",
    )


class PromoteBody(Body):
    stage: r.PromotableStage
    dry_run: bool = Field(
        False,
        description="Evaluate the approval and the gates of the policy in force, and "
        "answer what a promotion would do, without promoting",
    )


class PublishPolicyBody(Body):
    document: str = Field(
        min_length=1,
        max_length=64 * 1024,
        pattern=r.NO_NUL,
        description="The promotion policy as YAML: CEL rules per stage, optionally per risk "
        "class (see README, Promotion gates)",
    )


class ArchiveBody(Body):
    pass


class SetAliasBody(Body):
    version: r.Number = Field(description="The version the alias points at")


class GrantBody(Body):
    """A role for a principal on a scope: given by GrantRole, taken back by RevokeRole."""

    principal: r.Principal
    role: r.RoleName
    scope: r.Scope = "registry"


class TokenRequest(Strict):
    """A new API token for a person or a service account (an administrator's act)."""

    subject: r.Subject = Field(description="Who the token stands for; case-folded")
    display_name: r.ShortText | None = Field(
        None, description="For people reading listings and approvals; never used for rules"
    )
    kind: Literal["user", "service"] = Field(
        "user", description="service: a pipeline's account, which may never approve"
    )
    groups: list[r.Subject] = Field(
        default_factory=list, max_length=50, description="Groups grants may name"
    )
    expires_in_days: r.Days = 90
    description: r.ShortText = ""
