"""Write throughput: register N versions sequentially, through the HTTP API (a real
`registrum serve` process) and through the application directly.

    python bench/write.py [--versions 1000] [--database-url URL]

Without --database-url (or REGISTRUM_BENCH_DATABASE_URL) an embedded PostgreSQL is
started in a temporary directory. Prints versions/s and p50/p99 latency per path.
"""

from __future__ import annotations

import argparse
import os
import platform
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from contextlib import ExitStack
from pathlib import Path

import httpx

from services.bootstrap import build_registry
from services.embedded import EmbeddedPostgres
from services.registry.domain.values import Context
from services.settings import Settings


def percentile(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def report(label: str, latencies: list[float], elapsed: float) -> None:
    print(
        f"{label:<28} {len(latencies) / elapsed:8.1f} versions/s   "
        f"p50 {percentile(latencies, 0.50) * 1000:6.2f} ms   "
        f"p99 {percentile(latencies, 0.99) * 1000:6.2f} ms   "
        f"mean {statistics.fmean(latencies) * 1000:6.2f} ms"
    )


def bench_application(database_url: str, count: int) -> None:
    registry = build_registry(Settings(), database_url)
    name = f"bench-app-{uuid.uuid4().hex[:8]}"
    ctx = Context("bench")
    registry.create_model(name, ctx)
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        registry.register_version(name, ctx, artifact_uri=f"s3://bench/{i}", metrics={"auc": 0.9})
        latencies.append(time.perf_counter() - t0)
    report("application (in-process)", latencies, time.perf_counter() - started)
    registry.close()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def bench_http(database_url: str, count: int, data_dir: Path) -> None:
    port = free_port()
    env = {
        **os.environ,
        "REGISTRUM_DATABASE_URL": database_url,
        "REGISTRUM_PORT": str(port),
        "REGISTRUM_DATA_DIR": str(data_dir),
        "REGISTRUM_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen([str(Path(sys.executable).parent / "registrum"), "serve"], env=env)
    url = f"http://127.0.0.1:{port}"
    try:
        with httpx.Client(base_url=url, headers={"X-Registrum-Actor": "bench"}) as http:
            for _ in range(300):
                try:
                    http.get("/health")
                    break
                except httpx.HTTPError:
                    time.sleep(0.1)
            name = f"bench-http-{uuid.uuid4().hex[:8]}"
            http.post("/api/v1/models", json={"name": name}).raise_for_status()
            latencies = []
            started = time.perf_counter()
            for i in range(count):
                t0 = time.perf_counter()
                response = http.post(
                    f"/api/v1/models/{name}/versions",
                    json={"artifact_uri": f"s3://bench/{i}", "metrics": {"auc": 0.9}},
                )
                latencies.append(time.perf_counter() - t0)
                response.raise_for_status()
            report("HTTP API (registrum serve)", latencies, time.perf_counter() - started)
    finally:
        server.terminate()
        server.wait(timeout=60)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(
        f"machine: {platform.node()} {platform.machine()}, {os.cpu_count()} cores, "
        f"Python {platform.python_version()}; {args.versions} sequential registrations"
    )
    with ExitStack() as stack:
        tmp = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="registrum-bench-")))
        url = args.database_url
        if not url:
            postgres = EmbeddedPostgres(tmp / "pg")
            url = postgres.start()
            stack.callback(postgres.stop)
            print("database: embedded PostgreSQL (unix socket)")
        bench_application(url, args.versions)
        bench_http(url, args.versions, tmp / "serve")


if __name__ == "__main__":
    main()
