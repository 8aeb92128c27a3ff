"""Write throughput: register N versions sequentially, through the HTTP API (a real
`registrum serve` process) and through the application directly.

    python bench/write.py [--versions 1000] [--database-url URL]

Without --database-url (or REGISTRUM_BENCH_DATABASE_URL) an embedded PostgreSQL is
started in a temporary directory. Prints versions/s and p50/p99 latency per path.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from collections.abc import Callable
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import (
    bench_principal,
    credential,
    database,
    grant_everything,
    machine,
    server,
    summary,
)
from schemas import commands as c
from services.bootstrap import build_registry
from services.settings import Settings


def timed(label: str, count: int, register: Callable[[int], object]) -> None:
    latencies = []
    started = time.perf_counter()
    for i in range(count):
        t0 = time.perf_counter()
        register(i)
        latencies.append(time.perf_counter() - t0)
    rate = count / (time.perf_counter() - started)
    print(f"{summary(label, latencies)}   {rate:7.1f} versions/s", flush=True)


def bench_application(database_url: str, count: int) -> None:
    grant_everything(database_url)
    registry = build_registry(Settings(), database_url)
    name, who = f"bench-app-{uuid.uuid4().hex[:8]}", bench_principal()
    registry.handle(c.RegisterModel(name=name), who)
    timed(
        "application (in-process)",
        count,
        lambda i: registry.handle(
            c.RegisterVersion(model=name, artifact_uri=f"s3://bench/{i}", metrics={"auc": 0.9}),
            who,
        ),
    )
    registry.close()


def bench_http(url: str, database_url: str, count: int) -> None:
    name = f"bench-http-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=url, headers=credential(database_url)) as http:
        http.post("/api/v1/models", json={"name": name}).raise_for_status()
        timed(
            "HTTP API (registrum serve)",
            count,
            lambda i: http.post(
                f"/api/v1/models/{name}/versions",
                json={"artifact_uri": f"s3://bench/{i}", "metrics": {"auc": 0.9}},
            ).raise_for_status(),
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(f"{machine()}; {args.versions} sequential registrations")
    with (
        tempfile.TemporaryDirectory(prefix="registrum-bench-") as tmp,
        database(Path(tmp), args.database_url) as url,
    ):
        bench_application(url, args.versions)
        with server(url, Path(tmp) / "serve") as api:
            bench_http(api, url, args.versions)


if __name__ == "__main__":
    main()
