"""Stored events to the CloudEvents the relay publishes: every event on `registry.events`,
stage and alias changes also on `registry.promotions`, signed checkpoints and signing keys
also on `registry.audit-checkpoints`. Pure: what it needs beyond the event
(the model's name, the version's artefact) comes from a Facts lookup.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

import orjson
from cloudevents.v1.kafka import KafkaMessage

from schemas.messages import (
    AliasChange,
    Approval,
    AuditCheckpoint,
    DomainEvent,
    SigningKey,
    StageChange,
)
from services.bus.topics import AUDIT_CHECKPOINTS, EVENTS, PROMOTIONS
from services.eventlog.record import StoredEvent
from services.registry.domain import cards
from services.registry.domain.model import version_id_for
from services.relay.envelope import envelope

PROMOTION_KINDS = frozenset({"VersionPromoted", "VersionArchived", "AliasAssigned", "AliasRemoved"})
AUDIT_KINDS = frozenset({"CheckpointSigned", "SigningKeyAdded"})
AUDIT_KEY = "audit"  # one partition key: checkpoints stay in order
# Brokers refuse messages over 1 MB by default; a relay stuck on one event would hold up
# every later promotion. Larger details (a long lineage, a big model card) are left out.
MAX_DETAILS_BYTES = 512 * 1024
# The name index is the registry's own bookkeeping, not a fact about a model.
INTERNAL_AGGREGATES = frozenset({"ModelName"})
# Carried by the envelope or the library's bookkeeping, not details of the event.
_ENVELOPE_KEYS = frozenset(
    {
        "timestamp",
        "originator_id",
        "originator_version",
        "originator_topic",
        "class_version",
        "actor",
        "reason",
        "command_id",
    }
)


@dataclass(frozen=True)
class VersionFacts:
    """What a version was registered with: fixed for its lifetime."""

    model_id: str
    number: int
    artifact_uri: str
    sha256: str | None
    size: int | None


class Facts(Protocol):
    def model_name(self, model_id: str) -> str | None: ...

    def version(self, version_id: str) -> VersionFacts | None: ...


@dataclass(frozen=True)
class Outgoing:
    topic: str
    message: KafkaMessage


def translate(
    store_id: str, event: StoredEvent, facts: Facts, traceparent: str | None = None
) -> list[Outgoing]:
    """The messages of one stored event; traceparent, when its command kept one, goes on
    each of them (the CloudEvents distributed tracing extension)."""
    if event.aggregate in INTERNAL_AGGREGATES:
        return []
    d = event.data
    model_id, number = _subject(event, facts)
    name = facts.model_name(model_id) if model_id else None
    time = event.timestamp.isoformat()
    details = {k: v for k, v in d.items() if k not in _ENVELOPE_KEYS}
    if event.kind == "ModelCardUpdated":
        # Consumers get one shape of card, however old the event (free JSON before).
        details["card"] = cards.stored_card(d)
    domain = DomainEvent(
        type=event.kind,
        model=name,
        version=number,
        actor=d.get("actor"),
        reason=d.get("reason"),
        command_id=d.get("command_id"),
        time=event.timestamp,
        position=event.position,
        details=details,
    )
    if len(orjson.dumps(domain.details)) > MAX_DETAILS_BYTES:
        domain = domain.model_copy(update={"details": {}, "details_truncated": True})
    subject = name or event.originator_id
    at = (store_id, event.kind, event.position)
    out = [Outgoing(EVENTS, envelope(*at, subject, time, domain, traceparent))]
    if event.kind in PROMOTION_KINDS and name is not None:
        data = _promotion(event, name, facts)
        out.append(Outgoing(PROMOTIONS, envelope(*at, name, time, data, traceparent)))
    if event.kind in AUDIT_KINDS:
        audit = envelope(*at, AUDIT_KEY, time, _audit(event), traceparent)
        out.append(Outgoing(AUDIT_CHECKPOINTS, audit))
    return out


def _audit(event: StoredEvent) -> AuditCheckpoint | SigningKey:
    d = event.data
    if event.kind == "SigningKeyAdded":
        return SigningKey(
            key_id=d["key_id"],
            public_key=d["public_key"],
            replaces=d.get("replaces"),
            time=event.timestamp,
            recorded_at=event.position,
        )
    return AuditCheckpoint(
        position=d["position"],
        link=d["link"],
        key_id=d["key_id"],
        signature=d["signature"],
        time=event.timestamp,
        recorded_at=event.position,
    )


def _subject(event: StoredEvent, facts: Facts) -> tuple[str | None, int | None]:
    """The model (and version number) an event is about."""
    d = event.data
    if event.aggregate == "ModelVersion":
        if event.kind == "VersionRegistered":
            return str(d["model_id"]), int(d["number"])
        version = facts.version(event.originator_id)
        return (version.model_id, version.number) if version else (None, None)
    return event.originator_id, d.get("number")


def _promotion(event: StoredEvent, name: str, facts: Facts) -> StageChange | AliasChange:
    d = event.data
    if event.kind.startswith("Alias"):
        version = facts.version(str(version_id_for(UUID(event.originator_id), d["number"])))
        return AliasChange(
            model=name,
            alias=d["alias"],
            version=d["number"],
            previous=d.get("previous"),
            artifact_uri=version.artifact_uri if version else None,
            sha256=version.sha256 if version else None,
            size=version.size if version else None,
            actor=d["actor"],
            time=event.timestamp,
            position=event.position,
        )
    version = facts.version(str(d["version_id"]))
    promoted = event.kind == "VersionPromoted"
    return StageChange(
        model=name,
        version=d["number"],
        from_stage=d["from_stage"],
        to_stage=d["to_stage"] if promoted else "archived",
        artifact_uri=version.artifact_uri if version else "",
        sha256=version.sha256 if version else None,
        size=version.size if version else None,
        approvals=[Approval.model_validate(a) for a in d.get("approvals", [])],
        evaluation=d.get("evaluation") if promoted else None,
        superseded_by=d.get("superseded_by"),
        actor=d["actor"],
        reason=d.get("reason"),
        time=event.timestamp,
        position=event.position,
    )
