"""docker-compose.yml: valid against the official compose-spec schema, and laid out as the
roles need: PostgreSQL, Kafka and MinIO each with a named volume and a healthcheck, the
bucket made, `registrum db migrate` completed before any role starts, two APIs and one
of each follower, each role's healthcheck on /health/live at its port; the signer's key
made once into a volume it reads read-only."""

from __future__ import annotations

import re
from typing import Any

import jsonschema
import pytest

from services.settings import Settings
from tests.manifests import (
    API_PORT,
    OPS_PORT,
    ROLES,
    ROOT,
    SIGNING_KEY_NAME,
    Obj,
    compose,
    compose_schema,
)

INFRASTRUCTURE = ("postgres", "kafka", "minio")


def schema_errors(document: Obj) -> list[str]:
    schema = compose_schema()
    validator = jsonschema.validators.validator_for(schema)
    validator.check_schema(schema)
    found = validator(schema, format_checker=validator.FORMAT_CHECKER).iter_errors(document)
    return [f"{'/'.join(map(str, e.absolute_path))}: {e.message}" for e in found]


def registrum_services(services: dict[str, Obj]) -> dict[str, list[str]]:
    """name -> command, for every service that runs a registrum command."""
    return {
        name: service["command"]
        for name, service in services.items()
        if service.get("command", [None])[0] == "registrum"
    }


def role_of(command: list[str]) -> str:
    return " ".join(command[1:])


def test_compose_file_follows_the_compose_spec() -> None:
    assert schema_errors(compose()) == []


def test_the_schema_check_rejects_a_wrong_condition() -> None:
    # Only worth something if a plausible mistake fails it.
    document = compose()
    document["services"]["projector"]["depends_on"]["migrate"]["condition"] = "service_done"
    assert any("service_done" in error for error in schema_errors(document))


def test_each_server_has_a_named_volume_and_a_healthcheck() -> None:
    document = compose()
    named = set(document["volumes"])
    for name in INFRASTRUCTURE:
        service = document["services"][name]
        assert service["healthcheck"]["test"], name
        sources = {mount.split(":", 1)[0] for mount in service["volumes"]}
        assert sources & named, f"{name} keeps its data in no named volume"


def test_kafka_is_one_kraft_node_of_apache_kafka() -> None:
    kafka = compose()["services"]["kafka"]
    assert kafka["image"].startswith("apache/kafka:")
    assert set(kafka["environment"]["KAFKA_PROCESS_ROLES"].split(",")) == {"broker", "controller"}


def test_one_process_per_role_two_apis() -> None:
    commands = registrum_services(compose()["services"])
    roles = sorted(role_of(c) for c in commands.values())
    assert roles == sorted(
        ["db migrate", "api", "api", "projector", "relay", "intake", "signer", "webhooks"]
    )


def test_the_migration_completes_before_every_role_starts() -> None:
    services = compose()["services"]
    migrate = next(n for n, c in registrum_services(services).items() if role_of(c) == "db migrate")
    assert services[migrate]["restart"] == "no"
    assert services[migrate]["depends_on"]["postgres"]["condition"] == "service_healthy"
    for name in registrum_services(services):
        if name != migrate:
            wait = services[name]["depends_on"][migrate]["condition"]
            assert wait == "service_completed_successfully", name


def test_roles_that_use_kafka_or_s3_wait_for_them() -> None:
    services = compose()["services"]
    for name, command in registrum_services(services).items():
        needs = services[name]["depends_on"]
        if role_of(command) in ("relay", "intake"):
            assert needs["kafka"]["condition"] == "service_healthy", name
        if role_of(command) in ("api", "intake"):
            assert needs["minio-bucket"]["condition"] == "service_completed_successfully", name


def healthcheck_url(service: Obj) -> str:
    test = service["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"], "the image has python, not curl"
    compile(test[3], "healthcheck", "exec")  # the snippet at least parses
    [url] = re.findall(r"http://[^'\"]+", test[3])
    return url


def test_each_role_checks_its_liveness_on_its_port() -> None:
    services = compose()["services"]
    checked = set()
    for name, command in registrum_services(services).items():
        role = role_of(command)
        if role not in ROLES:
            continue
        port = API_PORT if role == "api" else OPS_PORT
        assert healthcheck_url(services[name]) == f"http://127.0.0.1:{port}/health/live"
        checked.add(role)
    assert checked == set(ROLES)


def test_the_bucket_the_roles_use_is_made() -> None:
    services = compose()["services"]
    script = " ".join(services["minio-bucket"]["entrypoint"])
    for name in registrum_services(services):
        environment: dict[str, Any] = services[name]["environment"]
        bucket = environment["REGISTRUM_S3_BUCKET"]
        assert re.search(rf"mc mb --ignore-existing \w+/{bucket}\b", script), name
        assert environment["REGISTRUM_S3_ENDPOINT"] == "minio:9000"
        assert environment["REGISTRUM_S3_SECURE"] == "false"


@pytest.mark.parametrize(
    "name", ["migrate", "api-1", "api-2", "projector", "relay", "intake", "signer", "webhooks"]
)
def test_roles_set_only_real_settings(name: str) -> None:
    environment = compose()["services"][name]["environment"]
    fields = {f"REGISTRUM_{field.upper()}" for field in Settings.model_fields}
    # A misspelt setting would be ignored silently by the server.
    assert set(environment) <= fields
    assert "REGISTRUM_DATABASE_URL" in environment


def test_the_signer_reads_the_key_made_once_into_its_volume() -> None:
    document = compose()
    services = document["services"]
    signer = services["signer"]
    key_file = signer["environment"]["REGISTRUM_AUDIT_KEY_FILE"]
    # The signer keeps the shared settings beside its own (a merge, not a replacement).
    assert signer["environment"]["REGISTRUM_DATABASE_URL"]
    # Its key, from a named volume, read-only, at the path REGISTRUM_AUDIT_KEY_FILE names.
    [mount] = signer["volumes"]
    volume, directory, *options = mount.split(":")
    assert volume in document["volumes"]
    assert options == ["ro"], mount
    assert key_file == f"{directory}/{SIGNING_KEY_NAME}"
    # Made by hand once (a profile keeps `up` from running it): keygen into that volume,
    # then handed to the image's user, as the signer reads only its own file.
    [user] = re.findall(r"^USER (\S+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.M)
    maker = services["signing-key"]
    assert maker["profiles"] and maker["restart"] == "no"
    assert f"{volume}:{directory}" in maker["volumes"]
    script = " ".join(maker["command"][2:])
    assert f"registrum audit keygen --out {key_file}" in script
    assert f"chown {user} {key_file}" in script


def test_the_apis_and_the_webhooks_role_share_the_webhook_key_made_once() -> None:
    document = compose()
    services = document["services"]
    [user] = re.findall(r"^USER (\S+)$", (ROOT / "deploy" / "Dockerfile").read_text(), re.M)
    maker = services["webhook-key"]
    assert maker["profiles"] and maker["restart"] == "no"
    script = " ".join(maker["command"][2:])
    for name in ("api-1", "api-2", "webhooks"):
        service = services[name]
        key_file = service["environment"]["REGISTRUM_WEBHOOK_KEY_FILE"]
        assert service["environment"]["REGISTRUM_DATABASE_URL"]  # merged, not replaced
        [mount] = service["volumes"]
        volume, directory, *options = mount.split(":")
        assert volume in document["volumes"] and options == ["ro"], (name, mount)
        assert key_file == f"{directory}/webhook-secrets.key"
        assert f"{volume}:{directory}" in maker["volumes"]
        assert f"registrum webhooks keygen --out {key_file}" in script
        assert f"chown {user} {key_file}" in script
    # Not the signer's volume: an API never sees the signing key.
    assert services["signer"]["volumes"] != services["api-1"]["volumes"]
