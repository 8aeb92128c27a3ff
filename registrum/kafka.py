"""How a Kafka client reaches a secured cluster: TLS (a CA file, a client certificate) and
SASL (PLAIN, SCRAM-SHA-256, SCRAM-SHA-512), from the REGISTRUM_KAFKA_* settings.

One set of rules for the server (services/settings.py reads the values) and for
`registrum watch` (reads them from the environment), checked before any connection is made;
each failure names the variable to fix. The password is never shown: not in a message, not
in a repr.

registrum/kafka_handshake.py tells a refused handshake from a broker that is not up.
"""

from __future__ import annotations

import os
import ssl
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from registrum.errors import KafkaSettingsError

BOOTSTRAP = "REGISTRUM_KAFKA_BOOTSTRAP"
PROTOCOL = "REGISTRUM_KAFKA_SECURITY_PROTOCOL"
MECHANISM = "REGISTRUM_KAFKA_SASL_MECHANISM"
USERNAME = "REGISTRUM_KAFKA_SASL_USERNAME"
PASSWORD = "REGISTRUM_KAFKA_SASL_PASSWORD"
CAFILE = "REGISTRUM_KAFKA_SSL_CAFILE"
CERTFILE = "REGISTRUM_KAFKA_SSL_CERTFILE"
KEYFILE = "REGISTRUM_KAFKA_SSL_KEYFILE"

PROTOCOLS = ("PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL")
MECHANISMS = ("PLAIN", "SCRAM-SHA-256", "SCRAM-SHA-512")
_TLS = ("SSL", "SASL_SSL")
_SASL = ("SASL_PLAINTEXT", "SASL_SSL")

PathLike = str | os.PathLike[str]


@dataclass(frozen=True)
class KafkaSecurity:
    """How every Kafka client of a process connects. Built by `kafka_security`, which
    checks the combination; PLAINTEXT (the default) adds nothing to a client's options."""

    protocol: str = "PLAINTEXT"
    mechanism: str | None = None
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ssl_context: ssl.SSLContext | None = field(default=None, compare=False)

    @property
    def uses_tls(self) -> bool:
        return self.protocol in _TLS

    @property
    def uses_sasl(self) -> bool:
        return self.protocol in _SASL

    def client_options(self) -> dict[str, Any]:
        """Keyword arguments for any aiokafka client: producer, consumer, admin."""
        options: dict[str, Any] = {"security_protocol": self.protocol}
        if self.uses_tls:
            options["ssl_context"] = self.ssl_context
        if self.uses_sasl:
            options["sasl_mechanism"] = self.mechanism
            options["sasl_plain_username"] = self.username
            options["sasl_plain_password"] = self.password
        return options


PLAINTEXT = KafkaSecurity()


def kafka_security(
    *,
    bootstrap: str | None,
    protocol: str | None = None,
    mechanism: str | None = None,
    username: str | None = None,
    password: str | None = None,
    cafile: PathLike | None = None,
    certfile: PathLike | None = None,
    keyfile: PathLike | None = None,
) -> KafkaSecurity:
    """The checked security for a cluster at `bootstrap` (None: the embedded broker, which
    speaks PLAINTEXT only). Raises KafkaSettingsError naming the variable that is wrong;
    reads the certificate files now, so that a bad one stops start-up, not the first
    publish. Empty values count as unset, as an exported but empty variable would."""
    protocol = (protocol or "PLAINTEXT").strip().upper()
    given = {
        MECHANISM: mechanism or None,
        USERNAME: username or None,
        PASSWORD: password or None,
        CAFILE: _path(cafile),
        CERTFILE: _path(certfile),
        KEYFILE: _path(keyfile),
    }
    if protocol not in PROTOCOLS:
        raise KafkaSettingsError(f"{PROTOCOL} is {protocol!r}; use one of {', '.join(PROTOCOLS)}")
    if not bootstrap:
        # A secured setting with no cluster named would otherwise quietly reach the
        # embedded broker in the clear.
        stray = [PROTOCOL] if protocol != "PLAINTEXT" else [k for k, v in given.items() if v]
        if stray:
            raise KafkaSettingsError(
                f"{stray[0]} is set but {BOOTSTRAP} is not: the embedded broker speaks "
                f"PLAINTEXT only; set {BOOTSTRAP} to the secured cluster, or unset {stray[0]}"
            )
        return PLAINTEXT
    sasl = _sasl(protocol, given)
    return KafkaSecurity(
        protocol=protocol,
        mechanism=sasl[0],
        username=sasl[1],
        password=sasl[2],
        ssl_context=_tls(protocol, given),
    )


def from_environ(environ: Mapping[str, str] | None = None) -> KafkaSecurity:
    """`kafka_security` from REGISTRUM_KAFKA_* environment variables (the client side)."""
    env = os.environ if environ is None else environ
    return kafka_security(
        bootstrap=env.get(BOOTSTRAP),
        protocol=env.get(PROTOCOL),
        mechanism=env.get(MECHANISM),
        username=env.get(USERNAME),
        password=env.get(PASSWORD),
        cafile=env.get(CAFILE),
        certfile=env.get(CERTFILE),
        keyfile=env.get(KEYFILE),
    )


def _path(value: PathLike | None) -> Path | None:
    return Path(value) if value is not None and str(value) != "" else None


def _sasl(protocol: str, given: dict[str, Any]) -> tuple[str | None, str | None, str | None]:
    if protocol not in _SASL:
        for key in (MECHANISM, USERNAME, PASSWORD):
            if given[key]:
                raise KafkaSettingsError(
                    f"{key} is set but {PROTOCOL}={protocol} does not use SASL; use "
                    f"SASL_PLAINTEXT or SASL_SSL, or unset {key}"
                )
        return None, None, None
    mechanism = given[MECHANISM]
    if not mechanism:
        raise KafkaSettingsError(
            f"{MECHANISM} is required with {PROTOCOL}={protocol}: {', '.join(MECHANISMS)}"
        )
    mechanism = mechanism.strip().upper()
    if mechanism not in MECHANISMS:
        raise KafkaSettingsError(
            f"{MECHANISM} is {mechanism!r}; use one of {', '.join(MECHANISMS)}"
        )
    for key in (USERNAME, PASSWORD):
        if not given[key]:
            raise KafkaSettingsError(f"{key} is required with {PROTOCOL}={protocol}")
    return mechanism, given[USERNAME], given[PASSWORD]


def _tls(protocol: str, given: dict[str, Any]) -> ssl.SSLContext | None:
    cafile, certfile, keyfile = given[CAFILE], given[CERTFILE], given[KEYFILE]
    if protocol not in _TLS:
        for key in (CAFILE, CERTFILE, KEYFILE):
            if given[key]:
                raise KafkaSettingsError(
                    f"{key} is set but {PROTOCOL}={protocol} does not use TLS; use SSL or "
                    f"SASL_SSL, or unset {key}"
                )
        return None
    if bool(certfile) != bool(keyfile):
        missing, present = (KEYFILE, CERTFILE) if certfile else (CERTFILE, KEYFILE)
        raise KafkaSettingsError(f"{missing} is required with {present}: set both or neither")
    from aiokafka.helpers import create_ssl_context

    try:
        # Without a CA file, the system's CAs (a cluster with a public certificate).
        context = create_ssl_context(cafile=_readable(CAFILE, cafile) if cafile else None)
    except ssl.SSLError as error:
        raise KafkaSettingsError(
            f"{CAFILE} ({cafile}) holds no CA certificate in PEM format ({error.reason})"
        ) from None
    if certfile:
        cert_path, key_path = _readable(CERTFILE, certfile), _readable(KEYFILE, keyfile)
        _load_client_certificate(context, cert_path, key_path)
    return context


def _load_client_certificate(context: ssl.SSLContext, certfile: Path, keyfile: Path) -> None:
    def no_passphrase() -> str:
        # Without this, OpenSSL would prompt on the terminal for a passphrase, and a
        # server started by a supervisor would wait there for ever.
        raise KafkaSettingsError(
            f"{KEYFILE} ({keyfile}) is encrypted; give an unencrypted key (keep it readable "
            "by the registry only)"
        )

    if "-----BEGIN CERTIFICATE-----" not in certfile.read_text(errors="replace"):
        raise KafkaSettingsError(f"{CERTFILE} ({certfile}) holds no certificate in PEM format")
    try:
        context.load_cert_chain(certfile, keyfile, password=no_passphrase)
    except ssl.SSLError as error:
        raise KafkaSettingsError(
            f"{CERTFILE} and {KEYFILE} are not a matching PEM certificate and private key "
            f"({error.reason or error})"
        ) from None


def _readable(key: str, path: Path) -> Path:
    try:
        with path.open("rb"):
            pass
    except FileNotFoundError:
        raise KafkaSettingsError(f"{key} names {path}, which does not exist") from None
    except IsADirectoryError:
        raise KafkaSettingsError(f"{key} names {path}, a folder; name a PEM file") from None
    except OSError as error:
        raise KafkaSettingsError(
            f"{key} names {path}, which cannot be read ({error.strerror})"
        ) from None
    return path
