"""The registry's Kafka side as one FastStream broker: its topics, publishers and the
intake's subscriber. Built the same way for running, for TestKafkaBroker and for the
AsyncAPI document, so the document describes what runs.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from faststream import AckPolicy
from faststream.kafka import KafkaBroker, KafkaMessage
from faststream.kafka.publisher.usecase import DefaultPublisher
from faststream.message import StreamMessage

from schemas.intake import CommandResult
from schemas.messages import AliasChange, AuditCheckpoint, DomainEvent, SigningKey, StageChange
from services.bus.producer import close_failed_starts
from services.bus.security import PLAINTEXT, KafkaSecurity, faststream_security
from services.bus.topics import (
    AUDIT_CHECKPOINTS,
    COMMANDS,
    DEAD_LETTERS,
    EVENTS,
    INTAKE_GROUP,
    PROMOTIONS,
    RESULTS,
)

# A dead letter carries the original message, which may be larger than the broker's
# default request size; a broker that refuses it gets a cut copy (see intake).
MAX_REQUEST_BYTES = 8 * 1024 * 1024

Handler = Callable[[KafkaMessage], Awaitable[None]]


@dataclass(frozen=True)
class Bus:
    broker: KafkaBroker
    promotions: DefaultPublisher
    events: DefaultPublisher
    checkpoints: DefaultPublisher
    results: DefaultPublisher
    dead_letters: DefaultPublisher

    def publisher(self, topic: str) -> DefaultPublisher:
        return {
            PROMOTIONS: self.promotions,
            EVENTS: self.events,
            AUDIT_CHECKPOINTS: self.checkpoints,
        }[topic]


async def _raw_body(message: StreamMessage[Any]) -> bytes:
    return message.body


def build_bus(
    bootstrap: str,
    intake: Handler | None = None,
    *,
    request_timeout_ms: int = 10_000,
    fetch_max_wait_ms: int = 50,
    security: KafkaSecurity = PLAINTEXT,
) -> Bus:
    """The broker with every publisher; with `intake`, also the command subscriber. Its
    producer and consumers all connect with `security` (TLS, SASL)."""
    broker = KafkaBroker(
        bootstrap,
        client_id="registrum",
        security=faststream_security(security),
        request_timeout_ms=request_timeout_ms,
        max_request_size=MAX_REQUEST_BYTES,
        # Tansu has no idempotent producer; ordering holds anyway, as aiokafka sends one
        # batch per partition at a time.
        enable_idempotence=False,
        acks="all",
        logger=logging.getLogger("registrum.bus"),
    )
    close_failed_starts(broker)
    bus = Bus(
        broker=broker,
        promotions=broker.publisher(
            PROMOTIONS,
            title="registry.promotions",
            description="Stage and alias changes, what deployers act on. Key: the model's "
            "name (one model's changes stay in order). CloudEvents 1.0 in binary mode: "
            "ce_id (store id:log position, stable across redeliveries), ce_type "
            "(io.registrum.VersionPromoted, VersionArchived, AliasAssigned, AliasRemoved), "
            "ce_source, ce_subject (the model), ce_time, content-type application/json.",
            schema=StageChange | AliasChange,
        ),
        events=broker.publisher(
            EVENTS,
            title="registry.events",
            description="Every domain event, in log order per model. Key: the model's "
            "name. CloudEvents 1.0 binary mode, ce_type io.registrum.<EventName>.",
            schema=DomainEvent,
        ),
        checkpoints=broker.publisher(
            AUDIT_CHECKPOINTS,
            title="registry.audit-checkpoints",
            description="Signed checkpoints of the log's hash chain, and the public keys "
            "that sign them, so copies live outside the registry's database. Key: "
            "'audit'. CloudEvents 1.0 binary mode, ce_type io.registrum.CheckpointSigned "
            "or io.registrum.SigningKeyAdded. Verify with `registrum audit verify "
            "--checkpoints`.",
            schema=AuditCheckpoint | SigningKey,
        ),
        results=broker.publisher(
            RESULTS,
            title="registry.command-results",
            description="The outcome of each command from registry.commands. Key: the "
            "command id. Accepted with the log position, or rejected with a typed reason.",
            schema=CommandResult,
        ),
        dead_letters=broker.publisher(
            DEAD_LETTERS,
            title="registry.commands.dlq",
            description="Messages from registry.commands that are not a command: the "
            "original bytes as value, the original key, and headers x-registrum-reason "
            "(malformed, oversized, unknown_type, invalid, failed), x-registrum-detail, "
            "x-registrum-topic, x-registrum-partition, x-registrum-offset.",
            schema=bytes,
        ),
    )
    if intake is not None:
        broker.subscriber(
            COMMANDS,
            group_id=INTAKE_GROUP,
            auto_offset_reset="earliest",
            # Commit only once the outcome is on registry.command-results (or the message
            # is a dead letter); on any other failure, consume the message again.
            ack_policy=AckPolicy.NACK_ON_ERROR,
            max_partition_fetch_bytes=MAX_REQUEST_BYTES,
            # Commands are few and latency matters; a broker holds an empty fetch this long.
            fetch_max_wait_ms=fetch_max_wait_ms,
            # The body stays bytes whatever its content-type says: the intake parses it
            # itself, so that what does not parse becomes a dead letter, not a crash loop.
            decoder=_raw_body,
            title="registry.commands",
            description="Commands from producers, one JSON object each with `type`, "
            "`command_id` and `actor` (see the command schema). The outcome goes to "
            "registry.command-results, keyed by command_id.",
        )(intake)
    return bus
