"""Starting a broker's clients when Kafka may not be up yet."""

from __future__ import annotations

import asyncio
import contextlib
import logging

from registrum.errors import KafkaHandshakeError
from registrum.kafka_handshake import diagnose
from services.bus.broker import Bus
from services.bus.security import PLAINTEXT, KafkaSecurity

log = logging.getLogger(__name__)


async def connect(
    bus: Bus, bootstrap: str, stop: asyncio.Event, security: KafkaSecurity = PLAINTEXT
) -> bool:
    """Starts the bus, retrying with a growing pause until it connects (True) or stop is
    set (False): a broker that is not up yet is waited for, not an error. A secured
    handshake that fails (a certificate not trusted, credentials refused) is: it raises
    KafkaHandshakeError, since waiting would not change the configuration."""
    pause = 0.5
    while not stop.is_set():
        try:
            # aiokafka reports a refused handshake as "Unable to bootstrap", like a broker
            # that is not up; this asks closely first. (First, too, because a failed start
            # leaves FastStream's aiokafka producer unclosed.)
            await diagnose(bootstrap, security)
        except KafkaHandshakeError as refused:
            log.error("Kafka at %s: %s", bootstrap, refused.message)
            raise
        try:
            await bus.broker.start()
            log.info("connected to Kafka at %s (%s)", bootstrap, security.protocol)
            return True
        except Exception as error:  # the broker may start after us; keep trying
            log.warning("Kafka at %s unreachable (%s); retrying in %.1fs", bootstrap, error, pause)
            with contextlib.suppress(Exception):
                await bus.broker.stop()
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), timeout=pause)
        pause = min(pause * 2, 10.0)
    return False
