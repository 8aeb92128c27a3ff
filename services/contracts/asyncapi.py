"""The AsyncAPI 3 document of the registry's Kafka side, generated from the FastStream app
(services/bus/broker.py) and completed with what FastStream does not describe: each
message's Kafka key and headers, and the commands' payload (the intake reads raw bytes so
that it can dead-letter what does not parse)."""

from __future__ import annotations

from io import StringIO
from typing import Any

import yaml
from faststream.kafka import KafkaMessage
from faststream.specification import AsyncAPI

from schemas.intake import command_message_schema

_CLOUDEVENT_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "content-type"],
    "properties": {
        "ce_specversion": {"const": "1.0"},
        "ce_id": {
            "type": "string",
            "description": "<store id>:<log position>; the same for every redelivery of an "
            "event, so consumers deduplicate by it",
        },
        "ce_source": {"type": "string", "description": "urn:registrum:<store id>"},
        "ce_type": {"type": "string", "description": "io.registrum.<EventName>"},
        "ce_subject": {"type": "string", "description": "The model's name"},
        "ce_time": {"type": "string", "format": "date-time"},
        "ce_partitionkey": {"type": "string", "description": "The model's name"},
        "content-type": {"const": "application/json"},
    },
}
_DEAD_LETTER_HEADERS: dict[str, Any] = {
    "type": "object",
    "required": ["x-registrum-reason", "x-registrum-detail"],
    "properties": {
        "x-registrum-reason": {
            "enum": ["malformed", "oversized", "unknown_type", "invalid", "failed"]
        },
        "x-registrum-detail": {"type": "string"},
        "x-registrum-topic": {"type": "string"},
        "x-registrum-partition": {"type": "string"},
        "x-registrum-offset": {"type": "string"},
        "x-registrum-truncated": {
            "type": "string",
            "description": "Set when the broker refused the whole original",
        },
    },
}
_KEYS = {
    "registry.promotions": "The model's name",
    "registry.events": "The model's name (the aggregate id for events without a model)",
    "registry.audit-checkpoints": "'audit' (one partition: checkpoints stay in order)",
    "registry.commands": "Any; the producer's choice (e.g. the model's name, to keep one "
    "model's commands in order)",
    "registry.command-results": "The command id",
    "registry.commands.dlq": "The original message's key",
}
_HEADERS = {
    "registry.promotions": _CLOUDEVENT_HEADERS,
    "registry.events": _CLOUDEVENT_HEADERS,
    "registry.audit-checkpoints": _CLOUDEVENT_HEADERS,
    "registry.commands.dlq": _DEAD_LETTER_HEADERS,
}


def document() -> dict[str, Any]:
    from services.bus.broker import build_bus

    async def intake(message: KafkaMessage) -> None:  # documentation only
        raise NotImplementedError

    bus = build_bus("localhost:9092", intake)
    spec: dict[str, Any] = (
        AsyncAPI(
            bus.broker,
            title="Registrum",
            version="0.1.0",
            description="The model registry's Kafka side: promotions and domain events "
            "published as CloudEvents 1.0 (binary mode), commands in with outcomes and "
            "dead letters out. See DESIGN.md, Message bus.",
        )
        .to_specification()
        .to_jsonable()
    )
    commands = command_message_schema(ref_template="#/components/schemas/{model}")
    schemas = spec["components"]["schemas"]
    schemas.update(commands.pop("$defs"))
    schemas["registry.commands:Message:Payload"] = commands
    for name, message in spec["components"]["messages"].items():
        channel = name.partition(":")[0]
        message["bindings"] = {"kafka": {"key": {"type": "string", "description": _KEYS[channel]}}}
        if channel in _HEADERS:
            message["headers"] = _HEADERS[channel]
    return spec


def render() -> str:
    out = StringIO()
    yaml.safe_dump(document(), out, sort_keys=True, allow_unicode=True, width=100)
    return out.getvalue()
