"""Resolves the real services tests need: an env URL, else Docker, else a local process."""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path


def docker_available() -> bool:
    """A daemon that answers a ping; a docker CLI alone proves nothing."""
    try:
        import docker

        client = docker.from_env(timeout=2)
        try:
            return bool(client.ping())
        finally:
            client.close()
    except Exception:
        return False


@contextmanager
def postgres_url() -> Iterator[str]:
    url = os.environ.get("REGISTRUM_TEST_DATABASE_URL")
    if url:
        yield url
        return
    if docker_available():
        from testcontainers.postgres import PostgresContainer

        with PostgresContainer("postgres:16-alpine", driver=None) as container:
            yield container.get_connection_url()
        return
    from services.embedded import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="registrum-test-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pgdata")
        url = server.start()
        try:
            yield url
        finally:
            server.stop()
