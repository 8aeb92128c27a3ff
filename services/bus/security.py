"""The server's Kafka security: the REGISTRUM_KAFKA_* settings checked once at start-up
(the rules live in registrum/kafka.py, shared with `registrum watch`), and the same
security as FastStream's broker wants it."""

from __future__ import annotations

from faststream.security import (
    BaseSecurity,
    SASLPlaintext,
    SASLScram256,
    SASLScram512,
)

from registrum.kafka import PLAINTEXT, KafkaSecurity, kafka_security
from services.settings import Settings

__all__ = ["PLAINTEXT", "KafkaSecurity", "faststream_security", "server_security"]

# FastStream names SASL classes by mechanism; whether TLS is used comes from ssl_context.
_SASL = {"PLAIN": SASLPlaintext, "SCRAM-SHA-256": SASLScram256, "SCRAM-SHA-512": SASLScram512}


def server_security(settings: Settings) -> KafkaSecurity:
    """The security of every Kafka client the server makes. Raises KafkaSettingsError
    naming the REGISTRUM_* variable that is wrong. Without REGISTRUM_KAFKA_BOOTSTRAP the
    broker is the embedded one, which is PLAINTEXT only."""
    return kafka_security(
        bootstrap=settings.kafka_bootstrap,
        protocol=settings.kafka_security_protocol,
        mechanism=settings.kafka_sasl_mechanism,
        username=settings.kafka_sasl_username,
        password=settings.kafka_sasl_password,
        cafile=settings.kafka_ssl_cafile,
        certfile=settings.kafka_ssl_certfile,
        keyfile=settings.kafka_ssl_keyfile,
    )


def faststream_security(security: KafkaSecurity) -> BaseSecurity | None:
    """FastStream's object for the KafkaBroker's `security=`: None for PLAINTEXT."""
    if security.uses_sasl:
        sasl = _SASL[str(security.mechanism)]
        return sasl(
            str(security.username),
            str(security.password),
            ssl_context=security.ssl_context,
            use_ssl=security.uses_tls,
        )
    if security.uses_tls:
        return BaseSecurity(ssl_context=security.ssl_context, use_ssl=True)
    return None
