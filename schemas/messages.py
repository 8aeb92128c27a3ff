"""What Registrum publishes on Kafka: the data of its CloudEvents (JSON, binary mode).

Consumers dedupe by the `ce_id` header (store id + log position): the same stored event
always gets the same id, however often it is delivered.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, TypeAdapter


class Approval(BaseModel):
    model_config = ConfigDict(extra="forbid")

    actor: str
    at: datetime
    comment: str | None = None
    roles: list[str] = Field(
        default_factory=list, description="What the approver held on the model then"
    )
    override: bool = Field(
        False, description="An administrator's break-glass approval past failing gates"
    )


class StageChange(BaseModel):
    """Data of io.registrum.VersionPromoted and io.registrum.VersionArchived on
    `registry.promotions`: what a deployer needs to act."""

    model_config = ConfigDict(extra="forbid")

    model: str = Field(description="The model's name (also the Kafka key)")
    version: int
    from_stage: str
    to_stage: str
    artifact_uri: str
    sha256: str | None = Field(description="Digest of the artefact (of its manifest, if files)")
    size: int | None
    approvals: list[Approval] = Field(default_factory=list)
    evaluation: dict[str, Any] | None = Field(
        None,
        description="The promotion gates' verdict: policy, policy_version, stage, "
        "risk_class, passed, rules (name, expression, message, passed, saw, missing, "
        "elided, error), overridden_by; null when no policy was in force",
    )
    superseded_by: int | None = None
    actor: str
    reason: str | None = None
    time: datetime
    position: int = Field(description="The event's position in the registry's log")


class AliasChange(BaseModel):
    """Data of io.registrum.AliasAssigned and io.registrum.AliasRemoved."""

    model_config = ConfigDict(extra="forbid")

    model: str
    alias: str
    version: int
    previous: int | None = None
    artifact_uri: str | None = None
    sha256: str | None = None
    size: int | None = None
    actor: str
    time: datetime
    position: int


class DomainEvent(BaseModel):
    """Data of every event on `registry.events`, for monitors and other consumers."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="The event's name, e.g. VersionRegistered")
    model: str | None
    version: int | None = None
    actor: str | None
    reason: str | None = None
    command_id: str | None = None
    time: datetime
    position: int
    details: dict[str, Any] = Field(default_factory=dict)
    details_truncated: bool = Field(
        False,
        description="The event's fields were too large for a message and are left out; "
        "read them from the REST API (GET /api/v1/models/{model}/timeline)",
    )


class AuditCheckpoint(BaseModel):
    """Data of io.registrum.CheckpointSigned on `registry.audit-checkpoints`: the hash
    chain's link at a position, signed with the registry's Ed25519 key. Keep these: they
    catch a log rewritten or truncated afterwards (`registrum audit verify --checkpoints`)."""

    model_config = ConfigDict(extra="forbid")

    position: int = Field(description="The log position whose link is signed")
    link: str = Field(description="The chain's link at that position (hex sha256)")
    key_id: str = Field(description="The signing key's id")
    signature: str = Field(description="Ed25519 signature (base64)")
    time: datetime
    recorded_at: int = Field(description="The position of the checkpoint event itself")


class SigningKey(BaseModel):
    """Data of io.registrum.SigningKeyAdded on `registry.audit-checkpoints`: a public key
    that signs checkpoints from now on (old ones stay valid for what they signed)."""

    model_config = ConfigDict(extra="forbid")

    key_id: str
    public_key: str = Field(description="Raw Ed25519 public key (base64)")
    replaces: str | None = None
    time: datetime
    recorded_at: int


MESSAGES: dict[str, TypeAdapter[Any]] = {
    "stage-change": TypeAdapter(StageChange),
    "alias-change": TypeAdapter(AliasChange),
    "domain-event": TypeAdapter(DomainEvent),
    "audit-checkpoint": TypeAdapter(AuditCheckpoint),
    "signing-key": TypeAdapter(SigningKey),
}
