"""A revoked token is refused by every API process: two `registrum serve` on one database,
the token revoked through one; a command under it is refused by both at once, a read as
soon as each process has heard the revocation's notice (milliseconds)."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from services.auth.token_store import PostgresTokenStore
from services.registry.application import Registry
from tests.e2e.conftest import Server, bearer, start_server
from tests.people import token_for
from tests.services import s3_endpoint


async def _token(database_url: str, name: str) -> str:
    store = PostgresTokenStore(database_url, max_size=1)
    await store.setup()
    try:
        return await token_for(store, name)
    finally:
        await store.close()


@pytest.fixture
def two_apis(
    database_url: str, registry: Registry, tmp_path: Path, unique: str
) -> Iterator[list[Server]]:
    # (registry: its fixture gives the testers group its roles in this database.)
    # Two API processes of one registry share its artefact store: S3 here, as across
    # machines (each with a folder of its own, the second would refuse to start).
    with s3_endpoint() as s3:
        servers = [
            start_server(
                tmp_path / f"api-{i}",
                testers=False,
                first_start=False,
                database_url=database_url,
                kafka="false",
                s3_endpoint=s3.endpoint,
                s3_access_key=s3.access_key,
                s3_secret_key=s3.secret_key,
                s3_secure="true" if s3.secure else "false",
                s3_bucket=f"revocation-{unique}",
            )
            for i in (1, 2)
        ]
        yield servers
        for server in servers:
            server.stop()


def test_a_revoked_token_is_refused_by_every_api_process(
    two_apis: list[Server], database_url: str, unique: str
) -> None:
    secret = asyncio.run(_token(database_url, f"roamer-{unique}"))
    first, second = (s.url for s in two_apis)
    for url in (first, second):
        assert httpx.get(f"{url}/api/v1/whoami", headers=bearer(secret)).status_code == 200
    token_id = secret.split("_")[1]
    # Its owner revokes it through the first process...
    revoked = httpx.delete(f"{first}/api/v1/tokens/rgm_{token_id}", headers=bearer(secret))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_by"] == f"roamer-{unique}"
    # ...and the very next command to either is refused, naming why (writes read the
    # token's row; a read may use a cache for the milliseconds until its notice arrives).
    for url in (second, first):
        refused = httpx.post(
            f"{url}/api/v1/models/roamed/versions",
            headers=bearer(secret),
            json={"artifact_uri": "s3://b/x"},
        )
        assert refused.status_code == 401, refused.text
        assert refused.json()["error"]["details"]["reason"] == "revoked"
    deadline = time.monotonic() + 5
    for url in (second, first):
        while (
            read := httpx.get(f"{url}/api/v1/models", headers=bearer(secret))
        ).status_code == 200:
            assert time.monotonic() < deadline, "a read was still let in"
            time.sleep(0.05)
        assert read.status_code == 401
        assert read.json()["error"]["details"]["reason"] == "revoked"
