"""The tampering suite, on real PostgreSQL: each kind of edit made with plain SQL on the
events table is found and named by `registrum audit verify`; an untouched log is clean.

Each test has a registry of its own database: a few models, versions and a promotion,
a signed checkpoint, then more events after it.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from typer.testing import CliRunner

from schemas import commands as c
from services.audit.signing import public_pem, raw_public
from services.bootstrap import build_registry
from services.checkpoints.signer import Cadence, Signer
from services.cli.audit import audit_app
from services.registry.application import Registry
from services.settings import Settings
from tests.people import person
from tests.services import fresh_database

ALICE, BOB = person("alice"), person("bob")


@pytest.fixture
def log_url(database_url: str, unique: str) -> Iterator[str]:
    url = fresh_database(database_url, f"tamper_{unique}")
    registry = build_registry(Settings(db_pool_size=2), url)
    try:
        write_history(registry, url)
    finally:
        registry.close()
    yield url


KEY = Ed25519PrivateKey.generate()


def write_history(registry: Registry, url: str) -> None:
    from tests.people import open_to_testers

    open_to_testers(registry)
    registry.handle(c.RegisterModel(name="fraud"), ALICE)
    for i in range(4):
        registry.handle(c.RegisterVersion(model="fraud", artifact_uri=f"s3://b/{i}"), ALICE)
    signer = Signer(registry, url, KEY, Cadence())
    assert asyncio.run(signer.sign_now())
    for i in range(3):
        registry.handle(c.RegisterVersion(model="fraud", artifact_uri=f"s3://c/{i}"), ALICE)


def _b64(data: bytes) -> str:
    import base64

    return base64.b64encode(data).decode()


def run_sql(url: str, *statements: str) -> list[Any]:
    async def go() -> list[Any]:
        conn = await asyncpg.connect(url)
        try:
            out = []
            for statement in statements:
                out.append(await conn.fetch(statement))
            return out
        finally:
            await conn.close()

    return asyncio.run(go())


def audit(url: str, *args: str) -> tuple[int, dict[str, Any]]:
    result = CliRunner().invoke(
        audit_app, ["verify", "--json", *args], env={"REGISTRUM_DATABASE_URL": url}
    )
    return result.exit_code, json.loads(result.stdout)


def edit_payload(url: str, position: int, old: str, new: str) -> None:
    """Replaces old by new in the stored bytes of the event at position, with plain SQL."""
    run_sql(
        url,
        "UPDATE registry_events SET state = convert_to(replace(convert_from(state, 'UTF8'),"
        f" '{old}', '{new}'), 'UTF8') WHERE notification_id = {position}",
    )


def found(url: str, *args: str) -> list[tuple[str, int]]:
    code, report = audit(url, *args)
    assert code == (0 if report["clean"] else 1)
    return [(f["kind"], f["position"]) for f in report["findings"]]


def positions(url: str, where: str = "true") -> list[int]:
    rows = run_sql(url, f"SELECT notification_id FROM registry_events WHERE {where} ORDER BY 1")[0]
    return [r[0] for r in rows]


def version_rows(url: str) -> list[int]:
    return positions(url, "topic LIKE '%VersionRegistered'")


def checkpoint_row(url: str) -> int:
    return positions(url, "topic LIKE '%CheckpointSigned'")[0]


def covered(url: str) -> int:
    """The position the checkpoint signed."""
    state = run_sql(
        url, f"SELECT state FROM registry_events WHERE notification_id = {checkpoint_row(url)}"
    )
    return int(json.loads(bytes(state[0][0][0]))["position"])


# -- the untouched log ------------------------------------------------------------------


def test_an_untouched_log_verifies_clean(log_url: str) -> None:
    code, report = audit(log_url)
    assert code == 0 and report["clean"]
    assert report["events"] == report["links"] == len(positions(log_url))
    assert report["checkpoints"] == 1


# -- each edit, named ---------------------------------------------------------------------


def test_an_updated_payload_is_named(log_url: str) -> None:
    target = version_rows(log_url)[1]
    edit_payload(log_url, target, "s3://b/1", "s3://evil/1")
    assert found(log_url) == [("payload_altered", target)]


def test_an_updated_type_is_named(log_url: str) -> None:
    target = version_rows(log_url)[2]
    run_sql(
        log_url,
        "UPDATE registry_events SET topic = replace(topic, 'VersionRegistered',"
        f" 'VersionDeleted') WHERE notification_id = {target}",
    )
    assert found(log_url) == [("metadata_altered", target)]


def test_a_deleted_row_is_named(log_url: str) -> None:
    target = version_rows(log_url)[0]
    run_sql(log_url, f"DELETE FROM registry_events WHERE notification_id = {target}")
    assert found(log_url) == [("deleted", target)]


def test_an_inserted_forged_row_is_named(log_url: str) -> None:
    # A copy of a real approval-free registration, at a fresh position.
    source = version_rows(log_url)[0]
    run_sql(
        log_url,
        "INSERT INTO registry_events (originator_id, originator_version, topic, state)"
        " SELECT gen_random_uuid(), 1, topic, state FROM registry_events"
        f" WHERE notification_id = {source}",
    )
    forged = positions(log_url)[-1]
    assert found(log_url) == [("inserted", forged)]


def test_two_swapped_rows_are_named(log_url: str) -> None:
    a, b = version_rows(log_url)[0], version_rows(log_url)[3]
    run_sql(
        log_url,
        f"UPDATE registry_events SET notification_id = -1 WHERE notification_id = {a}",
        f"UPDATE registry_events SET notification_id = {a} WHERE notification_id = {b}",
        f"UPDATE registry_events SET notification_id = {b} WHERE notification_id = -1",
    )
    assert found(log_url) == [("reordered", a), ("reordered", b)]


def test_a_tail_truncated_after_a_checkpoint_is_named(log_url: str) -> None:
    cut = checkpoint_row(log_url)
    run_sql(log_url, f"DELETE FROM registry_events WHERE notification_id > {cut}")
    assert found(log_url) == [("truncated", cut + 1)]


def test_a_tail_truncated_in_both_tables_is_caught_by_a_kept_checkpoint(
    log_url: str, tmp_path: Path
) -> None:
    # The auditor kept the checkpoints (as /api/v1/audit/checkpoints or Kafka gave them).
    kept = tmp_path / "checkpoints.jsonl"
    signed = run_sql(
        log_url, "SELECT state FROM registry_events WHERE topic LIKE '%CheckpointSigned'"
    )[0]
    kept.write_text("".join(bytes(r[0]).decode() + "\n" for r in signed))
    at = covered(log_url)
    # The forger removes the events and their links from the covered position on, and
    # the checkpoint event with them.
    for table, column in (("registry_events", "notification_id"), ("registrum_chain", "position")):
        run_sql(log_url, f"DELETE FROM {table} WHERE {column} >= {at - 1}")
    assert found(log_url) == []  # what is left is consistent...
    key = tmp_path / "registry.pem"
    key.write_text(public_pem(raw_public(KEY)))
    kept_copies = ["--checkpoints", str(kept), "--public-key", str(key)]
    assert found(log_url, *kept_copies) == [("truncated", at)]  # ...but not whole


def test_a_forged_checkpoint_is_named(log_url: str) -> None:
    target = checkpoint_row(log_url)
    # The forger re-signs with a key of their own, naming the registry's key id.
    run_sql(
        log_url,
        "UPDATE registry_events SET state = convert_to(regexp_replace(convert_from(state,"
        ' \'UTF8\'), \'"signature":"[^"]+"\', \'"signature":"' + _b64(bytes(64)) + "\"'),"
        f" 'UTF8') WHERE notification_id = {target}",
    )
    assert found(log_url) == [("checkpoint_forged", covered(log_url)), ("payload_altered", target)]


def test_a_rewrite_with_recomputed_links_is_caught_by_the_checkpoint(log_url: str) -> None:
    from services.audit.chain import GENESIS, head_digest, link, payload_digest

    target = version_rows(log_url)[0]
    edit_payload(log_url, target, "s3://b/0", "s3://evil/0")
    # The forger knows the chain's rules and rewrites every link after the edit.
    rows = run_sql(
        log_url,
        "SELECT notification_id, originator_id, originator_version, topic, state"
        " FROM registry_events ORDER BY notification_id",
    )[0]
    previous, statements = GENESIS, []
    for position, stream, version, topic, state in rows:
        head, payload = head_digest(stream, version, topic), payload_digest(bytes(state))
        previous = link(previous, position, head, payload)
        statements.append(
            f"UPDATE registrum_chain SET head = '\\x{head.hex()}', payload = '\\x{payload.hex()}',"
            f" link = '\\x{previous.hex()}' WHERE position = {position}"
        )
    run_sql(log_url, *statements)
    assert found(log_url) == [("checkpoint_mismatch", covered(log_url))]


def test_verify_trusts_only_the_given_public_key(log_url: str, tmp_path: Path) -> None:
    ours = tmp_path / "registry.pem"
    ours.write_text(public_pem(raw_public(KEY)))
    assert found(log_url, "--public-key", str(ours)) == []
    theirs = tmp_path / "other.pem"
    theirs.write_bytes(
        Ed25519PrivateKey.generate()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    assert found(log_url, "--public-key", str(theirs)) == [
        ("checkpoint_unknown_key", covered(log_url))
    ]
