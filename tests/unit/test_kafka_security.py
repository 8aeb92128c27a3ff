"""Kafka security settings: each combination that cannot work is refused at start-up with
the REGISTRUM_* variable to fix; the ones that can become the options every Kafka client
gets (aiokafka's keywords, FastStream's security object). The password is never shown."""

from __future__ import annotations

import ssl
from pathlib import Path
from typing import Any

import pytest
from faststream.kafka.security import parse_security
from faststream.security import BaseSecurity, SASLPlaintext, SASLScram256, SASLScram512

from registrum.errors import KafkaSettingsError
from registrum.kafka import PLAINTEXT, from_environ
from services.bootstrap import Runtime
from services.bus.security import faststream_security, server_security
from services.settings import Settings
from tests.certificates import Issued, TestCA
from tests.http_registry import run_cli

SECRET = "pa55-w0rd-never-shown"
SCRAM = {
    "kafka_security_protocol": "SASL_SSL",
    "kafka_sasl_mechanism": "SCRAM-SHA-512",
    "kafka_sasl_username": "registrum",
    "kafka_sasl_password": SECRET,
}


@pytest.fixture(scope="module")
def ca(tmp_path_factory: pytest.TempPathFactory) -> TestCA:
    return TestCA.create(tmp_path_factory.mktemp("ca"))


@pytest.fixture(scope="module")
def client(ca: TestCA, tmp_path_factory: pytest.TempPathFactory) -> Issued:
    return ca.issue(tmp_path_factory.mktemp("client"), "registrum", client=True)


def settings(**values: Any) -> Settings:
    values.setdefault("kafka_bootstrap", "kafka-1:9093,kafka-2:9093")
    return Settings(**values)


def refusal(**values: Any) -> str:
    with pytest.raises(KafkaSettingsError) as refused:
        server_security(settings(**values))
    assert SECRET not in str(refused.value)
    return refused.value.message


# -- what works ---------------------------------------------------------------------------


def test_plaintext_by_default_adds_no_security() -> None:
    security = server_security(settings())
    assert security == PLAINTEXT
    assert security.client_options() == {"security_protocol": "PLAINTEXT"}
    assert faststream_security(security) is None


def test_the_embedded_broker_is_plaintext() -> None:
    assert server_security(Settings(kafka_bootstrap=None)) == PLAINTEXT


def test_scram_512_over_tls_maps_to_faststreams_scram_512_with_the_ca(ca: TestCA) -> None:
    security = server_security(settings(**SCRAM, kafka_ssl_cafile=ca.cafile))
    # The context trusts our CA (and checks host names), for every client alike.
    assert security.ssl_context is not None
    assert security.ssl_context.check_hostname
    assert [c["subject"] for c in security.ssl_context.get_ca_certs()] == [
        ((("commonName", "registrum test CA"),),)
    ]
    fs = faststream_security(security)
    assert isinstance(fs, SASLScram512)
    assert fs.ssl_context is security.ssl_context
    # What FastStream hands to aiokafka is what the raw clients get.
    given = parse_security(fs)
    options = security.client_options()
    for key in ("security_protocol", "sasl_mechanism", "sasl_plain_username", "ssl_context"):
        assert given[key] == options[key]
    assert given["security_protocol"] == "SASL_SSL"
    assert given["sasl_mechanism"] == "SCRAM-SHA-512"
    assert given["sasl_plain_password"] == SECRET


@pytest.mark.parametrize(
    ("protocol", "mechanism", "kind", "wire"),
    [
        ("SASL_PLAINTEXT", "PLAIN", SASLPlaintext, "SASL_PLAINTEXT"),
        ("SASL_SSL", "PLAIN", SASLPlaintext, "SASL_SSL"),
        ("SASL_PLAINTEXT", "SCRAM-SHA-256", SASLScram256, "SASL_PLAINTEXT"),
        ("sasl_ssl", "scram-sha-256", SASLScram256, "SASL_SSL"),
    ],
)
def test_each_mechanism_maps_to_its_faststream_class(
    protocol: str, mechanism: str, kind: type[BaseSecurity], wire: str
) -> None:
    security = server_security(
        settings(
            kafka_security_protocol=protocol,
            kafka_sasl_mechanism=mechanism,
            kafka_sasl_username="u",
            kafka_sasl_password=SECRET,
        )
    )
    fs = faststream_security(security)
    assert type(fs) is kind
    assert parse_security(fs)["security_protocol"] == wire
    assert parse_security(fs)["sasl_mechanism"] == mechanism.upper()


def test_tls_alone_uses_the_system_cas_without_a_ca_file() -> None:
    security = server_security(settings(kafka_security_protocol="SSL"))
    fs = faststream_security(security)
    assert type(fs) is BaseSecurity
    assert parse_security(fs)["security_protocol"] == "SSL"
    assert isinstance(security.ssl_context, ssl.SSLContext)
    assert security.ssl_context.verify_mode == ssl.CERT_REQUIRED


def test_mutual_tls_loads_the_client_certificate(ca: TestCA, client: Issued) -> None:
    security = server_security(
        settings(
            kafka_security_protocol="SSL",
            kafka_ssl_cafile=ca.cafile,
            kafka_ssl_certfile=client.cert,
            kafka_ssl_keyfile=client.key,
        )
    )
    assert security.uses_tls and not security.uses_sasl


def test_the_password_is_not_in_the_repr(ca: TestCA) -> None:
    security = server_security(settings(**SCRAM, kafka_ssl_cafile=ca.cafile))
    assert SECRET not in repr(security)
    assert "registrum" in repr(security)


# -- what is refused, and the variable each refusal names ---------------------------------


def test_an_unknown_protocol_names_its_variable() -> None:
    assert refusal(kafka_security_protocol="TLS").startswith(
        "REGISTRUM_KAFKA_SECURITY_PROTOCOL is 'TLS'"
    )


@pytest.mark.parametrize(
    ("missing", "variable"),
    [
        ("kafka_sasl_mechanism", "REGISTRUM_KAFKA_SASL_MECHANISM"),
        ("kafka_sasl_username", "REGISTRUM_KAFKA_SASL_USERNAME"),
        ("kafka_sasl_password", "REGISTRUM_KAFKA_SASL_PASSWORD"),
    ],
)
def test_sasl_without_each_part_names_it(missing: str, variable: str) -> None:
    values = {**SCRAM, "kafka_security_protocol": "SASL_PLAINTEXT", missing: None}
    assert refusal(**values).startswith(
        f"{variable} is required with REGISTRUM_KAFKA_SECURITY_PROTOCOL=SASL_PLAINTEXT"
    )


def test_an_unknown_mechanism_names_its_variable() -> None:
    message = refusal(**{**SCRAM, "kafka_sasl_mechanism": "GSSAPI"})
    assert message.startswith("REGISTRUM_KAFKA_SASL_MECHANISM is 'GSSAPI'")
    assert "SCRAM-SHA-512" in message


def test_credentials_without_sasl_are_refused_not_ignored() -> None:
    message = refusal(kafka_security_protocol="SSL", kafka_sasl_username="registrum")
    assert message.startswith("REGISTRUM_KAFKA_SASL_USERNAME is set but")
    assert "REGISTRUM_KAFKA_SECURITY_PROTOCOL=SSL does not use SASL" in message


def test_tls_files_without_tls_are_refused_not_ignored(ca: TestCA) -> None:
    message = refusal(
        **{**SCRAM, "kafka_security_protocol": "SASL_PLAINTEXT"}, kafka_ssl_cafile=ca.cafile
    )
    assert message.startswith("REGISTRUM_KAFKA_SSL_CAFILE is set but")


def test_security_without_a_bootstrap_would_reach_the_embedded_broker_in_the_clear(
    ca: TestCA,
) -> None:
    message = refusal(kafka_bootstrap=None, **SCRAM)
    assert message.startswith("REGISTRUM_KAFKA_SECURITY_PROTOCOL is set but")
    assert "REGISTRUM_KAFKA_BOOTSTRAP" in message
    message = refusal(kafka_bootstrap=None, kafka_ssl_cafile=ca.cafile)
    assert message.startswith("REGISTRUM_KAFKA_SSL_CAFILE is set but REGISTRUM_KAFKA_BOOTSTRAP")


@pytest.mark.parametrize(
    ("given", "missing"),
    [("cert", "REGISTRUM_KAFKA_SSL_KEYFILE"), ("key", "REGISTRUM_KAFKA_SSL_CERTFILE")],
)
def test_a_client_certificate_needs_its_key_and_the_other_way_round(
    client: Issued, given: str, missing: str
) -> None:
    files = (
        {"kafka_ssl_certfile": client.cert}
        if given == "cert"
        else {"kafka_ssl_keyfile": client.key}
    )
    message = refusal(kafka_security_protocol="SSL", **files)
    assert message.startswith(f"{missing} is required with")


def test_a_ca_file_that_is_missing_a_folder_or_not_pem_names_its_variable(
    tmp_path: Path, client: Issued
) -> None:
    missing = tmp_path / "nowhere.pem"
    assert refusal(kafka_security_protocol="SSL", kafka_ssl_cafile=missing) == (
        f"REGISTRUM_KAFKA_SSL_CAFILE names {missing}, which does not exist"
    )
    assert refusal(kafka_security_protocol="SSL", kafka_ssl_cafile=tmp_path).startswith(
        f"REGISTRUM_KAFKA_SSL_CAFILE names {tmp_path}, a folder"
    )
    # A key is not a CA certificate.
    assert refusal(kafka_security_protocol="SSL", kafka_ssl_cafile=client.key).startswith(
        "REGISTRUM_KAFKA_SSL_CAFILE"
    )


def test_a_key_that_is_not_the_certificates_names_both(
    ca: TestCA, client: Issued, tmp_path: Path
) -> None:
    other = ca.issue(tmp_path, "other", client=True)
    message = refusal(
        kafka_security_protocol="SSL", kafka_ssl_certfile=client.cert, kafka_ssl_keyfile=other.key
    )
    assert message.startswith(
        "REGISTRUM_KAFKA_SSL_CERTFILE and REGISTRUM_KAFKA_SSL_KEYFILE are not a matching"
    )


def test_an_encrypted_key_is_refused_instead_of_prompting(client: Issued, tmp_path: Path) -> None:
    from cryptography.hazmat.primitives import serialization

    key = serialization.load_pem_private_key(client.key.read_bytes(), password=None)
    encrypted = tmp_path / "encrypted.key"
    encrypted.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"passphrase"),
        )
    )
    message = refusal(
        kafka_security_protocol="SSL", kafka_ssl_certfile=client.cert, kafka_ssl_keyfile=encrypted
    )
    assert message.startswith(f"REGISTRUM_KAFKA_SSL_KEYFILE ({encrypted}) is encrypted")


def test_a_certificate_file_that_holds_none_names_its_variable(client: Issued) -> None:
    message = refusal(
        kafka_security_protocol="SSL", kafka_ssl_certfile=client.key, kafka_ssl_keyfile=client.key
    )
    assert message.startswith("REGISTRUM_KAFKA_SSL_CERTFILE")


# -- at start-up, not at first use --------------------------------------------------------


def test_the_relay_and_intake_are_refused_before_they_run(tmp_path: Path) -> None:
    # No database, no broker: the settings alone stop the roles from being built.
    wrong = Settings(
        data_dir=tmp_path, kafka_bootstrap="kafka:9093", kafka_security_protocol="SASL_SSL"
    )
    with Runtime(wrong) as runtime:
        for role in (runtime.relay, runtime.intake):
            with pytest.raises(KafkaSettingsError, match="REGISTRUM_KAFKA_SASL_MECHANISM"):
                role()


# -- the client side: `registrum watch` reads the same variables --------------------------


def test_the_environment_gives_the_client_the_same_rules(ca: TestCA) -> None:
    environ = {
        "REGISTRUM_KAFKA_BOOTSTRAP": "kafka:9093",
        "REGISTRUM_KAFKA_SECURITY_PROTOCOL": "SASL_SSL",
        "REGISTRUM_KAFKA_SASL_MECHANISM": "SCRAM-SHA-512",
        "REGISTRUM_KAFKA_SASL_USERNAME": "deployer",
        "REGISTRUM_KAFKA_SASL_PASSWORD": SECRET,
        "REGISTRUM_KAFKA_SSL_CAFILE": str(ca.cafile),
        "REGISTRUM_KAFKA_SSL_CERTFILE": "",  # exported but empty: unset
    }
    options = from_environ(environ).client_options()
    assert options["security_protocol"] == "SASL_SSL"
    assert options["sasl_mechanism"] == "SCRAM-SHA-512"
    assert isinstance(options["ssl_context"], ssl.SSLContext)
    assert from_environ({}) == PLAINTEXT


def test_watch_with_a_wrong_setting_is_a_usage_error_naming_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("REGISTRUM_KAFKA_BOOTSTRAP", "kafka:9093")
    monkeypatch.setenv("REGISTRUM_KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("REGISTRUM_KAFKA_SASL_USERNAME", "deployer")
    monkeypatch.setenv("REGISTRUM_KAFKA_SASL_PASSWORD", SECRET)
    done = run_cli("watch", debug=False)
    assert done.exit_code == 2
    assert "REGISTRUM_KAFKA_SASL_MECHANISM is required" in done.output
    assert SECRET not in done.output
