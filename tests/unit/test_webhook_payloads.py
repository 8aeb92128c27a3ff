"""What webhooks hear of each event of the log: MLflow's event names and data shapes for
what MLflow has, Registrum's governance events for the rest, the model named as it was
then; and deliveries whose id and body are the same however often they are built."""

from __future__ import annotations

import asyncio

import orjson
import pytest

from services.relay.facts import StoreFacts
from services.webhooks import queue
from services.webhooks.events import Event, UnknownEvent
from services.webhooks.payloads import Notice, notices
from tests.fakes.eventlog import MemoryEventLog, RegistryEvents

pytestmark = pytest.mark.unit


def heard(log: MemoryEventLog) -> list[Notice]:
    """Every notice of the log, read as the follower reads it (one batch, facts loaded)."""
    batch = asyncio.run(log.read_after(0, 1000))
    facts = StoreFacts()
    asyncio.run(facts.load(log, batch))
    found = []
    for event in batch:
        facts.observe(event)
        found += notices(event, facts)
    return found


def test_mlflow_events_have_mlflows_names_and_shapes() -> None:
    log = MemoryEventLog()
    write = RegistryEvents(log.append)
    model = write.register_model("fraud")
    write.register_version(model, 1, artifact_uri="s3://models/fraud/1")
    write.tag_version(model, 1, "team", "risk")
    write.tag_version(model, 1, "team", None)
    write.assign_alias(model, "champion", 1)
    write.remove_alias(model, "champion", 1)
    write.tag_model(model, "team", "risk")  # MLflow has no webhook event for this

    assert [(n.event.name, n.data) for n in heard(log)] == [
        ("registered_model.created", {"name": "fraud", "tags": {}, "description": None}),
        (
            "model_version.created",
            {
                "name": "fraud",
                "version": "1",
                "source": "s3://models/fraud/1",
                "run_id": None,
                "tags": {},
                "description": None,
            },
        ),
        (
            "model_version_tag.set",
            {"name": "fraud", "version": "1", "key": "team", "value": "risk"},
        ),
        ("model_version_tag.deleted", {"name": "fraud", "version": "1", "key": "team"}),
        ("model_version_alias.created", {"name": "fraud", "alias": "champion", "version": "1"}),
        ("model_version_alias.deleted", {"name": "fraud", "alias": "champion"}),
    ]


def test_a_promotion_carries_its_approvals_and_who_promoted() -> None:
    log = MemoryEventLog()
    write = RegistryEvents(log.append, actor="carol")
    model = write.register_model("fraud")
    write.register_version(model, 1)
    write.promote(model, 1)

    promoted = heard(log)[-1]
    assert promoted.event == Event("model_version_stage", "promoted")
    assert promoted.data["to_stage"] == "production"
    assert promoted.data["promoted_by"] == "carol"
    assert promoted.data["approvals"][0]["actor"] == "bob"
    assert promoted.model_id == str(model)


def test_events_name_the_model_as_it_was_then() -> None:
    log = MemoryEventLog()
    write = RegistryEvents(log.append)
    model = write.register_model("fraud")
    write.register_version(model, 1)
    write.rename_model(model, "fraud-v2")
    write.assign_alias(model, "champion", 1)

    assert [(n.model, n.model_id) for n in heard(log)] == [
        ("fraud", str(model)),
        ("fraud", str(model)),
        ("fraud-v2", str(model)),  # renamed: one queue still (model_id), the new name shown
    ]


def test_a_delivery_is_the_same_however_often_it_is_built() -> None:
    log = MemoryEventLog()
    write = RegistryEvents(log.append)
    write.register_model("fraud")
    first, again = heard(log)[0], heard(log)[0]

    assert queue.body(first) == queue.body(again)
    assert orjson.loads(queue.body(first)) == {
        "entity": "registered_model",
        "action": "created",
        "timestamp": first.time.isoformat(),  # the event's time, not the sending's
        "data": {"name": "fraud", "tags": {}, "description": None},
    }
    one = queue.delivery_id("registry", "w1", 7, "registered_model.created")
    assert one == queue.delivery_id("registry", "w1", 7, "registered_model.created")
    assert one != queue.delivery_id("registry", "w2", 7, "registered_model.created")
    assert one != queue.delivery_id("registry", "w1", 8, "registered_model.created")


def test_events_are_read_in_mlflows_wire_form_or_as_names() -> None:
    assert Event.parse("MODEL_VERSION", "CREATED") == Event.named("model_version.created")
    assert Event.named("model_version.created").wire() == {
        "entity": "MODEL_VERSION",
        "action": "CREATED",
    }
    with pytest.raises(UnknownEvent, match="prompts"):
        Event.parse("PROMPT", "CREATED")
    with pytest.raises(UnknownEvent, match="unknown"):
        Event.parse("MODEL_VERSION", "EXPLODED")


def test_backoff_doubles_up_to_its_cap() -> None:
    waits = [queue.backoff(n, 1.0, 10.0).total_seconds() for n in range(1, 7)]
    assert waits == [1.0, 2.0, 4.0, 8.0, 10.0, 10.0]
