"""The audit trail end to end, against `registrum serve`: writes over HTTP are linked and
checkpointed, the checkpoints reach Kafka's registry.audit-checkpoints and the REST API
with the public key, and an auditor verifies the live log with the key and the copies kept
from Kafka."""

from __future__ import annotations

import asyncio
import json
import stat
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from aiokafka import AIOKafkaConsumer

from tests.e2e.conftest import REGISTRUM, Server, bearer, clean_env, start_server, token
from tests.services import free_port


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Server, str]]:
    port = free_port()
    running = start_server(
        tmp_path_factory.mktemp("audited") / "data",
        embedded_kafka_port=str(port),
        audit_checkpoint_seconds="0.5",
    )
    yield running, f"127.0.0.1:{port}"
    if running.process.poll() is None:
        running.stop()


async def kafka_copies(bootstrap: str, covering: int) -> list[dict[str, Any]]:
    """Every message of registry.audit-checkpoints until a checkpoint covers `covering`."""
    consumer = AIOKafkaConsumer(
        "registry.audit-checkpoints",
        bootstrap_servers=bootstrap,
        auto_offset_reset="earliest",
        fetch_max_wait_ms=20,
    )
    await consumer.start()
    seen: list[dict[str, Any]] = []
    try:
        deadline = time.monotonic() + 60
        while not any(
            m["type"] == "io.registrum.CheckpointSigned" and m["data"]["position"] >= covering
            for m in seen
        ):
            assert time.monotonic() < deadline, seen
            batches = await consumer.getmany(timeout_ms=200)
            for record in (r for records in batches.values() for r in records):
                headers = {k: v.decode() for k, v in record.headers}
                assert record.key == b"audit"
                seen.append({"type": headers["ce_type"], "data": json.loads(record.value)})
    finally:
        await consumer.stop()
    return seen


def test_an_auditor_verifies_the_live_log_with_the_key_and_kafkas_copies(
    audited: tuple[Server, str], tmp_path: Path
) -> None:
    server, bootstrap = audited
    who = bearer(token(server.url, "alice"))
    assert httpx.post(
        f"{server.url}/api/v1/models", json={"name": "audited"}, headers=who
    ).is_success
    last = 0
    for i in range(3):
        made = httpx.post(
            f"{server.url}/api/v1/models/audited/versions",
            json={"artifact_uri": f"s3://b/{i}"},
            headers=who,
        )
        assert made.status_code == 201, made.text
        last = made.json()["position"]

    # The registry's key was made on first start, for its owner only.
    key_file = server.data_dir / "audit-signing.key"
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600

    # Kafka carries the key and a checkpoint covering the last write.
    copies = asyncio.run(kafka_copies(bootstrap, last))
    assert any(m["type"] == "io.registrum.SigningKeyAdded" for m in copies)
    kept = tmp_path / "kept.jsonl"
    kept.write_text(
        "".join(
            json.dumps(m["data"]) + "\n"
            for m in copies
            if m["type"] == "io.registrum.CheckpointSigned"
        )
    )

    # The REST API serves the public key as PEM.
    page = httpx.get(f"{server.url}/api/v1/audit/checkpoints", headers=who).json()
    assert page["checkpoints"] and len(page["keys"]) == 1
    pem = tmp_path / "registry.pem"
    pem.write_text(page["keys"][0]["public_key_pem"])

    # The operator's `registrum audit verify`, against the running registry's database.
    env = clean_env()
    env["REGISTRUM_DATA_DIR"] = str(server.data_dir)
    done = subprocess.run(
        [
            REGISTRUM,
            "audit",
            "verify",
            "--json",
            "--public-key",
            str(pem),
            "--checkpoints",
            str(kept),
        ],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    report = json.loads(done.stdout)
    assert report["clean"] and report["events"] >= 8
    assert report["checkpoints"] >= len(page["checkpoints"])
