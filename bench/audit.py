"""Audit trail speed: `registrum audit verify` over a large log, from the database and from
an export, and the export itself.

    python bench/audit.py [--events 200000] [--database-url URL]

The log is written by the domain as a busy registry would have it (bench/read.py's
bulk_events: 100 models taking turns registering versions), each event linked into the
chain as it is saved, with one signed checkpoint at the end.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import database, machine
from bench.read import bulk_events
from services.bootstrap import build_registry
from services.checkpoints.signer import Cadence, Signer
from services.cli.audit import _export, _verify_database, _verify_file
from services.settings import Settings


async def sign_head(database_url: str) -> None:
    registry = build_registry(Settings(db_pool_size=1), database_url)
    try:
        assert await Signer(
            registry, database_url, Ed25519PrivateKey.generate(), Cadence()
        ).sign_now()
    finally:
        registry.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=200_000)
    parser.add_argument(
        "--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL") or None
    )
    args = parser.parse_args()
    print(f"machine: {machine()}")
    with tempfile.TemporaryDirectory() as tmp, database(Path(tmp), args.database_url) as url:
        started = time.perf_counter()
        written = bulk_events(url, args.events)
        seconds = time.perf_counter() - started
        print(f"appended {written} events, each linked: {written / seconds:,.0f} events/s")
        asyncio.run(sign_head(url))

        started = time.perf_counter()
        report = asyncio.run(_verify_database(url, {}, []))
        seconds = time.perf_counter() - started
        assert report.clean, report.findings[:5]
        print(
            f"audit verify (database): {report.events} events in {seconds:.2f} s, "
            f"{report.events / seconds:,.0f} events/s (budget >= 100,000), "
            f"{report.checkpoints} checkpoint"
        )

        path = Path(tmp) / "export.jsonl"
        started = time.perf_counter()
        with path.open("wb") as out:
            rows = asyncio.run(_export(url, out))
        seconds = time.perf_counter() - started
        size = path.stat().st_size
        print(f"audit export: {rows} rows, {size / 2**20:.0f} MiB in {seconds:.2f} s")

        started = time.perf_counter()
        checked = _verify_file(path, {}, [])
        seconds = time.perf_counter() - started
        assert checked.clean
        rate = checked.events / seconds
        print(f"audit verify --file: {checked.events} events in {seconds:.2f} s, {rate:,.0f}/s")


if __name__ == "__main__":
    main()
