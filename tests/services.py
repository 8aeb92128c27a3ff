"""Resolves the real services tests need: an env URL, else Docker, else a local process."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any


def docker_available() -> bool:
    """A daemon that answers GET /_ping; a docker CLI alone proves nothing."""
    host = os.environ.get("DOCKER_HOST", "unix:///var/run/docker.sock")
    try:
        if host.startswith("unix://"):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            address: Any = host[len("unix://") :]
        elif host.startswith("tcp://"):
            sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            hostname, _, port = host[len("tcp://") :].partition(":")
            address = (hostname, int(port or 2375))
        else:
            return False
        with sock:
            sock.settimeout(2)
            sock.connect(address)
            sock.sendall(b"GET /_ping HTTP/1.0\r\nHost: docker\r\n\r\n")
            return b" 200 " in sock.recv(256)
    except OSError:
        return False


def alive(pid: int) -> bool:
    """Whether process pid runs (a zombie, ended but not yet reaped, does not)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0]
    except OSError:
        return False
    return state != "Z"


def free_port() -> int:
    """A port nothing listens on now, for a server a test starts."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


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
    from services.embedded_pg import EmbeddedPostgres

    with tempfile.TemporaryDirectory(prefix="registrum-test-pg-") as tmp:
        server = EmbeddedPostgres(Path(tmp) / "pgdata")
        url = server.start()
        try:
            yield url
        finally:
            server.stop()


@dataclass(frozen=True)
class S3Endpoint:
    endpoint: str  # host:port
    access_key: str
    secret_key: str
    secure: bool = False


@contextmanager
def s3_endpoint() -> Iterator[S3Endpoint]:
    """REGISTRUM_TEST_S3_ENDPOINT (+ _ACCESS_KEY/_SECRET_KEY), else MinIO in Docker, else
    a throwaway moto S3 server process on a free port."""
    endpoint = os.environ.get("REGISTRUM_TEST_S3_ENDPOINT")
    if endpoint:
        yield S3Endpoint(
            endpoint,
            os.environ.get("REGISTRUM_TEST_S3_ACCESS_KEY", ""),
            os.environ.get("REGISTRUM_TEST_S3_SECRET_KEY", ""),
            os.environ.get("REGISTRUM_TEST_S3_SECURE", "") == "1",
        )
        return
    if docker_available():
        from testcontainers.minio import MinioContainer

        with MinioContainer() as minio:
            config = minio.get_config()
            yield S3Endpoint(config["endpoint"], config["access_key"], config["secret_key"])
        return
    port = free_port()
    server = subprocess.Popen(
        [str(Path(sys.executable).parent / "moto_server"), "-H", "127.0.0.1", "-p", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with socket.socket() as probe:
                if probe.connect_ex(("127.0.0.1", port)) == 0:
                    break
            time.sleep(0.1)
        yield S3Endpoint(f"127.0.0.1:{port}", "testing", "testing")
    finally:
        server.terminate()
        server.wait(timeout=30)


@contextmanager
def kafka_bootstrap() -> Iterator[str]:
    """REGISTRUM_TEST_KAFKA_BOOTSTRAP, else Kafka in Docker, else a throwaway Tansu broker
    (no idempotent producer or transactions; it holds fetches for fetch_max_wait_ms, so
    consumers in tests lower it)."""
    bootstrap = os.environ.get("REGISTRUM_TEST_KAFKA_BOOTSTRAP")
    if bootstrap:
        yield bootstrap
        return
    if docker_available():
        from testcontainers.kafka import KafkaContainer

        with KafkaContainer() as kafka:
            yield kafka.get_bootstrap_server()
        return
    from services.embedded import EmbeddedKafka

    port = free_port()
    broker = EmbeddedKafka(port=port)
    try:
        yield broker.start()
    finally:
        broker.stop()


def migrated(url: str, read_url: str | None = None) -> str:
    """url's database (and read_url's, when the views live elsewhere) brought to this
    Registrum's schema, as `registrum db migrate` does before any process starts; returns
    url. Repeating it changes nothing."""
    from services.schema.migrator import migrate

    migrate(url, read_url or url)
    return url


def fresh_database(url: str, name: str, *, migrate: bool = True) -> str:
    """A new database named name on the server at url, at this Registrum's schema (empty
    with migrate=False); returns its URL. For tests that edit a whole log by hand
    (tampering, replay), away from the shared one."""
    import asyncio
    from urllib.parse import urlsplit, urlunsplit

    import asyncpg

    async def create() -> None:
        conn = await asyncpg.connect(url)
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()

    asyncio.run(create())
    parts = urlsplit(url)
    made = urlunsplit(parts._replace(path=f"/{name}"))
    return migrated(made) if migrate else made
