"""The checkpoint signer on real PostgreSQL: it signs every N events or T seconds while the
log moves and stays quiet while it is idle; a rotated key is an event and old checkpoints
stay verifiable; GET /api/v1/audit/checkpoints serves them with the public keys."""

from __future__ import annotations

import asyncio
import base64
import threading
import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from fastapi.testclient import TestClient

from schemas import commands as c
from services.api.app import create_app
from services.audit.signing import Checkpoint, public_from_pem, signature_holds
from services.bootstrap import build_registry
from services.checkpoints.signer import Cadence, Signer
from services.cli.audit import _verify_database
from services.registry.application import Registry
from services.settings import Settings
from tests.people import Badges, open_to_testers, person
from tests.services import fresh_database

ALICE = person("alice")
BADGES = Badges()


@pytest.fixture
def log(database_url: str, unique: str) -> Iterator[tuple[Registry, str]]:
    url = fresh_database(database_url, f"signer_{unique}")
    registry = build_registry(Settings(db_pool_size=2), url)
    open_to_testers(registry)
    registry.handle(c.RegisterModel(name="fraud"), ALICE)
    yield registry, url
    registry.close()


class Running:
    """A signer run in a thread until stopped."""

    def __init__(self, signer: Signer) -> None:
        self.stop = asyncio.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(
            target=self.loop.run_until_complete, args=(signer.run(self.stop),)
        )
        self.thread.start()

    def close(self) -> None:
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)
        self.loop.close()


def register(registry: Registry, count: int) -> None:
    for _ in range(count):
        registry.handle(c.RegisterVersion(model="fraud", artifact_uri="s3://b/x"), ALICE)


def checkpoints(url: str) -> list[dict[str, Any]]:
    from services.audit import reading

    async def page() -> list[dict[str, Any]]:
        import asyncpg

        conn = await asyncpg.connect(url)
        try:
            found = await reading.recorded_page(conn, reading.CHECKPOINT_TOPIC, 0, 1000)
        finally:
            await conn.close()
        return [{"recorded_at": r.position, **r.data} for r in found]

    return asyncio.run(page())


def eventually(check: Callable[[], bool], seconds: float = 30) -> None:
    deadline = time.monotonic() + seconds
    while not check():
        assert time.monotonic() < deadline, "not within the time"
        time.sleep(0.05)


def test_a_checkpoint_every_n_events_none_while_idle(log: tuple[Registry, str]) -> None:
    registry, url = log
    running = Running(Signer(registry, url, Ed25519PrivateKey.generate(), Cadence(10, 3600, 0.02)))
    try:
        # Two bursts of at least 10 events each (a registration records two or more). One
        # burst written faster than the signer polls is one checkpoint of its head: the
        # cadence bounds how far apart checkpoints are, it does not sign every tenth event.
        register(registry, 6)
        eventually(lambda: len(checkpoints(url)) >= 1)
        register(registry, 6)
        eventually(lambda: len(checkpoints(url)) >= 2)
        signed = len(checkpoints(url))
        time.sleep(0.5)  # idle: nothing more to sign, and its own checkpoints do not count
        assert len(checkpoints(url)) == signed
    finally:
        running.close()
    report = asyncio.run(_verify_database(url, {}, []))
    assert report.clean and report.checkpoints == signed


def test_a_checkpoint_after_t_seconds_when_the_log_moved(log: tuple[Registry, str]) -> None:
    registry, url = log
    cadence = Cadence(events=10**6, seconds=0.3, poll=0.02)
    running = Running(Signer(registry, url, Ed25519PrivateKey.generate(), cadence))
    try:
        eventually(lambda: len(checkpoints(url)) == 1)
        register(registry, 1)
        eventually(lambda: len(checkpoints(url)) == 2)
        first, second = checkpoints(url)
        assert second["position"] > first["recorded_at"]  # it covers the new version
        time.sleep(0.8)  # T passes twice more with no new event: nothing signed
        assert len(checkpoints(url)) == 2
    finally:
        running.close()


def test_a_rotated_key_is_recorded_and_old_checkpoints_still_verify(
    log: tuple[Registry, str],
) -> None:
    registry, url = log
    old, new = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    for key in (old, new):
        signer = Signer(registry, url, key, Cadence(1, 3600, 0.02))
        running = Running(signer)
        try:
            register(registry, 1)
            signed_by = signer.key_id
            eventually(lambda: signed_by in {cp["key_id"] for cp in checkpoints(url)})  # noqa: B023
        finally:
            running.close()
    signers = {cp["key_id"] for cp in checkpoints(url)}
    assert len(signers) == 2
    report = asyncio.run(_verify_database(url, {}, []))
    assert report.clean and report.checkpoints == len(checkpoints(url))

    # The REST API serves both keys, the second naming the first it replaced.
    app = create_app(registry, url, authenticator=BADGES.authenticator(), events_dsn=url)
    with TestClient(app) as http:
        assert http.get("/api/v1/audit/checkpoints").status_code == 401
        page = http.get("/api/v1/audit/checkpoints", headers=BADGES.headers("auditor")).json()
    keys = {k["key_id"]: k for k in page["keys"]}
    assert set(keys) == signers
    second = next(k for k in page["keys"] if k["replaces"] is not None)
    assert second["replaces"] in keys
    for cp in page["checkpoints"]:
        key = keys[cp["key_id"]]
        raw = base64.b64decode(key["public_key"])
        assert public_from_pem(key["public_key_pem"]) == raw
        assert signature_holds(raw, Checkpoint.from_json(cp))


def test_checkpoints_page_through(log: tuple[Registry, str]) -> None:
    registry, url = log
    running = Running(Signer(registry, url, Ed25519PrivateKey.generate(), Cadence(1, 3600, 0.01)))
    try:
        for count in range(1, 4):
            register(registry, 1)
            eventually(lambda count=count: len(checkpoints(url)) >= count)  # type: ignore[misc]
    finally:
        running.close()
    app = create_app(registry, url, authenticator=BADGES.authenticator(), events_dsn=url)
    seen, token = [], None
    with TestClient(app) as http:
        http.headers.update(BADGES.headers("auditor"))
        while True:
            params = {"limit": 2, **({"page_token": token} if token else {})}
            page = http.get("/api/v1/audit/checkpoints", params=params).json()
            seen += [cp["position"] for cp in page["checkpoints"]]
            token = page["next_page_token"]
            if token is None:
                break
    assert seen == [cp["position"] for cp in checkpoints(url)] and len(seen) >= 3
