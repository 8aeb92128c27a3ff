"""Read-side budgets: projection lag under write load, rebuild throughput, search and
get latency through the API.

    python bench/read.py [--events 100000] [--database-url URL]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path
from typing import Any

import asyncpg
import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import credential, database, machine, server, summary
from services.bootstrap import build_registry
from services.catalogue.rebuild import rebuild
from services.catalogue.views.all import VIEWS
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName
from services.registry.domain.values import Context
from services.registry.domain.version import ModelVersion
from services.settings import Settings


def bulk_events(database_url: str, target: int) -> int:
    """Appends about target events made by the domain, as a busy registry would have them:
    100 models taking turns registering versions (VersionAdded and VersionRegistered
    interleaved), saved 200 events per transaction to write them quickly."""
    registry = build_registry(Settings(), database_url)
    ctx = Context("bench")
    models = []
    for _ in range(100):
        name = f"bulk-{uuid.uuid4().hex[:8]}"
        model = RegisteredModel.register(name, ctx, tags={"team": "bulk"})
        registry.save(ModelName.reserve(name, model.id, ctx), model)
        models.append(model)
    written = 200
    while written < target:
        batch: list[Any] = []
        for model in models:
            number, version_id = model.add_version(ctx)
            batch += [
                model,
                ModelVersion.register(
                    version_id=version_id,
                    ctx=ctx,
                    model_id=model.id,
                    model_name=model.name,
                    number=number,
                    artifact_uri=f"s3://bulk/{number}",
                    sha256=None,
                    size=None,
                    format=None,
                    flavor=None,
                    run_id=f"run-{number}",
                    dataset_version="d1",
                    hyperparameters={"lr": 0.01},
                    metrics={"auc": 0.9},
                    lineage=[],
                    tags={"k": "v"},
                    description="",
                    manifest=[],
                ),
            ]
        # A much larger pipelined insert stalls psycopg's pipeline here (seen at 1,000).
        registry.save(*batch)
        written += len(batch)
    registry.close()
    return written


def bench_rebuild(database_url: str, events: int) -> None:
    print(f"appending {events} events ...", flush=True)
    written = bulk_events(database_url, events)
    started = time.perf_counter()
    applied = asyncio.run(rebuild(database_url, database_url, list(VIEWS.values())))
    elapsed = time.perf_counter() - started
    total = sum(applied.values())
    print(
        f"rebuild all {len(applied)} views over {written} new events "
        f"({total} event-applications): {elapsed:.1f} s, "
        f"{total / elapsed:,.0f} event-applications/s, "
        f"{total / len(applied) / elapsed:,.0f} log events/s per view pass"
    )
    for name in applied:
        started = time.perf_counter()
        asyncio.run(rebuild(database_url, database_url, [VIEWS[name]]))
        seconds = time.perf_counter() - started
        print(f"  rebuild {name:<10} {applied[name] / seconds:10,.0f} events/s")


async def watch_positions(
    database_url: str, marks: dict[int, float], seen: dict[int, float], stop: threading.Event
) -> None:
    conn = await asyncpg.connect(database_url)
    try:
        while not stop.is_set() or len(seen) < len(marks):
            position = await conn.fetchval(
                "SELECT min(p.position) FROM catalogue_meta.views v"
                " JOIN catalogue_meta.positions p USING (view, generation)"
            )
            now = time.perf_counter()
            for mark in [m for m in list(marks) if m not in seen and m <= (position or 0)]:
                seen[mark] = now
            await asyncio.sleep(0.001)
    finally:
        await conn.close()


def bench_lag(url: str, database_url: str, seconds: float, rate: float) -> None:
    marks: dict[int, float] = {}
    seen: dict[int, float] = {}
    stop = threading.Event()
    watcher = threading.Thread(
        target=lambda: asyncio.run(watch_positions(database_url, marks, seen, stop))
    )
    watcher.start()
    name = f"lag-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=url, headers=credential(database_url)) as http:
        http.post("/api/v1/models", json={"name": name}).raise_for_status()
        deadline = time.perf_counter() + seconds
        while time.perf_counter() < deadline:
            tick = time.perf_counter()
            response = http.post(
                f"/api/v1/models/{name}/versions",
                json={"artifact_uri": "s3://lag", "metrics": {"auc": 0.5}},
            )
            marks[response.json()["position"]] = time.perf_counter()
            time.sleep(max(0.0, 1 / rate - (time.perf_counter() - tick)))
    stop.set()
    watcher.join()
    lags = [seen[m] - marks[m] for m in marks]
    print(summary(f"projection lag at {rate:.0f} writes/s", lags))


def bench_reads(url: str, database_url: str, count: int) -> None:
    name = f"reads-{uuid.uuid4().hex[:8]}"
    with httpx.Client(base_url=url, headers=credential(database_url)) as http:
        http.post("/api/v1/models", json={"name": name}).raise_for_status()
        for i in range(1000):
            http.post(
                f"/api/v1/models/{name}/versions",
                json={
                    "artifact_uri": f"s3://r/{i}",
                    "metrics": {"auc": i / 1000},
                    "tags": {"team": "risk" if i % 3 else "growth"},
                },
            ).raise_for_status()
        http.put(f"/api/v1/models/{name}/aliases/champion", json={"version": 500})
        http.get(f"/api/v1/models/{name}", params={"min_position": "head", "wait": 30})
        cases = {
            "get version by number": lambda i: http.get(
                f"/api/v1/models/{name}/versions/{1 + i % 1000}"
            ),
            "get version by alias": lambda i: http.get(f"/api/v1/models/{name}/aliases/champion"),
            "search 1,000 versions (filter)": lambda i: http.get(
                f"/api/v1/models/{name}/versions",
                params={
                    "filter": "metrics.auc >= 0.5 AND tags.team = 'risk'",
                    "order_by": "metrics.auc DESC",
                    "limit": 100,
                },
            ),
            "search 1,000 versions (all)": lambda i: http.get(
                f"/api/v1/models/{name}/versions", params={"limit": 1000}
            ),
        }
        for label, call in cases.items():
            for i in range(20):
                call(i).raise_for_status()  # warm up
            samples = []
            for i in range(count):
                t0 = time.perf_counter()
                call(i).raise_for_status()
                samples.append(time.perf_counter() - t0)
            print(summary(label, samples))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--reads", type=int, default=1000)
    parser.add_argument("--lag-seconds", type=float, default=20)
    parser.add_argument("--lag-rate", type=float, default=100)
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(machine())
    with (
        tempfile.TemporaryDirectory(prefix="registrum-bench-") as tmp,
        database(Path(tmp), args.database_url) as url,
    ):
        with server(url, Path(tmp) / "serve") as api:
            bench_reads(api, url, args.reads)
            bench_lag(api, url, args.lag_seconds, args.lag_rate)
        bench_rebuild(url, args.events)


if __name__ == "__main__":
    main()
