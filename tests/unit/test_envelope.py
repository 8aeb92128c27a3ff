"""The CloudEvents envelope of what the relay publishes."""

from datetime import UTC, datetime

from cloudevents.v1.kafka import from_binary

from schemas.messages import Approval, StageChange
from services.relay.envelope import envelope

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def promotion(position: int) -> StageChange:
    return StageChange(
        model="fraud",
        version=3,
        from_stage="staging",
        to_stage="production",
        artifact_uri="models:/fraud/3",
        sha256="ab" * 32,
        size=10,
        approvals=[Approval(actor="bob", at=NOW)],
        actor="carol",
        time=NOW,
        position=position,
    )


def test_binary_mode_headers_key_and_json_data() -> None:
    message = envelope("store-1", "VersionPromoted", 42, "fraud", NOW.isoformat(), promotion(42))
    assert message.key == "fraud"
    assert message.headers["ce_id"] == b"store-1:42"
    assert message.headers["ce_type"] == b"io.registrum.VersionPromoted"
    assert message.headers["ce_specversion"] == b"1.0"
    assert message.headers["content-type"] == b"application/json"
    # A consumer with any CloudEvents SDK reads it back, data included.
    event = from_binary(message)
    assert event["subject"] == "fraud"
    assert event.get_data()["approvals"][0]["actor"] == "bob"
    assert StageChange.model_validate(event.get_data()) == promotion(42)


def test_the_id_is_stable_per_stored_event() -> None:
    first = envelope("store-1", "VersionPromoted", 7, "fraud", NOW.isoformat(), promotion(7))
    again = envelope("store-1", "VersionPromoted", 7, "fraud", NOW.isoformat(), promotion(7))
    other = envelope("store-1", "VersionPromoted", 8, "fraud", NOW.isoformat(), promotion(8))
    assert first.headers["ce_id"] == again.headers["ce_id"] != other.headers["ce_id"]
