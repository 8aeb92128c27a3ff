"""Telling a refused handshake from a broker that is not up.

aiokafka reports an untrusted certificate or refused credentials as "Unable to bootstrap",
like a broker that is not up yet; one is fatal (the configuration must change), the other
worth waiting for. `diagnose` connects once more, closely, to tell them apart.
"""

from __future__ import annotations

import asyncio
import ssl

from registrum.errors import KafkaHandshakeError
from registrum.kafka import (
    CAFILE,
    CERTFILE,
    KEYFILE,
    MECHANISM,
    PASSWORD,
    PROTOCOL,
    USERNAME,
    KafkaSecurity,
)


async def diagnose(bootstrap: str, security: KafkaSecurity, timeout: float = 10.0) -> None:
    """Connects to each bootstrap broker with `security` and raises KafkaHandshakeError
    if one answered but the secured handshake failed (its certificate not trusted, no TLS
    there, the mechanism or credentials refused). Returns when none did (not reachable, or
    it worked), so that the caller starts its clients or retries."""
    if security.protocol == "PLAINTEXT":
        return  # nothing to refuse: no certificate, no credentials
    from aiokafka.conn import collect_hosts, create_conn
    from aiokafka.errors import KafkaConnectionError, KafkaError

    async def attempt(host: str, port: int, security: KafkaSecurity) -> None:
        conn = await asyncio.wait_for(
            create_conn(
                host,
                port,
                client_id="registrum-diagnose",
                request_timeout_ms=int(timeout * 1000),
                **security.client_options(),
            ),
            timeout,
        )
        conn.close()

    for host, port, _ in collect_hosts(bootstrap, randomize=False):
        where = f"{host}:{port}"
        try:
            await attempt(host, port, security)
        except ssl.SSLCertVerificationError as error:
            raise KafkaHandshakeError(
                f"the broker at {where} presented a certificate this client does not trust "
                f"({error.verify_message}); set {CAFILE} to the CA that signed it"
            ) from None
        except ssl.SSLError as error:
            raise KafkaHandshakeError(
                f"TLS with the broker at {where} failed ({error.reason or error}); is "
                f"{PROTOCOL}={security.protocol} right for that listener, and does it want "
                f"a client certificate ({CERTFILE}, {KEYFILE})?"
            ) from None
        except (OSError, TimeoutError):
            continue  # not up, or unreachable: worth waiting for
        except KafkaConnectionError:
            if not security.uses_sasl:
                continue
            # Some brokers (Tansu) close the connection instead of answering a SASL
            # refusal. If the same connection without SASL is answered, SASL was refused.
            try:
                await attempt(host, port, _without_sasl(security))
            except Exception:
                continue
            raise _refused(where, security, "the broker closed the connection") from None
        except KafkaError as error:
            refused = _sasl_refusal(where, security, error)
            if refused is None:
                continue
            raise refused from None
        except (KeyError, ValueError):
            # aiokafka's SCRAM client fails this way on a server-final message that
            # carries an error (e=unknown-user, e=invalid-proof) instead of a signature.
            if not security.uses_sasl:
                raise
            raise _refused(where, security, "the broker ended the exchange") from None


def _without_sasl(security: KafkaSecurity) -> KafkaSecurity:
    return KafkaSecurity(
        protocol="SSL" if security.uses_tls else "PLAINTEXT", ssl_context=security.ssl_context
    )


def _sasl_refusal(
    where: str, security: KafkaSecurity, error: Exception
) -> KafkaHandshakeError | None:
    from aiokafka import errors

    if not security.uses_sasl:
        return None
    if isinstance(error, errors.UnsupportedSaslMechanismError):
        return KafkaHandshakeError(
            f"the broker at {where} does not offer SASL {security.mechanism} ({error}); "
            f"check {MECHANISM}"
        )
    refusals = (
        errors.SaslAuthenticationFailed,
        errors.AuthenticationFailedError,
        errors.IllegalSaslStateError,
    )
    return _refused(where, security, str(error)) if isinstance(error, refusals) else None


def _refused(where: str, security: KafkaSecurity, detail: str) -> KafkaHandshakeError:
    return KafkaHandshakeError(
        f"the broker at {where} refused SASL {security.mechanism} authentication as "
        f"{security.username!r} ({detail}); check {USERNAME} and {PASSWORD}, and that the "
        f"broker offers {MECHANISM}={security.mechanism}"
    )
