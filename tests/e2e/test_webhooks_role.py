"""`registrum webhooks` as roles across processes: the key made once with
`registrum webhooks keygen` and shared; a role without it refuses to start; two roles, one
delivering and one standing by; the active one killed outright, the standby takes over
and nothing is lost or reordered."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest

from schemas import commands as c
from services.bootstrap import build_registry
from services.eventlog.lease import holding
from services.settings import Settings
from services.webhooks import store
from services.webhooks.events import Event
from services.webhooks.secrets import load
from tests.e2e.conftest import REGISTRUM, clean_env
from tests.people import open_to_testers, person
from tests.receiver import Receiver, receiving
from tests.services import free_port, fresh_database

pytestmark = pytest.mark.e2e

ALICE = person("alice")


def role_env(url: str, key: Path, data_dir: Path) -> dict[str, str]:
    env = clean_env()
    env.update(
        REGISTRUM_DATABASE_URL=url,
        REGISTRUM_DATA_DIR=str(data_dir),
        REGISTRUM_WEBHOOK_KEY_FILE=str(key),
        REGISTRUM_WEBHOOK_ALLOW_PRIVATE_URLS="true",
        REGISTRUM_WEBHOOK_RETRY_MAX_SECONDS="1",
        REGISTRUM_LEASE_SECONDS="3",
        REGISTRUM_WEBHOOK_TIMEOUT_SECONDS="1",  # at most half the lease
        REGISTRUM_OPS_PORT="0",
    )
    return env


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(free_port()) as running:
        yield running


def make_webhook(url: str, key: Path, receiver: Receiver) -> None:
    cipher = load(key)
    assert cipher is not None
    receiver.secret = "role-secret-0123456789"

    async def create() -> None:
        conn = await asyncpg.connect(url)
        try:
            await store.create(
                conn,
                cipher,
                name="roles",
                url=receiver.url,
                events=[Event.named("model_version.created")],
                description=None,
                secret=receiver.secret,
                status=store.ACTIVE,
                after_position=0,
                by="alice",
            )
        finally:
            await conn.close()

    asyncio.run(create())


def lease_holder_pid(url: str) -> int | None:
    async def read() -> int | None:
        conn = await asyncpg.connect(url)
        try:
            held = await holding(conn, "webhooks")
        finally:
            await conn.close()
        return None if held is None else int(held.holder.split(":")[1])

    return asyncio.run(read())


def test_roles_share_the_key_and_a_standby_takes_over_without_losing_order(
    database_url: str, unique: str, tmp_path: Path, receiver: Receiver
) -> None:
    url = fresh_database(database_url, f"webhook_roles_{unique}")
    key = tmp_path / "webhook.key"
    env = role_env(url, key, tmp_path / "data")

    # Without the key the role says what it needs, and exits 1.
    refused = subprocess.run(
        [REGISTRUM, "webhooks"], env=env, capture_output=True, text=True, timeout=60
    )
    assert refused.returncode == 1 and "REGISTRUM_WEBHOOK_KEY_FILE" in refused.stderr
    made = subprocess.run(
        [REGISTRUM, "webhooks", "keygen", "--out", str(key)],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert made.returncode == 0 and oct(key.stat().st_mode & 0o777) == "0o600", made.stderr
    make_webhook(url, key, receiver)

    logs = [(tmp_path / f"role-{n}.log").open("w") for n in range(2)]
    roles = [subprocess.Popen([REGISTRUM, "webhooks"], env=env, stderr=log) for log in logs]
    registry = build_registry(Settings(db_pool_size=2), url)
    try:
        time.sleep(1)
        assert all(r.poll() is None for r in roles), [p.read_text() for p in tmp_path.glob("*.log")]
        open_to_testers(registry)
        registry.handle(c.RegisterModel(name="roles-model"), ALICE)
        for _ in range(5):
            registry.handle(c.RegisterVersion(model="roles-model", artifact_uri="s3://m"), ALICE)
        assert len(receiver.wait_for(5, 30)) >= 5
        # The one delivering dies without a word; the other takes over.
        active = lease_holder_pid(url)
        assert active in {r.pid for r in roles}
        os.kill(active, signal.SIGKILL)
        for _ in range(5):
            registry.handle(c.RegisterVersion(model="roles-model", artifact_uri="s3://m"), ALICE)
        got = receiver.wait_for(10, 60)
        deadline = time.monotonic() + 10
        while lease_holder_pid(url) == active and time.monotonic() < deadline:
            time.sleep(0.2)
        assert lease_holder_pid(url) in {r.pid for r in roles} - {active}
    finally:
        registry.close()
        for role in roles:
            if role.poll() is None:
                role.send_signal(signal.SIGTERM)
        for role in roles:
            role.wait(timeout=30)
        for log in logs:
            log.close()

    numbers = []
    for r in got:
        if r.body["data"]["version"] not in numbers:
            numbers.append(r.body["data"]["version"])
    assert numbers == [str(n) for n in range(1, 11)]
    assert all(r.signed for r in receiver.received)
    survivor = next(r for r in roles if r.pid != active)
    assert survivor.returncode == 0
