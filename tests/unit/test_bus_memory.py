"""The Kafka wiring in memory (FastStream's TestKafkaBroker), no database: the intake
answers a command on registry.command-results keyed by its id and dead-letters what is
not a command; the relay's sink publishes CloudEvents with key and headers intact.
The same scenarios run on a real broker and a real registry in
tests/integration/test_bus.py."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import orjson
import pytest
from aiokafka.errors import MessageSizeTooLargeError
from faststream.kafka import TestKafkaBroker
from faststream.kafka.annotations import KafkaMessage

from schemas.messages import DomainEvent
from services.auth.authenticate import Authenticator
from services.auth.tokens import MemoryTokenStore
from services.bus.broker import build_bus
from services.bus.topics import COMMANDS, DEAD_LETTERS, EVENTS, RESULTS
from services.intake.consumer import Intake
from services.relay.envelope import envelope
from services.relay.sink import KafkaSink
from services.relay.translate import Outgoing
from tests.fakes.registry import memory_registry
from tests.people import token_for

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def collect(bus: Any, topic: str, into: list[tuple[bytes | None, bytes, dict[str, str]]]) -> None:
    async def handler(message: KafkaMessage) -> None:
        into.append((message.raw_message.key, message.body, dict(message.headers)))  # type: ignore[union-attr]

    bus.broker.subscriber(topic)(handler)


def test_intake_answers_by_command_id_and_dead_letters_the_rest() -> None:
    registry = memory_registry()
    store = MemoryTokenStore()
    token = asyncio.run(token_for(store, "CI", kind="service"))
    intake = Intake(registry, Authenticator(store))
    bus = intake.attach("memory:9092")
    results: list[tuple[bytes | None, bytes, dict[str, str]]] = []
    letters: list[tuple[bytes | None, bytes, dict[str, str]]] = []
    collect(bus, RESULTS, results)
    collect(bus, DEAD_LETTERS, letters)

    async def scenario() -> None:
        async with TestKafkaBroker(bus.broker) as broker:
            command = {"type": "RegisterModel", "command_id": "c-1", "name": "m"}
            credential = {"authorization": f"Bearer {token}"}
            await broker.publish(orjson.dumps(command), COMMANDS, key=b"m", headers=credential)
            await broker.publish(b"{oops", COMMANDS, key=b"bad", headers=credential)
            # No credential: set aside unread, whatever it asks.
            other = {"type": "RegisterModel", "command_id": "c-2", "name": "n"}
            await broker.publish(orjson.dumps(other), COMMANDS, key=b"anon")

    asyncio.run(scenario())
    # The model exists, made by the credential's subject, at the position the result names.
    assert registry.get_model("m")["created_by"] == "ci"
    ((key, value, _),) = results
    assert key == b"c-1"
    assert orjson.loads(value) | {"result": None} == {
        "command_id": "c-1",
        "type": "RegisterModel",
        "status": "accepted",
        "position": registry.head_position(),
        "replayed": False,
        "result": None,
        "result_truncated": False,
        "error": None,
    }
    (key, value, headers), (anonymous, _, why) = letters
    assert (key, value) == (b"bad", b"{oops")
    assert headers["x-registrum-reason"] == "malformed"
    assert (anonymous, why["x-registrum-reason"]) == (b"anon", "unauthenticated")
    assert why["x-registrum-detail"].startswith("missing")
    assert intake.answered == 3


def test_sink_publishes_cloudevents_with_key_and_headers() -> None:
    bus = build_bus("memory:9092")
    received: list[tuple[bytes | None, bytes, dict[str, str]]] = []
    collect(bus, EVENTS, received)
    data = DomainEvent(type="ModelTagged", model="fraud", actor="a", time=NOW, position=9)
    message = envelope("s1", "ModelTagged", 9, "fraud", NOW.isoformat(), data)

    async def scenario() -> None:
        async with TestKafkaBroker(bus.broker):
            await KafkaSink(bus).publish([Outgoing(EVENTS, message)])

    asyncio.run(scenario())
    ((key, value, headers),) = received
    assert key == b"fraud"
    assert headers["ce_id"] == "s1:9" and headers["ce_type"] == "io.registrum.ModelTagged"
    assert headers["content-type"] == "application/json"
    assert DomainEvent.model_validate_json(value) == data


def test_a_dead_letter_the_broker_refuses_whole_is_sent_cut_and_flagged(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    store = MemoryTokenStore()
    token = asyncio.run(token_for(store, "ci", kind="service"))
    intake = Intake(memory_registry(), Authenticator(store))
    bus = intake.attach("memory:9092")
    letters: list[tuple[bytes | None, bytes, dict[str, str]]] = []
    collect(bus, DEAD_LETTERS, letters)
    publish = bus.dead_letters.publish

    async def broker_with_a_1_mib_limit(body: bytes, **options: Any) -> Any:
        if len(body) > 1024 * 1024:
            raise MessageSizeTooLargeError()
        return await publish(body, **options)

    monkeypatch.setattr(bus.dead_letters, "publish", broker_with_a_1_mib_limit)
    original = b'{"type": "RegisterModel", "pad": "' + b"x" * (2 * 1024 * 1024) + b'"}'

    async def scenario() -> None:
        async with TestKafkaBroker(bus.broker) as broker:
            await broker.publish(original, COMMANDS, key=b"big", headers={"authorization": token})

    asyncio.run(scenario())
    ((key, value, headers),) = letters
    # The start of the original, and the reason and the cut both said.
    assert key == b"big" and original.startswith(value) and len(value) == 64 * 1024
    assert headers["x-registrum-reason"] == "oversized"
    assert headers["x-registrum-truncated"].startswith(f"{len(original)} bytes")
