"""The web console's server time for a model with 1,000 versions: the model page (its
newest versions, the same ordered by a metric, and with an as-of answer), a version page
(facts, files, approvals, lineage both ways, events) and the review queue. Server time
is the Server-Timing every answer carries (request in to first byte out); the client's
wall time is shown beside it.

    python bench/console.py [--versions 1000] [--requests 200] [--database-url URL]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import credential, database, machine, percentile, server

TARGET_MS = 1000.0  # "well under a second"
PROMOTIONS = 20


def register(http: httpx.Client, name: str, versions: int) -> None:
    """A model with versions as a pipeline makes them: metrics, parameters, lineage to
    its data, code and run (and to the version before), a manifest of files; every
    50th version approved and promoted, so the history and the approvals are not empty."""
    http.post("/api/v1/models", json={"name": name, "description": "bench"}).raise_for_status()

    def one(number: int) -> None:
        lineage = [
            {"kind": "dataset", "id": f"s3://data/bench/{number % 10}", "relation": "trained_on"},
            {"kind": "code", "id": f"git+https://git.example/bench@{number:040x}"},
            {"kind": "run", "id": f"run-{number}"},
        ]
        body = {
            "artifact_uri": f"s3://models/bench/{number}",
            "sha256": f"{number:064x}",
            "size": 1000 + number,
            "metrics": {"auc": 0.8 + number / 10_000, "f1": 0.7, "loss": 1 / number},
            "hyperparameters": {"lr": 0.01, "depth": number % 12},
            "tags": {"team": "bench", "batch": str(number // 100)},
            "lineage": lineage,
            "description": f"version {number} of the bench model",
        }
        http.post(f"/api/v1/models/{name}/versions", json=body).raise_for_status()

    # Numbers are given in order of arrival, so four writers only speed the setup.
    with ThreadPoolExecutor(4) as pool:
        list(pool.map(one, range(1, versions + 1)))


def promote_some(http: httpx.Client, reviewer: httpx.Client, name: str, versions: int) -> None:
    for number in range(1, versions + 1, max(versions // PROMOTIONS, 1)):
        base = f"/api/v1/models/{name}/versions/{number}"
        asked = http.post(f"{base}/approvals", json={"stage": "production", "reason": "bench"})
        asked.raise_for_status()
        request_id = asked.json()["version"]["approval_requests"][-1]["id"]
        reviewer.post(f"{base}/approvals/{request_id}/approve", json={}).raise_for_status()
        http.post(f"{base}/promote", json={"stage": "production"}).raise_for_status()


def ask_some(http: httpx.Client, name: str, versions: int) -> None:
    """Twenty open requests for the review queue to show its reviewer."""
    for number in range(2, versions + 1, max(versions // PROMOTIONS, 1))[:PROMOTIONS]:
        base = f"/api/v1/models/{name}/versions/{number}"
        http.post(f"{base}/approvals", json={"stage": "staging"}).raise_for_status()


def timed(browser: httpx.Client, path: str, count: int) -> tuple[list[float], list[float]]:
    """Server and wall milliseconds of count GETs of path (after one warm-up, which waits
    for the views to reach the log's head)."""
    browser.get(path, params={"after": "head"}).raise_for_status()
    server_ms, wall_ms = [], []
    for _ in range(count):
        started = time.perf_counter()
        answer = browser.get(path)
        wall_ms.append((time.perf_counter() - started) * 1000)
        answer.raise_for_status()
        server_ms.append(float(answer.headers["server-timing"].partition("dur=")[2]))
    return server_ms, wall_ms


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--requests", type=int, default=200)
    parser.add_argument("--database-url", default=None)
    args = parser.parse_args()
    print(machine())
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp), args.database_url) as url:
        headers = credential(url)
        reviewer_headers = credential(url, subject="bench-reviewer")
        with server(url, Path(tmp) / "data") as base:
            api = httpx.Client(base_url=base, headers=headers, timeout=60)
            reviewer = httpx.Client(base_url=base, headers=reviewer_headers, timeout=60)
            name = f"console-{uuid.uuid4().hex[:8]}"
            started = time.perf_counter()
            register(api, name, args.versions)
            promote_some(api, reviewer, name, args.versions)
            ask_some(api, name, args.versions)
            print(
                f"set up {args.versions} versions and their promotions in "
                f"{time.perf_counter() - started:.1f} s"
            )
            # The browser is the reviewer's: the queue shows what waits for them.
            token = reviewer_headers["Authorization"].removeprefix("Bearer ")
            browser = httpx.Client(base_url=base, cookies={"registrum_session": token}, timeout=60)
            middle = args.versions // 2 + 1
            pages = [
                ("model page, newest 100 versions", f"/models/{name}"),
                (
                    "model page, ordered by metrics.auc",
                    f"/models/{name}?order_by=metrics.auc+DESC&filter=metrics.f1+%3E%3D+0.5",
                ),
                ("model page with an as-of answer", f"/models/{name}?as_of=2100-01-01T00:00"),
                (f"version page ({middle}, promoted)", f"/models/{name}/versions/{middle}"),
                (f"review queue ({PROMOTIONS} open requests)", "/review"),
            ]
            print(f"\n{'page':<40}{'server p50':>12}{'p99 ms':>9}{'wall p50':>11}  target")
            for label, path in pages:
                server_ms, wall_ms = timed(browser, path, args.requests)
                p99 = percentile(server_ms, 0.99)
                verdict = "PASS" if p99 < TARGET_MS else "MISS"
                print(
                    f"{label:<40}{percentile(server_ms, 0.5):>12.1f}{p99:>9.1f}"
                    f"{percentile(wall_ms, 0.5):>11.1f}  p99 < {TARGET_MS:.0f} ms {verdict}"
                )


if __name__ == "__main__":
    main()
