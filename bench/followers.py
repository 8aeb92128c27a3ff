"""What each of `registrum serve`'s followers costs a write: sequential registrations over
HTTP with no follower, with each one alone, and with all of them, side by side in one run.

    python bench/followers.py [--versions 500] [--database-url URL]

Each configuration gets a fresh database (on an embedded PostgreSQL unless a URL is
given) and its own `registrum serve` with the embedded broker. Prints the p50 and mean
latency per configuration and each follower's cost per request over none.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import credential, database, free_port, machine, percentile, server

OFF = {
    "REGISTRUM_PROJECTOR": "false",
    "REGISTRUM_AUDIT_CHECKPOINTS": "false",
    "REGISTRUM_RELAY": "false",
    "REGISTRUM_INTAKE": "false",
}
CONFIGURATIONS = {
    "none": OFF,
    "projector": {**OFF, "REGISTRUM_PROJECTOR": "true"},
    "checkpoint signer": {**OFF, "REGISTRUM_AUDIT_CHECKPOINTS": "true"},
    "relay": {**OFF, "REGISTRUM_RELAY": "true"},
    "intake": {**OFF, "REGISTRUM_INTAKE": "true"},
    "all (the default)": {},
}
WARM_UP = 30


def fresh_database(url: str) -> str:
    name = f"bench_followers_{uuid.uuid4().hex[:8]}"
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    return urlunsplit(urlsplit(url)._replace(path=f"/{name}"))


def registrations(url: str, headers: dict[str, str], count: int) -> list[float]:
    host, port = url.removeprefix("http://").split(":")
    conn = http.client.HTTPConnection(host, int(port))
    headers = {**headers, "Content-Type": "application/json"}
    name = f"followers-{uuid.uuid4().hex[:8]}"

    def post(path: str, body: dict[str, str]) -> None:
        conn.request("POST", path, json.dumps(body), headers)
        response = conn.getresponse()
        data = response.read()
        if response.status >= 300:
            raise RuntimeError(f"{path}: {response.status} {data[:300]!r}")

    post("/api/v1/models", {"name": name})
    latencies = []
    for i in range(WARM_UP + count):
        started = time.perf_counter()
        post(f"/api/v1/models/{name}/versions", {"artifact_uri": f"s3://bench/{i}"})
        if i >= WARM_UP:
            latencies.append(time.perf_counter() - started)
    conn.close()
    return latencies


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=500)
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    print(f"{machine()}; {args.versions} sequential registrations per configuration")
    means: dict[str, float] = {}
    with (
        tempfile.TemporaryDirectory(prefix="registrum-bench-") as tmp,
        database(Path(tmp), args.database_url, migrated=False) as root,
    ):
        for label, settings in CONFIGURATIONS.items():
            url = fresh_database(root)
            env = {**settings, "REGISTRUM_EMBEDDED_KAFKA_PORT": str(free_port())}
            with server(url, Path(tmp) / label.replace(" ", "-"), env) as api:
                seconds = registrations(api, credential(url), args.versions)
            means[label] = statistics.fmean(seconds)
            print(
                f"{label:<20} p50 {percentile(seconds, 0.5) * 1000:6.2f} ms"
                f"   p99 {percentile(seconds, 0.99) * 1000:6.2f} ms"
                f"   mean {means[label] * 1000:6.2f} ms"
                f"   cost over none {(means[label] - means['none']) * 1000:+6.2f} ms",
                flush=True,
            )


if __name__ == "__main__":
    main()
