"""Secured Kafka against a real broker: Tansu behind a TLS-terminating proxy (Tansu has no
TLS listener of its own; see tests/secured_kafka.py), and Tansu requiring SASL SCRAM.

Shown here: the relay (FastStream producer, the probe's admin client and consumer), the
intake (FastStream consumer and producer) and `registrum watch` (a raw aiokafka consumer)
work through TLS with REGISTRUM_KAFKA_SSL_CAFILE; a CA that did not sign the broker's
certificate, or SASL credentials or a mechanism the broker refuses, end start-up with an
error naming the variable to fix, rather than being retried for ever.
Not shown: a successful SASL login (Tansu 0.6's in-memory storage keeps no SCRAM users,
so it refuses every one) and client certificates (the proxy asks for none).
"""

from __future__ import annotations

import asyncio
import gc
import time
import warnings
from collections.abc import Iterator
from typing import Any

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer

from registrum.errors import KafkaHandshakeError
from registrum.kafka import KafkaSecurity
from schemas import commands as c
from services.bootstrap import Runtime
from services.bus.broker import build_bus
from services.bus.connect import connect
from services.bus.security import server_security
from services.bus.topics import COMMANDS, DEAD_LETTERS, PROMOTIONS
from services.registry.application import Registry
from services.settings import Settings
from tests.certificates import Issued, TestCA
from tests.http_registry import run_cli
from tests.kafka_checks import promote_new_version
from tests.people import person
from tests.secured_kafka import TlsProxy, tansu_behind_tls

SECRET = "pa55-w0rd-never-shown"


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def stranger(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    """A CA that signed nothing the broker presents."""
    return TestCA.create(tmp_path_factory.mktemp("stranger"), "some other CA")


@pytest.fixture(scope="module")
def broker_certificate(ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return ca.issue(tmp_path_factory.mktemp("broker"), "broker")


@pytest.fixture(scope="module")
def tls_kafka(broker_certificate: Issued) -> Iterator[TlsProxy]:
    with tansu_behind_tls(broker_certificate) as proxy:
        yield proxy


@pytest.fixture(scope="module")
def sasl_kafka(broker_certificate: Issued) -> Iterator[TlsProxy]:
    with tansu_behind_tls(broker_certificate, authentication=True) as proxy:
        yield proxy


def address(proxy: TlsProxy) -> str:
    return f"127.0.0.1:{proxy.port}"


async def read_keys(
    bootstrap: str, security: KafkaSecurity, topic: str, key: bytes, timeout: float = 60
) -> list[dict[str, str]]:
    """The headers of the topic's records with this key, once one arrived."""
    consumer = AIOKafkaConsumer(
        topic,
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
        **security.client_options(),
    )
    await consumer.start()
    try:
        found: list[dict[str, str]] = []
        deadline = time.monotonic() + timeout
        while not found and time.monotonic() < deadline:
            batches = await consumer.getmany(timeout_ms=200)
            for record in (r for rs in batches.values() for r in rs):
                if record.key == key:
                    found.append({k: v.decode() for k, v in record.headers})
        return found
    finally:
        await consumer.stop()


def test_the_relay_publishes_through_tls_trusting_the_ca_file(
    tls_kafka: TlsProxy, ca: TestCA, registry: Registry, database_url: str, unique: str
) -> None:
    model = f"tls-{unique}"
    registry.handle(c.RegisterModel(name=model), person("alice"))
    position = promote_new_version(registry, model)
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=address(tls_kafka),
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=ca.cafile,
        store_id=f"tls-{unique}",
    )
    before = tls_kafka.handshakes

    async def scenario() -> list[dict[str, str]]:
        stop = asyncio.Event()
        with Runtime(settings) as runtime:
            relay = asyncio.create_task(runtime.relay()(stop))
            try:
                # A deployer on the same secured cluster sees the promotion.
                return await read_keys(
                    settings.kafka_bootstrap or "",
                    server_security(settings),
                    PROMOTIONS,
                    model.encode(),
                )
            finally:
                stop.set()
                await asyncio.wait_for(relay, timeout=30)

    found = asyncio.run(scenario())
    assert [h["ce_id"] for h in found if h["ce_type"] == "io.registrum.VersionPromoted"] == [
        f"tls-{unique}:{position}"
    ]
    # Every connection went through the proxy, which speaks nothing but TLS: the relay's
    # producer, its probe (admin client and consumer) and the reader above.
    assert tls_kafka.handshakes - before >= 3


@pytest.fixture(scope="module", autouse=True)
def collect_failed_handshakes() -> Iterator[None]:
    """Connections whose TLS handshake was refused on purpose here (a CA that did not sign
    the broker) leave sockets asyncio never closes; they are collected when this module
    ends rather than warned about in whichever test the collector happens to run next."""
    yield
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()


def test_the_intake_consumes_and_answers_through_tls(
    tls_kafka: TlsProxy, ca: TestCA, database_url: str, unique: str
) -> None:
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=address(tls_kafka),
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=ca.cafile,
    )
    security = server_security(settings)
    key = f"not-a-command-{unique}".encode()

    async def scenario() -> list[dict[str, str]]:
        stop = asyncio.Event()
        with Runtime(settings) as runtime:
            intake = asyncio.create_task(runtime.intake()(stop))
            try:
                producer = AIOKafkaProducer(
                    bootstrap_servers=address(tls_kafka),
                    enable_idempotence=False,
                    **security.client_options(),
                )
                await producer.start()
                try:
                    await producer.send_and_wait(COMMANDS, b"{not json", key=key)
                finally:
                    await producer.stop()
                # The intake's consumer read it through TLS; its producer set it aside.
                return await read_keys(address(tls_kafka), security, DEAD_LETTERS, key)
            finally:
                stop.set()
                await asyncio.wait_for(intake, timeout=30)

    found = asyncio.run(scenario())
    # Sent without a credential: set aside unread, as unauthenticated.
    assert [h["x-registrum-reason"] for h in found] == ["unauthenticated"]


def test_a_ca_that_did_not_sign_the_broker_stops_the_relay_with_the_variable_to_fix(
    tls_kafka: TlsProxy, stranger: TestCA, database_url: str, unique: str
) -> None:
    settings = Settings(
        database_url=database_url,
        kafka_bootstrap=address(tls_kafka),
        kafka_security_protocol="SSL",
        kafka_ssl_cafile=stranger.cafile,
        store_id=f"tls-{unique}",
    )

    async def scenario() -> None:
        with Runtime(settings) as runtime:
            await asyncio.wait_for(runtime.relay()(asyncio.Event()), timeout=60)

    started = time.monotonic()
    with pytest.raises(KafkaHandshakeError) as refused:
        asyncio.run(scenario())
    # Refused at the first attempt, not after the retries' growing pauses.
    assert time.monotonic() - started < 30
    assert "certificate" in refused.value.message
    assert "REGISTRUM_KAFKA_SSL_CAFILE" in refused.value.message


def test_watch_tails_promotions_through_tls(
    tls_kafka: TlsProxy, ca: TestCA, monkeypatch: pytest.MonkeyPatch, unique: str
) -> None:
    model = f"watched-{unique}"
    security = server_security(
        Settings(
            kafka_bootstrap=address(tls_kafka),
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=ca.cafile,
        )
    )

    async def publish() -> None:
        # The registry's own bus, publishing through TLS.
        bus = build_bus(address(tls_kafka), security=security)
        await bus.broker.start()
        try:
            data = f'{{"model": "{model}", "version": 3, "to_stage": "production"}}'
            await bus.promotions.publish(
                data.encode(),
                key=model.encode(),
                headers={"ce_id": f"s:{unique}", "ce_type": "io.registrum.VersionPromoted"},
            )
        finally:
            await bus.broker.stop()

    asyncio.run(publish())
    monkeypatch.setenv("REGISTRUM_KAFKA_BOOTSTRAP", address(tls_kafka))
    monkeypatch.setenv("REGISTRUM_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("REGISTRUM_KAFKA_SSL_CAFILE", str(ca.cafile))
    done = run_cli("watch", "--model", model, "--from-beginning", "--limit", "1", debug=False)
    assert done.exit_code == 0, done.output
    assert f"{model} v3" in done.output
    assert f"[s:{unique}]" in done.output


def test_watch_with_the_wrong_ca_says_so(
    tls_kafka: TlsProxy, stranger: TestCA, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("REGISTRUM_KAFKA_BOOTSTRAP", address(tls_kafka))
    monkeypatch.setenv("REGISTRUM_KAFKA_SECURITY_PROTOCOL", "SSL")
    monkeypatch.setenv("REGISTRUM_KAFKA_SSL_CAFILE", str(stranger.cafile))
    done = run_cli("watch", "--limit", "1", debug=False)
    assert done.exit_code == 1, done.output
    assert "REGISTRUM_KAFKA_SSL_CAFILE" in done.output


def sasl_settings(proxy: TlsProxy, ca: TestCA, mechanism: str) -> Settings:
    return Settings(
        kafka_bootstrap=address(proxy),
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_mechanism=mechanism,
        kafka_sasl_username="registrum",
        kafka_sasl_password=SECRET,
        kafka_ssl_cafile=ca.cafile,
    )


def connect_once(settings: Settings) -> Any:
    """What the relay and intake do first: start the bus, through `connect`."""
    security = server_security(settings)
    bootstrap = settings.kafka_bootstrap or ""

    async def scenario() -> bool:
        bus = build_bus(bootstrap, security=security)
        try:
            return await asyncio.wait_for(connect(bus, bootstrap, asyncio.Event(), security), 60)
        finally:
            await bus.broker.stop()

    return asyncio.run(scenario())


def test_refused_scram_credentials_over_tls_name_the_username_and_password(
    sasl_kafka: TlsProxy, ca: TestCA
) -> None:
    # Tansu ran the SCRAM-SHA-512 exchange with us over TLS, and refused the user.
    with pytest.raises(KafkaHandshakeError) as refused:
        connect_once(sasl_settings(sasl_kafka, ca, "SCRAM-SHA-512"))
    message = refused.value.message
    assert "refused SASL SCRAM-SHA-512 authentication as 'registrum'" in message
    assert "REGISTRUM_KAFKA_SASL_USERNAME and REGISTRUM_KAFKA_SASL_PASSWORD" in message
    assert SECRET not in message


def test_a_mechanism_the_broker_does_not_offer_is_refused_naming_it(
    sasl_kafka: TlsProxy, ca: TestCA
) -> None:
    # Tansu offers SCRAM only, and closes the connection on PLAIN rather than answer.
    with pytest.raises(KafkaHandshakeError) as refused:
        connect_once(sasl_settings(sasl_kafka, ca, "PLAIN"))
    assert "refused SASL PLAIN authentication" in refused.value.message
    assert "REGISTRUM_KAFKA_SASL_MECHANISM=PLAIN" in refused.value.message
