"""Registrum and an MLflow server under MLflow's own client: the same MlflowClient workload
against `mlflow server` and `registrum serve`, one after the other in one run, with
Registrum's speed-up over MLflow on each row (issue 14).

    python bench/mlflow_compat.py [--versions 1000] [--gets 500] [--searches 20]
                                  [--warm-up 20] [--quick] [--database-url URL]

Storage as in bench/peer.py: an embedded PostgreSQL in a temporary directory (or the server
at --database-url / REGISTRUM_BENCH_DATABASE_URL), a fresh database for each side, dropped
at the end. MLflow runs with --workers 1 (PostgreSQL through psycopg 3), Registrum with its
defaults; each side alone on the machine.

The client is the same for both: one MlflowClient in this process, its tracking URI a
throwaway local sqlite store, its registry URI the side's server. Only that URI and
MLFLOW_TRACKING_TOKEN differ (none for MLflow; for Registrum a token of subject bench, who
holds every role). Each call is timed around the client's method, so the client's own work
(requests, JSON to protobuf to entities, its retries) is in both sides' numbers.

1. a registered model and N versions, create_model_version one after another (sources
   s3://bucket/model/i; the client waits for READY); total seconds and versions per second;
2. G get_model_version_by_alias, the alias set on the middle version;
3. S full results of search_model_versions("name='...'"), followed page by page; each
   result is checked to hold exactly versions 1..N.

Before each row a warm-up (--warm-up registrations on another model, or as many of the same
read; a quarter of it for searches), then a wait until the servers are idle. The target:
Registrum at least 3x MLflow on every row, judged on the rate for row 1 and on p50 for the
reads (the p99 ratio is shown beside it). Prints the table and writes it, with every
latency, to bench/results/mlflow_compat-<time>.json.
"""

from __future__ import annotations

import argparse
import itertools
import logging
import os
import signal
import sys
import tempfile
import time
import uuid
import warnings
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import database, machine
from bench.mlflow_compat_report import Row, Side, save, table
from bench.peer_load import BenchError, Run, settle
from bench.peer_sides import fresh_database, mlflow, mlflow_version, registrum

if TYPE_CHECKING:
    from mlflow import MlflowClient

WARM, MODEL, ALIAS = "warm-up", "compat", "champion"
# Where MLflow's client looks for credentials; only the token is set, and only for Registrum.
CREDENTIALS = ("MLFLOW_TRACKING_TOKEN", "MLFLOW_TRACKING_USERNAME", "MLFLOW_TRACKING_PASSWORD")
Start = Callable[[str, Path], AbstractContextManager[tuple[str, str | None]]]


@contextmanager
def mlflow_side(store: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """`mlflow server --workers 1` on store; no credentials."""
    with mlflow("mlflow -w 1", store, folder, 1) as (url, _):
        yield url, None


@contextmanager
def registrum_side(store: str, folder: Path) -> Iterator[tuple[str, str | None]]:
    """`registrum serve` on store; a token of subject bench, who holds every role."""
    with registrum(store, folder) as (url, api):
        yield url, api.headers["Authorization"].removeprefix("Bearer ")


@contextmanager
def client_for(url: str, token: str | None, tracking: str) -> Iterator[MlflowClient]:
    """An MlflowClient with its registry at url, MLFLOW_TRACKING_TOKEN set to token
    meanwhile (the client reads it on every call)."""
    from mlflow import MlflowClient

    # It logs each create's wait for READY at INFO (its import sets that level): quiet on
    # both sides alike.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    if token:
        os.environ["MLFLOW_TRACKING_TOKEN"] = token
    try:
        yield MlflowClient(tracking_uri=tracking, registry_uri=url)
    finally:
        os.environ.pop("MLFLOW_TRACKING_TOKEN", None)


class RoundTrips:
    """The time MLflow's client spends in HTTP: its requests adapter's send, from the request
    written to the body read (requests reads it there). The rest of a call is the client's
    own work. Counted the same way on both sides."""

    def __init__(self) -> None:
        self.seconds = 0.0

    @contextmanager
    def counted(self) -> Iterator[RoundTrips]:
        from requests.adapters import HTTPAdapter

        original = HTTPAdapter.send

        def send(adapter: HTTPAdapter, *args: Any, **kwargs: Any) -> Any:
            started = time.perf_counter()
            try:
                return original(adapter, *args, **kwargs)
            finally:
                self.seconds += time.perf_counter() - started

        HTTPAdapter.send = send  # type: ignore[method-assign,assignment]
        try:
            yield self
        finally:
            HTTPAdapter.send = original  # type: ignore[method-assign]


TRIPS = RoundTrips()


def repeated(call: Callable[[], object], count: int) -> Row:
    """count calls one after another: each one's latency and time in HTTP, and the total."""
    row = Row(Run())
    started = time.perf_counter()
    for _ in range(count):
        began, http = time.perf_counter(), TRIPS.seconds
        call()
        row.run.latencies.append(time.perf_counter() - began)
        row.http.append(TRIPS.seconds - http)
    row.run.seconds = time.perf_counter() - started
    return row


def warmed(call: Callable[[], object], count: int, warm_up: int) -> Row:
    """repeated(call, count) after warm_up untimed calls and a wait until the servers idle."""
    repeated(call, warm_up)
    settle()
    return repeated(call, count)


def creates(client: MlflowClient, versions: int, warm_up: int) -> Row:
    """The registered model and its versions, timed from the model's creation to the last
    version; the latencies are of create_model_version alone."""
    client.create_registered_model(WARM)
    repeated(lambda: client.create_model_version(WARM, "s3://bucket/warm-up/0"), warm_up)
    settle()
    number = itertools.count(1)

    def create() -> None:
        made = client.create_model_version(MODEL, f"s3://bucket/model/{next(number)}")
        if made.status != "READY":
            raise BenchError(f"version {made.version} is {made.status}, not READY")

    started = time.perf_counter()
    client.create_registered_model(MODEL)
    row = repeated(create, versions)
    row.run.seconds = time.perf_counter() - started
    return row


def alias_gets(client: MlflowClient, versions: int, count: int, warm_up: int) -> Row:
    middle = str(max(versions // 2, 1))
    client.set_registered_model_alias(MODEL, ALIAS, middle)

    def get() -> None:
        found = client.get_model_version_by_alias(MODEL, ALIAS).version
        if found != middle:
            raise BenchError(f"{ALIAS} is version {found}, not {middle}")

    return warmed(get, count, warm_up)


def searches(client: MlflowClient, versions: int, count: int, warm_up: int) -> Row:
    """Full results of the model's versions, page after page, as a caller must follow them."""
    shape: set[tuple[int, int]] = set()

    def search() -> None:
        found: list[int] = []
        pages, token = 0, None
        while True:
            page = client.search_model_versions(f"name='{MODEL}'", page_token=token)
            found += [int(v.version) for v in page]
            pages, token = pages + 1, page.token
            if not token:
                break
        if sorted(found) != list(range(1, versions + 1)):
            raise BenchError(f"a search found {len(found)} versions, not exactly 1..{versions}")
        shape.add((pages, len(found)))

    row = warmed(search, count, warm_up)
    (row.pages, row.rows), *_ = shape
    return row


def workloads(client: MlflowClient, args: argparse.Namespace) -> dict[str, Row]:
    rows = {"create": creates(client, args.versions, args.warm_up)}
    print(f"  created {args.versions:,}: {rows['create'].run.rate:.1f}/s", flush=True)
    rows["alias"] = alias_gets(client, args.versions, args.gets, args.warm_up)
    rows["search"] = searches(client, args.versions, args.searches, max(args.warm_up // 4, 1))
    return rows


def measure(name: str, start: Start, server_url: str, tmp: Path, args: argparse.Namespace) -> Side:
    """Every row on one side, on a database of its own; or why it could not run."""
    from mlflow.exceptions import MlflowException

    print(f"{name}: starting; load average {os.getloadavg()[0]:.2f}", flush=True)
    began = time.perf_counter()
    slug = name.split()[0].lower()
    tracking = f"sqlite:///{tmp / f'{slug}-tracking.db'}"  # never written: no run is logged
    try:
        with (
            fresh_database(server_url, f"compat_{slug}_{uuid.uuid4().hex[:6]}") as store,
            start(store, tmp / slug) as (url, token),
            client_for(url, token, tracking) as client,
            TRIPS.counted(),
        ):
            print(f"{name}: up, idle {settle():.0f} s later", flush=True)
            rows = workloads(client, args)
    except (RuntimeError, OSError, MlflowException) as exc:
        print(f"{name}: FAILED: {exc}", flush=True)
        return str(exc).splitlines()[0]
    print(f"{name}: done in {time.perf_counter() - began:.0f} s", flush=True)
    return rows


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    if args.quick:
        args.versions, args.gets, args.searches, args.warm_up = 100, 50, 5, 5
    return args


def interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> None:
    args = arguments()
    signal.signal(signal.SIGTERM, interrupted)
    # MLflow's dependencies' deprecation notices, inside MLflow: not what is measured.
    warnings.filterwarnings("ignore", category=DeprecationWarning)
    warnings.filterwarnings("ignore", category=FutureWarning)
    for key in CREDENTIALS:
        os.environ.pop(key, None)
    began, load = time.perf_counter(), os.getloadavg()
    try:
        peer = f"MLflow {mlflow_version()}"
    except RuntimeError as exc:
        sys.exit(str(exc))
    print(f"{machine()}; load average {load[0]:.2f}; {peer}", flush=True)
    sides: dict[str, Start] = {"MLflow -w 1": mlflow_side, "Registrum": registrum_side}
    with (
        tempfile.TemporaryDirectory(prefix="registrum-compat-") as tmp,
        database(Path(tmp), args.database_url, migrated=False) as server_url,
    ):
        results = {
            name: measure(name, start, server_url, Path(tmp), args) for name, start in sides.items()
        }
    lines = table(results, args)
    print("\n" + "\n".join(lines))
    took = time.perf_counter() - began
    print(
        f"\ntook {took:.0f} s; load average {load[0]:.2f} at the start, "
        f"now {os.getloadavg()[0]:.2f}"
    )
    saved = save(results, args, lines, {"machine": machine(), "peer": peer, "load": load})
    print(f"written to {saved}")
    if any(isinstance(side, str) for side in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the servers and PostgreSQL it started are stopped")
