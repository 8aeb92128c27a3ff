"""Shared bench plumbing: a database, a server process, percentiles."""

from __future__ import annotations

import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

from services.embedded_pg import EmbeddedPostgres


def machine() -> str:
    return (
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}"
    )


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def summary(label: str, seconds: list[float]) -> str:
    return (
        f"{label:<34} p50 {percentile(seconds, 0.5) * 1000:7.2f} ms   "
        f"p99 {percentile(seconds, 0.99) * 1000:7.2f} ms   "
        f"mean {statistics.fmean(seconds) * 1000:7.2f} ms   n={len(seconds)}"
    )


@contextmanager
def database(tmp: Path, url: str | None, *, migrated: bool = True) -> Iterator[str]:
    """url, or a throwaway embedded server's; migrated as `registrum db migrate` does,
    unless it only serves to make other databases on (migrated=False)."""
    from services.schema.migrator import migrate

    if url:
        if migrated:
            migrate(url, url)
        yield url
        return
    postgres = EmbeddedPostgres(tmp / "pg")
    try:
        started = postgres.start()
        if migrated:
            migrate(started, started)
        yield started
    finally:
        postgres.stop()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@contextmanager
def server(
    database_url: str, data_dir: Path, extra_env: dict[str, str] | None = None
) -> Iterator[str]:
    """`registrum serve` against database_url; yields its URL."""
    port = free_port()
    env = {
        **os.environ,
        "REGISTRUM_DATABASE_URL": database_url,
        "REGISTRUM_PORT": str(port),
        "REGISTRUM_DATA_DIR": str(data_dir),
        "REGISTRUM_LOG_LEVEL": "warning",
        **(extra_env or {}),
    }
    process = subprocess.Popen(
        [str(Path(sys.executable).parent / "registrum"), "serve"],
        env=env,
        stdout=subprocess.DEVNULL,
    )
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):
            if process.poll() is not None:
                raise RuntimeError(
                    f"registrum serve exited ({process.returncode}) before it answered; "
                    "its log is above"
                )
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        else:
            raise RuntimeError("registrum serve did not answer /health in time")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)


def bench_principal() -> Any:
    """The benchmarks' subject, as the dispatcher sees it in-process."""
    from services.auth.identity import Principal

    return Principal(subject="bench", display_name="bench", kind="user")


def grant_everything(database_url: str, subject: str = "bench") -> None:
    """subject holds every role on the registry in database_url (granted by the
    registry itself, as at a first start; once per database)."""
    from schemas import commands as c
    from schemas.rules import ROLES
    from services.bootstrap import build_registry
    from services.registry.application import SYSTEM
    from services.settings import Settings

    registry = build_registry(Settings(db_pool_size=1), database_url)
    try:
        for role in ROLES:
            grant = c.GrantRole(
                principal=f"user:{subject}", role=role, command_id=f"{subject}:{role}"
            )
            registry.handle(grant, SYSTEM)
    finally:
        registry.close()


def credential(database_url: str, subject: str = "bench") -> dict[str, str]:
    """The Authorization header of a fresh token for subject, who holds every role."""
    import asyncio
    from datetime import timedelta

    from services.auth.token_store import keep_token
    from services.auth.tokens import issue

    grant_everything(database_url, subject)
    issued = issue(
        subject, display_name=subject, kind="user", lifetime=timedelta(days=1), created_by="bench"
    )

    asyncio.run(keep_token(database_url, issued.record))
    return {"Authorization": f"Bearer {issued.secret}"}
