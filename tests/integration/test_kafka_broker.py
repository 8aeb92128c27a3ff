"""The Kafka-protocol broker the tests (and `registrum serve`) use: produce with headers and
a key, consume in a group, as the relay and intake will."""

from __future__ import annotations

import asyncio
import uuid

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer


def test_keyed_messages_with_headers_round_trip(kafka: str) -> None:
    topic = f"registry.smoke.{uuid.uuid4().hex[:8]}"

    async def scenario() -> list[tuple[bytes | None, bytes, list[tuple[str, bytes]]]]:
        producer = AIOKafkaProducer(bootstrap_servers=kafka, enable_idempotence=False)
        await producer.start()
        try:
            for i in range(3):
                await producer.send_and_wait(
                    topic,
                    f'{{"n": {i}}}'.encode(),
                    key=b"fraud-detector",
                    headers=[("ce_id", f"store:{i}".encode()), ("ce_specversion", b"1.0")],
                )
        finally:
            await producer.stop()
        consumer = AIOKafkaConsumer(
            topic,
            bootstrap_servers=kafka,
            group_id=f"g-{topic}",
            auto_offset_reset="earliest",
            fetch_max_wait_ms=20,
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            received = []
            while len(received) < 3:
                batch = await asyncio.wait_for(consumer.getmany(timeout_ms=500), timeout=30)
                for records in batch.values():
                    received += [(r.key, r.value, list(r.headers)) for r in records]
            await consumer.commit()
            return received
        finally:
            await consumer.stop()

    received = asyncio.run(scenario())
    assert [value for _, value, _ in received] == [b'{"n": 0}', b'{"n": 1}', b'{"n": 2}']
    assert {key for key, _, _ in received} == {b"fraud-detector"}
    assert received[0][2] == [("ce_id", b"store:0"), ("ce_specversion", b"1.0")]
