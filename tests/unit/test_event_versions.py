"""Stored events are never rewritten: old versions of an event are upcast on reading."""

from __future__ import annotations

from uuid import uuid4

from eventsourcing.persistence import DatetimeAsISO, DecimalAsStr, JSONTranscoder, Mapper, UUIDAsHex

from services.registry.domain.values import Context
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
