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

import httpx

from services.embedded import EmbeddedPostgres


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
def database(tmp: Path, url: str | None) -> Iterator[str]:
    if url:
        yield url
        return
    postgres = EmbeddedPostgres(tmp / "pg")
    try:
        yield postgres.start()
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
            try:
                httpx.get(f"{url}/health", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield url
    finally:
        process.terminate()
        process.wait(timeout=60)
