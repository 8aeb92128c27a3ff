"""Request bodies of the registry's commands: the public contract of the REST API.

Values are checked again by the domain (services/registry/domain/values.py); these
models fix the shape, so a typo'd field is refused instead of silently dropped.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Command(BaseModel):
    model_config = ConfigDict(extra="forbid")

    command_id: str | None = Field(
        None, description="Client-chosen id; repeating it returns the first outcome."
    )
    reason: str | None = Field(None, description="Why: recorded on the event.")


class CreateModel(Command):
    name: str
    description: str = ""
    tags: dict[str, str] = Field(default_factory=dict)
    allow_multiple_production: bool = False


class UpdateModel(Command):
    description: str


class RenameModel(Command):
    new_name: str


class SetTag(Command):
    value: str


class LineageReference(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: str = Field(description="dataset, feature, code, run, model_version or deployment")
    id: str
    relation: str = "input"


class ManifestEntry(BaseModel):
    model_config = ConfigDict(extra="forbid")

    path: str = Field(description="Relative path inside the version, '/'-separated")
    sha256: str
    size: int


class RegisterVersion(Command):
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


class UpdateVersion(Command):
    description: str


class RecordMetrics(Command):
    metrics: dict[str, float]


class LinkLineage(Command):
    references: list[LineageReference]


class UpdateModelCard(Command):
    card: dict[str, Any]


class RequestApproval(Command):
    stage: str
    required_approvals: int | None = None


class Review(Command):
    """Approve, reject or withdraw: the reason is the reviewer's comment."""


class Promote(Command):
    stage: str


class Archive(Command):
    pass


class SetAlias(Command):
    version: int
