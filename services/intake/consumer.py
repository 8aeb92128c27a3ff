"""The intake: consumes registry.commands, runs each command through the registry, and
answers on registry.command-results (keyed by command id) or, for what is not a command,
on registry.commands.dlq with the reason and the original bytes.

The subscriber commits a message's offset only after its answer was acknowledged by the
broker (AckPolicy.NACK_ON_ERROR in services/bus/broker.py): a crash or a lost database in
between means the message is consumed again, and its command id makes the second run
return the first outcome instead of acting twice.
"""

from __future__ import annotations

import asyncio
import logging

import psycopg
from aiokafka.errors import KafkaError, MessageSizeTooLargeError
from eventsourcing.persistence import InterfaceError, OperationalError
from faststream.kafka import KafkaMessage as Message
from faststream.kafka.annotations import KafkaMessage

from services.auth.authenticate import Authenticator
from services.auth.identity import Unauthenticated
from services.bus.broker import Bus, build_bus
from services.bus.security import PLAINTEXT, KafkaSecurity
from services.intake.handler import Refused, credential, decide, trace_context
from services.observability import metrics
from services.registry.application import Registry

log = logging.getLogger(__name__)

# Kept when a broker refuses the whole original on the dead-letter topic.
_CUT_BYTES = 64 * 1024


class Intake:
    def __init__(
        self,
        registry: Registry,
        authenticator: Authenticator,
        retry_seconds: float = 1.0,
        max_attempts: int = 3,
    ) -> None:
        self.registry = registry
        self.authenticator = authenticator
        self.answered = 0  # results and dead letters acknowledged, for tools and tests
        self.retry_seconds = retry_seconds
        self.max_attempts = max_attempts
        self._failures: dict[tuple[str, int, int], int] = {}  # (topic, partition, offset)

    def attach(self, bootstrap: str, *, security: KafkaSecurity = PLAINTEXT, **options: int) -> Bus:
        """The bus with this intake subscribed to registry.commands."""

        async def intake(message: KafkaMessage) -> None:
            await self.handle(bus, message)

        bus = build_bus(bootstrap, intake, security=security, **options)
        return bus

    async def handle(self, bus: Bus, message: Message) -> None:
        where = _where(message)
        try:
            await self._answer(bus, message)
        except Exception as error:
            attempts = self._failures[where] = self._failures.get(where, 0) + 1
            if not _transient(error) and attempts >= self.max_attempts:
                # The same failure every time: a defect, not an outage. Set it aside with
                # the reason rather than hold up every command behind it.
                detail = f"failed {attempts} times: {type(error).__name__}: {error}"[:1000]
                await self._dead_letter(bus, message, Refused("failed", detail))
                self._failures.pop(where, None)
                self.answered += 1
                return
            # The database or the broker is away: consume it again after a pause rather
            # than answer wrongly or spin.
            log.exception("command not answered (attempt %d); consuming it again", attempts)
            await asyncio.sleep(self.retry_seconds)
            raise
        self._failures.pop(where, None)

    async def _answer(self, bus: Bus, message: Message) -> None:
        headers = list(getattr(message.raw_message, "headers", None) or [])
        try:
            caller = await self.authenticator.authenticate(credential(headers), "kafka", fresh=True)
        except Unauthenticated as refused:
            await self._dead_letter(
                bus, message, Refused("unauthenticated", f"{refused.reason}: {refused.message}")
            )
            self.answered += 1
            return
        trace = trace_context(headers)
        outcome = await asyncio.to_thread(decide, self.registry, message.body, caller, trace)
        if isinstance(outcome, Refused):
            await self._dead_letter(bus, message, outcome)
        else:
            await bus.results.publish(
                outcome.model_dump_json().encode(),
                key=outcome.command_id.encode(),
                headers={"content-type": "application/json"},
            )
            metrics.INTAKE_ANSWERS.labels(outcome.status).inc()
        self.answered += 1

    async def _dead_letter(self, bus: Bus, message: Message, refused: Refused) -> None:
        record = message.raw_message
        headers = {
            "x-registrum-reason": refused.reason,
            "x-registrum-detail": refused.detail,
            "x-registrum-topic": str(getattr(record, "topic", "")),
            "x-registrum-partition": str(getattr(record, "partition", "")),
            "x-registrum-offset": str(getattr(record, "offset", "")),
        }
        log.warning("dead letter (%s): %s", refused.reason, refused.detail)
        key = getattr(record, "key", None)
        body = message.body
        try:
            await bus.dead_letters.publish(body, key=key, headers=headers)
        except MessageSizeTooLargeError:
            headers["x-registrum-truncated"] = f"{len(body)} bytes, first {_CUT_BYTES} kept"
            await bus.dead_letters.publish(body[:_CUT_BYTES], key=key, headers=headers)
        metrics.DEAD_LETTERS.labels(refused.reason).inc()


def _where(message: Message) -> tuple[str, int, int]:
    record = message.raw_message
    return (
        str(getattr(record, "topic", "")),
        int(getattr(record, "partition", -1)),
        int(getattr(record, "offset", -1)),
    )


def _transient(error: Exception) -> bool:
    """Failures of the surroundings, retried for as long as they last."""
    return isinstance(
        error, OSError | KafkaError | OperationalError | InterfaceError | psycopg.OperationalError
    )
