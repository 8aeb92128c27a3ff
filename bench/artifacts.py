"""Artefact budgets: a large upload through the API and the CLI, the server's peak RSS
growth meanwhile, throughput against a raw put/get on the same store, and a verified
download that matches byte for byte.

    python bench/artifacts.py [--size-mib 1024]
"""

from __future__ import annotations

import argparse
import hashlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack
from pathlib import Path

import psutil

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import credential, database, machine, server
from registrum import Client
from registrum.files import read_chunks
from services.artifacts.filesystem import FilesystemStore
from services.artifacts.port import ArtifactStore

MIB = 1024 * 1024


def make_file(path: Path, size_mib: int) -> str:
    block = os.urandom(MIB)
    digest = hashlib.sha256()
    with path.open("wb") as out:
        for i in range(size_mib):
            chunk = block[i % 256 :] + block[: i % 256]  # every MiB differs a little
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def serve_pid(port_url: str) -> psutil.Process:
    port = int(port_url.rsplit(":", 1)[1])
    for proc in psutil.process_iter(["cmdline"]):
        cmdline = proc.info["cmdline"] or []
        if any("registrum" in part for part in cmdline) and "serve" in cmdline:
            try:
                if any(c.laddr.port == port for c in proc.net_connections(kind="tcp")):
                    return proc
            except psutil.Error:
                continue
    raise RuntimeError("registrum serve process not found")


def peak_rss(process: psutil.Process, action: Callable[[], object]) -> tuple[float, int, int]:
    """Runs action; returns (seconds, RSS before, peak RSS during) of process."""
    before = process.memory_info().rss
    peak = before
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, process.memory_info().rss)
            time.sleep(0.02)

    sampler = threading.Thread(target=sample)
    sampler.start()
    started = time.perf_counter()
    try:
        action()
    finally:
        elapsed = time.perf_counter() - started
        done.set()
        sampler.join()
    return elapsed, before, peak


def report(label: str, size: int, seconds: float, rss: tuple[int, int] | None = None) -> None:
    line = f"{label:<34} {size / MIB / seconds:8.1f} MiB/s  ({seconds:6.2f} s)"
    if rss:
        line += (
            f"   server RSS {rss[0] / MIB:6.1f} MiB -> peak {rss[1] / MIB:6.1f} MiB"
            f" (+{(rss[1] - rss[0]) / MIB:.1f} MiB)"
        )
    print(line, flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--size-mib", type=int, default=1024)
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    parser.add_argument(
        "--s3", action="store_true", help="S3 store on a throwaway moto server instead of a folder"
    )
    args = parser.parse_args()
    kind = "S3 store (moto server)" if args.s3 else "filesystem store"
    print(machine(), f"; {args.size_mib} MiB artefact, {kind}", flush=True)
    with tempfile.TemporaryDirectory(prefix="registrum-bench-") as tmp_name, ExitStack() as stack:
        tmp = Path(tmp_name)
        source = tmp / "model.bin"
        digest = make_file(source, args.size_mib)
        size = source.stat().st_size

        extra_env: dict[str, str] = {}
        raw: ArtifactStore
        if args.s3:
            from minio import Minio

            from services.artifacts.s3 import S3Store
            from tests.services import s3_endpoint

            s3 = stack.enter_context(s3_endpoint())
            raw = S3Store(
                Minio(
                    s3.endpoint,
                    access_key=s3.access_key,
                    secret_key=s3.secret_key,
                    secure=s3.secure,
                    region="us-east-1",
                ),
                "raw-bench",
            )
            extra_env = {
                "REGISTRUM_S3_ENDPOINT": s3.endpoint,
                "REGISTRUM_S3_ACCESS_KEY": s3.access_key,
                "REGISTRUM_S3_SECRET_KEY": s3.secret_key,
                "REGISTRUM_S3_SECURE": "false",
                "REGISTRUM_S3_REGION": "us-east-1",
            }
        else:
            raw = FilesystemStore(tmp / "raw-store")
        started = time.perf_counter()
        raw.put(read_chunks(source))
        report("raw put (same store, in-process)", size, time.perf_counter() - started)
        started = time.perf_counter()
        for _ in raw.get(digest):
            pass
        report("raw get", size, time.perf_counter() - started)

        with database(tmp, args.database_url) as url, server(url, tmp / "serve", extra_env) as api:
            proc = serve_pid(api)
            auth = credential(url)
            token = auth["Authorization"].removeprefix("Bearer ")
            with Client(api, token=token) as client:
                client.create_model("bench-artifacts")
                seconds, before, peak = peak_rss(proc, lambda: client.upload_file(source))
                report("upload through the API (SDK)", size, seconds, (before, peak))

                env = {**os.environ, "REGISTRUM_URL": api, "REGISTRUM_TOKEN": token}
                cli = [
                    str(Path(sys.executable).parent / "registrum"),
                    "--json",
                    "versions",
                    "register",
                    "bench-artifacts",
                    str(source),
                ]
                seconds, before, peak = peak_rss(
                    proc,
                    lambda: subprocess.run(cli, env=env, check=True, stdout=subprocess.DEVNULL),
                )
                report("register through the CLI (upload)", size, seconds, (before, peak))

                version = client.get_version("bench-artifacts", 1)
                dest = tmp / "pulled"
                seconds, before, peak = peak_rss(proc, lambda: client.download(version, dest))
                report("verified download through the API", size, seconds, (before, peak))
                pulled = dest / "model.bin"
                same = hashlib.sha256(pulled.read_bytes()).hexdigest() == digest
                print(f"download matches byte for byte: {same}")


if __name__ == "__main__":
    main()
