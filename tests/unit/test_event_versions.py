"""Stored events are never rewritten: old versions of an event are upcast on reading."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion
from tests.factories import version_facts


def mapper() -> Mapper:
    transcoder = JSONTranscoder()
    for transcoding in (UUIDAsHex(), DecimalAsStr(), DatetimeAsISO()):
        transcoder.register(transcoding)
    return Mapper(transcoder=transcoder)


def test_a_version_registered_before_manifests_reads_back_with_no_files() -> None:
    version = ModelVersion.register(
        ctx=Context("alice"),
        model_id=uuid4(),
        model_name="m",
        number=1,
        **version_facts(artifact_uri="s3://old"),
    )
    codec = mapper()
    stored = codec.to_stored_event(version.collect_events()[0])
    # What class_version 1 wrote: no manifest, no class_version marker.
    state = codec.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    del state["manifest"]
    old = stored.__class__(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=codec.transcoder.encode(state),
    )
    event = codec.to_domain_event(old)
    assert event.manifest == []
    assert event.mutate(None).manifest == []


def as_class_version_1(codec: Mapper, event: object, *dropped: str) -> object:
    """event as class_version 1 stored it: without the fields named, without the marker."""
    stored = codec.to_stored_event(event)  # type: ignore[arg-type]
    state = codec.transcoder.decode(stored.state)
    assert state.pop("class_version") == 2
    for name in dropped:
        del state[name]
    return stored.__class__(
        originator_id=stored.originator_id,
        originator_version=stored.originator_version,
        topic=stored.topic,
        state=codec.transcoder.encode(state),
    )


def test_an_approval_from_before_gates_reads_back_with_no_roles_and_no_override() -> None:
    version = ModelVersion.register(
        ctx=Context("alice"),
        model_id=uuid4(),
        model_name="m",
        number=1,
        **version_facts(artifact_uri="s3://old"),
    )
    version.request_approval("r1", Stage.PRODUCTION, Stage.DEVELOPMENT, 1, Context("alice"))
    version.approve("r1", Context("bob"), roles=("reviewer",))
    codec = mapper()
    granted = version.collect_events()[-1]
    event = codec.to_domain_event(as_class_version_1(codec, granted, "roles", "override"))  # type: ignore[arg-type]
    assert (event.roles, event.override) == ([], False)
    # Replayed, the request counts it: one approval of one needed.
    version.requests["r1"]["approvals"].clear()
    version.requests["r1"]["status"] = "pending"
    event.apply(version)
    assert version.requests["r1"]["status"] == "approved"


def test_a_promotion_from_before_gates_reads_back_without_an_evaluation() -> None:
    model = RegisteredModel.register("m", Context("alice"))
    model.add_version(Context("alice"))
    model.record_promotion(1, Stage.STAGING, "r1", [], Context("carol"))
    codec = mapper()
    promoted = model.collect_events()[-1]
    event = codec.to_domain_event(as_class_version_1(codec, promoted, "evaluation"))  # type: ignore[arg-type]
    assert event.evaluation is None


def test_an_alias_set_before_protection_reads_back_without_a_request() -> None:
    model = RegisteredModel.register("m", Context("alice"))
    model.add_version(Context("alice"))
    model.assign_alias("champion", 1, Context("carol"))
    codec = mapper()
    assigned = model.collect_events()[-1]
    event = codec.to_domain_event(as_class_version_1(codec, assigned, "request_id"))  # type: ignore[arg-type]
    assert event.request_id is None
