"""The fields of each command beyond what it acts on: the REST request bodies.

A REST route takes the model and version from its path and the rest from one of these
bodies; the command (schemas/commands.py) is the body plus that address. Values are
checked again by the domain (services/registry/domain/values.py); these models fix the
shape, so a typo'd field is refused instead of silently dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field

MAX_COMMAND_ID = 200
MAX_INT = 2**31 - 1  # PostgreSQL's integer: version numbers and approvals fit in it


class Body(BaseModel):
    """What every command carries: its id (for safe retries) and why."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    command_id: str | None = Field(
        None,
        min_length=1,
        max_length=MAX_COMMAND_ID,
        description="Client-chosen id; repeating it returns the first outcome and records "
        "nothing new.",
    )
    reason: str | None = Field(None, description="Why: recorded on the event.")


class RegisterModelBody(Body):
    name: str = Field(description="Unique; 1-256 characters without '/', '@' or controls")
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    allow_multiple_production: bool = False


class DescribeBody(Body):
    description: str


class RenameModelBody(Body):
    new_name: str


class TagBody(Body):
    value: str


class LineageReference(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    kind: str = Field(description="dataset, feature, code, run, model_version or deployment")
    id: str
    relation: str = "input"


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    path: str = Field(description="Relative path inside the version, '/'-separated")
    sha256: str
    size: int


class RegisterVersionBody(Body):
    artifact_uri: str = Field(
        "", description="Where the artefact is; may be left out when files are uploaded"
    )
    manifest: list[ManifestEntry] = Field(
        default_factory=list, description="Files uploaded to /api/v1/artifacts"
    )
    sha256: str | None = None
    size: int | None = None
    format: str | None = None
    flavor: str | None = None
    run_id: str | None = None
    dataset_version: str | None = None
    hyperparameters: dict[str, Any] = Field(default_factory=dict)
    metrics: dict[str, float] = Field(default_factory=dict)
    lineage: list[LineageReference] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    description: str = ""


class RecordMetricsBody(Body):
    metrics: dict[str, float]


class LinkLineageBody(Body):
    references: list[LineageReference]


class UpdateModelCardBody(Body):
    card: dict[str, Any]


class RequestApprovalBody(Body):
    stage: str = Field(description="staging or production")
    required_approvals: int | None = Field(None, ge=1, le=10)


class ReviewBody(Body):
    """Approve, reject or withdraw: the reason is the reviewer's comment."""


class PromoteBody(Body):
    stage: str = Field(description="staging or production")


class ArchiveBody(Body):
    pass


class SetAliasBody(Body):
    version: int = Field(ge=1, le=MAX_INT, description="The version the alias points at")
