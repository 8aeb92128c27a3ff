"""From stored events to the CloudEvents the relay publishes, and on which topics."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from uuid import UUID, uuid4

from cloudevents.v1.kafka import from_binary

from schemas.messages import AliasChange, AuditCheckpoint, DomainEvent, SigningKey, StageChange
from services.bus.topics import AUDIT_CHECKPOINTS, EVENTS, PROMOTIONS
from services.eventlog.record import StoredEvent
from services.registry.domain.model import version_id_for
from services.relay.translate import Outgoing, VersionFacts, translate

STORE = "store-1"
NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)
MODEL = uuid4()
VERSION_3 = str(version_id_for(MODEL, 3))
APPROVAL = {"actor": "bob", "at": "2026-11-25T09:00:00+00:00", "comment": "metrics hold"}


class FakeFacts:
    """One model, fraud, with one registered version, 3; records what is looked up."""

    def __init__(self) -> None:
        self.names = {str(MODEL): "fraud"}
        self.versions = {
            VERSION_3: VersionFacts(str(MODEL), 3, "s3://models/fraud/3", "ab" * 32, 2048)
        }
        self.asked: list[str] = []

    def model_name(self, model_id: str) -> str | None:
        return self.names.get(model_id)

    def version(self, version_id: str) -> VersionFacts | None:
        self.asked.append(version_id)
        return self.versions.get(version_id)


def stored(
    position: int,
    kind: str,
    aggregate: str = "RegisteredModel",
    originator: UUID | str = MODEL,
    actor: str = "carol",
    reason: str | None = None,
    **fields: Any,
) -> StoredEvent:
    """An event as the relay reads it: envelope fields and the event's own, ids as str."""
    data = {"timestamp": NOW, "actor": actor, "reason": reason, "command_id": None, **fields}
    return StoredEvent(position, str(originator), position, aggregate, kind, data)


def promoted(position: int) -> StoredEvent:
    return stored(
        position,
        "VersionPromoted",
        reason="beats v2",
        number=3,
        version_id=VERSION_3,
        from_stage="staging",
        to_stage="production",
        request_id="req-1",
        approvals=[APPROVAL],
    )


def read(out: Outgoing) -> tuple[str, dict[str, Any], dict[str, Any]]:
    """Topic, CloudEvent attributes and data, as a consumer with the SDK sees them."""
    event = from_binary(out.message)
    attributes = {k: event[k] for k in ("id", "type", "source", "subject", "time")}
    data = event.get_data()
    assert isinstance(data, dict)
    return out.topic, attributes, data


def test_a_promotion_goes_to_both_topics_keyed_by_the_model() -> None:
    out = translate(STORE, promoted(42), FakeFacts())
    assert [o.topic for o in out] == [EVENTS, PROMOTIONS]
    assert [o.message.key for o in out] == ["fraud", "fraud"]
    for o in out:
        # Same stored event, same id on either topic: consumers dedupe by it.
        _, attributes, _ = read(o)
        assert attributes["id"] == "store-1:42"
        assert attributes["type"] == "io.registrum.VersionPromoted"
        assert attributes["subject"] == "fraud"
        assert datetime.fromisoformat(attributes["time"]) == NOW


def test_the_promotion_carries_what_a_deployer_needs() -> None:
    _, _, data = read(translate(STORE, promoted(42), FakeFacts())[1])
    change = StageChange.model_validate(data)
    assert (change.model, change.version) == ("fraud", 3)
    assert (change.from_stage, change.to_stage) == ("staging", "production")
    # The artefact comes from the version's registration, not from the event.
    assert change.artifact_uri == "s3://models/fraud/3"
    assert (change.sha256, change.size) == ("ab" * 32, 2048)
    assert [(a.actor, a.comment) for a in change.approvals] == [("bob", "metrics hold")]
    assert (change.actor, change.reason, change.position) == ("carol", "beats v2", 42)


def test_the_event_stream_copy_has_the_event_without_its_envelope() -> None:
    _, _, data = read(translate(STORE, promoted(42), FakeFacts())[0])
    event = DomainEvent.model_validate(data)
    assert (event.type, event.model, event.version, event.actor) == (
        "VersionPromoted",
        "fraud",
        3,
        "carol",
    )
    assert event.position == 42
    assert event.details["request_id"] == "req-1"
    assert not {"timestamp", "actor", "reason", "command_id"} & event.details.keys()


def test_an_archive_by_supersession_is_a_stage_change_to_archived() -> None:
    event = stored(
        43,
        "VersionArchived",
        number=3,
        version_id=VERSION_3,
        from_stage="production",
        superseded_by=4,
    )
    out = translate(STORE, event, FakeFacts())
    assert [o.topic for o in out] == [EVENTS, PROMOTIONS]
    change = StageChange.model_validate(read(out[1])[2])
    assert (change.from_stage, change.to_stage, change.superseded_by) == (
        "production",
        "archived",
        4,
    )
    assert change.artifact_uri == "s3://models/fraud/3"


def test_a_tag_goes_only_to_the_event_stream() -> None:
    out = translate(STORE, stored(7, "ModelTagged", key="team", value="risk"), FakeFacts())
    assert [o.topic for o in out] == [EVENTS]
    assert out[0].message.key == "fraud"
    event = DomainEvent.model_validate(read(out[0])[2])
    assert (event.type, event.model, event.version) == ("ModelTagged", "fraud", None)
    assert event.details == {"key": "team", "value": "risk"}


def test_the_name_index_is_not_published() -> None:
    reserved = stored(1, "NameReserved", aggregate="ModelName", originator=uuid4(), name="fraud")
    assert translate(STORE, reserved, FakeFacts()) == []


def test_an_alias_names_the_artefact_of_the_version_it_points_at() -> None:
    facts = FakeFacts()
    event = stored(50, "AliasAssigned", alias="champion", number=3, previous=2)
    out = translate(STORE, event, facts)
    assert [o.topic for o in out] == [EVENTS, PROMOTIONS]
    # The event holds only the number: the version's id follows from model and number.
    assert VERSION_3 in facts.asked
    change = AliasChange.model_validate(read(out[1])[2])
    assert (change.model, change.alias, change.version, change.previous) == (
        "fraud",
        "champion",
        3,
        2,
    )
    assert (change.artifact_uri, change.sha256) == ("s3://models/fraud/3", "ab" * 32)


def test_a_version_event_is_about_the_model_and_number_it_was_registered_with() -> None:
    # Approvals live on the version's own stream: the model comes from the version's facts.
    event = stored(
        60,
        "ApprovalGranted",
        aggregate="ModelVersion",
        originator=VERSION_3,
        actor="bob",
        request_id="req-1",
    )
    out = translate(STORE, event, FakeFacts())
    assert [o.topic for o in out] == [EVENTS]
    assert out[0].message.key == "fraud"
    data = DomainEvent.model_validate(read(out[0])[2])
    assert (data.model, data.version, data.actor) == ("fraud", 3, "bob")


def test_details_too_large_for_a_message_are_left_out_and_flagged() -> None:
    # A model card of 600 KiB would make a message brokers refuse by default.
    card = {"notes": "x" * (600 * 1024)}
    event = stored(8, "ModelCardUpdated", "ModelVersion", VERSION_3, card=card)
    (out,) = translate(STORE, event, FakeFacts())
    data = DomainEvent.model_validate(read(out)[2])
    assert data.details == {} and data.details_truncated is True
    assert len(out.message.value) < 10_000
    # A small one is carried whole.
    card = {"schema_version": 1, "intended_purpose": "flag card fraud"}
    event = stored(9, "ModelCardUpdated", "ModelVersion", VERSION_3, card=card, class_version=2)
    (small,) = translate(STORE, event, FakeFacts())
    assert DomainEvent.model_validate(read(small)[2]).details == {"card": card}


def test_a_card_stored_before_cards_were_typed_is_published_as_a_typed_card() -> None:
    # class_version 1 events held free JSON; consumers get it under `legacy`, as the
    # registry's own reads show it.
    event = stored(9, "ModelCardUpdated", "ModelVersion", VERSION_3, card={"owner": "risk"})
    (out,) = translate(STORE, event, FakeFacts())
    details = DomainEvent.model_validate(read(out)[2]).details
    assert details == {"card": {"schema_version": 1, "legacy": {"owner": "risk"}}}


def test_a_signed_checkpoint_and_its_key_go_to_the_audit_topic_too() -> None:
    fields = {"position": 89, "link": "ab" * 32, "key_id": "0123456789abcdef"}
    checkpoint = stored(
        90,
        "CheckpointSigned",
        aggregate="Checkpoint",
        originator=uuid4(),
        actor="registrum",
        signature="c2ln",
    )
    checkpoint.data.update(fields)  # "position" is also stored()'s own argument
    out = translate(STORE, checkpoint, FakeFacts())
    assert [o.topic for o in out] == [EVENTS, AUDIT_CHECKPOINTS]
    _, attributes, data = read(out[1])
    assert attributes["type"] == "io.registrum.CheckpointSigned"
    assert attributes["subject"] == "audit"  # one key: checkpoints stay in order
    signed = AuditCheckpoint.model_validate(data)
    assert (signed.position, signed.link, signed.recorded_at) == (89, "ab" * 32, 90)
    key = stored(
        88,
        "SigningKeyAdded",
        aggregate="SigningKeys",
        originator=uuid4(),
        actor="registrum",
        key_id="0123456789abcdef",
        public_key="cHVi",
        replaces=None,
    )
    out = translate(STORE, key, FakeFacts())
    assert [o.topic for o in out] == [EVENTS, AUDIT_CHECKPOINTS]
    assert SigningKey.model_validate(read(out[1])[2]).public_key == "cHVi"


def test_the_promotion_message_carries_the_gates_verdict() -> None:
    event = promoted(42)
    verdict = {"policy": "fraud-gates", "policy_version": 2, "passed": True, "rules": []}
    event.data.update(evaluation=verdict)
    change = StageChange.model_validate(read(translate(STORE, event, FakeFacts())[1])[2])
    assert change.evaluation == verdict
    # An approval carries the roles its approver held, and whether it was an override.
    event.data["approvals"] = [{**APPROVAL, "roles": ["reviewer"], "override": False}]
    change = StageChange.model_validate(read(translate(STORE, event, FakeFacts())[1])[2])
    assert change.approvals[0].roles == ["reviewer"]
