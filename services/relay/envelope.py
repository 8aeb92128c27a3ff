"""CloudEvents 1.0 in Kafka binary mode: `ce_*` headers, JSON data, the model as key."""

from __future__ import annotations

import orjson
from cloudevents.v1.http import CloudEvent
from cloudevents.v1.kafka import KafkaMessage, to_binary
from pydantic import BaseModel

TYPE_PREFIX = "io.registrum."


def event_id(store_id: str, position: int) -> str:
    """Stable per stored event: a redelivery carries the same id, so consumers dedupe."""
    return f"{store_id}:{position}"


def envelope(
    store_id: str,
    kind: str,
    position: int,
    subject: str,
    time: str,
    data: BaseModel,
    traceparent: str | None = None,
) -> KafkaMessage:
    """The CloudEvent of one stored event. traceparent, the trace of the request that
    caused it, goes in the distributed tracing extension (ce_traceparent in binary mode),
    so a consumer's span can join that trace."""
    attributes = {
        "id": event_id(store_id, position),
        "source": f"urn:registrum:{store_id}",
        "type": TYPE_PREFIX + kind,
        "subject": subject,
        "time": time,
        "datacontenttype": "application/json",
        "partitionkey": subject,  # one model's events stay in order on one partition
    }
    if traceparent is not None:
        attributes["traceparent"] = traceparent
    event = CloudEvent(attributes, data.model_dump(mode="json"))
    return to_binary(event, data_marshaller=orjson.dumps)
