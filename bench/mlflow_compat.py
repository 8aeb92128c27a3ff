"""Registrum and an MLflow server under MLflow's own client: the same MlflowClient workload
against `mlflow server` and `registrum serve`, both up side by side and each row taken in
turns, with Registrum's speed-up over MLflow on each row (issue 14).

    python bench/mlflow_compat.py [--versions 1000] [--gets 500] [--searches 20]
                                  [--warm-up 20] [--blocks 10] [--quick] [--database-url URL]

Storage as in bench/peer.py: an embedded PostgreSQL in a temporary directory (or the server
at --database-url / REGISTRUM_BENCH_DATABASE_URL), a fresh database for each side, dropped
at the end. MLflow runs with --workers 1 (PostgreSQL through psycopg 3), Registrum with its
defaults.

The client is the same for both: an MlflowClient per side in this process, its tracking URI
a throwaway local sqlite store, its registry URI the side's server. Only that URI and
MLFLOW_TRACKING_TOKEN differ (none for MLflow; for Registrum a token of subject bench, who
holds every role). Each call is timed around the client's method, so the client's own work
(requests, JSON to protobuf to entities, its retries) is in both sides' numbers, and the
time in HTTP is shown apart from it.

1. a registered model and N versions, create_model_version one after another (sources
   s3://bucket/model/i; the client waits for READY); total seconds and versions per second;
2. G get_model_version_by_alias, the alias set on the middle version;
3. S full results of search_model_versions("name='...'"), followed page by page; each
   result is checked to hold exactly versions 1..N.

Before each row a warm-up on both sides (--warm-up registrations on another model, or as
many of the same read; a quarter of it for searches). Then the row in --blocks turns: a
block on one side, a block on the other, the first side first and then the other first,
each block after a wait until the servers are idle. This machine's speed drifts by 2x
within minutes; taken in turns, both sides see the same drift, and the ratio holds where
one side after the other it did not. The target: Registrum at least 3x MLflow on every
row, judged on the rate for row 1 and on p50 for the reads (the p99 ratio is shown beside
it). Then the floors no server goes below here, taken the same way: a bare route's round
trip through requests on each server, and a PostgreSQL insert and commit; with them, the
most Registrum could be on each row were its server to take no time beyond them (the
same client's own work on our answers counts, as it does in the row). Prints the table
and writes it, with every latency, to bench/results/mlflow_compat-<time>.json.
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
from contextlib import AbstractContextManager, ExitStack, contextmanager
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import database, machine
from bench.mlflow_compat_report import Row, Side, floors, save, table
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


@dataclass
class Contender:
    """One side's MlflowClient (its registry URI the side's server) and the token it
    sends (none for MLflow; MLflow's client reads MLFLOW_TRACKING_TOKEN on every call)."""

    name: str
    client: MlflowClient
    token: str | None
    bare: str  # the URL of the server's bare route (no work, no database)

    @contextmanager
    def calling(self) -> Iterator[MlflowClient]:
        """The client, with MLFLOW_TRACKING_TOKEN set to this side's token meanwhile."""
        if self.token:
            os.environ["MLFLOW_TRACKING_TOKEN"] = self.token
        try:
            yield self.client
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


def repeated(call: Callable[[], object], count: int, row: Row) -> None:
    """count calls one after another, each one's latency and time in HTTP into row, and
    their total into its seconds."""
    started = time.perf_counter()
    for _ in range(count):
        began, http = time.perf_counter(), TRIPS.seconds
        call()
        row.run.latencies.append(time.perf_counter() - began)
        row.http.append(TRIPS.seconds - http)
    row.run.seconds += time.perf_counter() - started


Make = Callable[[Contender], Callable[[], object]]


def interleaved(sides: list[Contender], make: Make, count: int, blocks: int) -> dict[str, Row]:
    """count calls of make(side) on each side, in blocks taken in turn (the first side
    first, then the other first, ...), each block after a wait until the servers idle: a
    machine that slows down or speeds up meanwhile does so for both sides alike."""
    rows = {side.name: Row(Run()) for side in sides}
    calls = {side.name: make(side) for side in sides}
    sizes = [count // blocks + (1 if i < count % blocks else 0) for i in range(blocks)]
    for turn, size in enumerate(size for size in sizes if size):
        for side in sides if turn % 2 == 0 else sides[::-1]:
            settle()
            with side.calling():
                repeated(calls[side.name], size, rows[side.name])
    return rows


def warmed_up(sides: list[Contender], make: Make, count: int) -> None:
    """count untimed calls on each side."""
    for side in sides:
        call = make(side)
        with side.calling():
            for _ in range(count):
                call()


def creates(sides: list[Contender], args: argparse.Namespace) -> dict[str, Row]:
    """Each side's registered model and its versions, timed from the model's creation to
    the last version; the latencies are of create_model_version alone."""
    for side in sides:
        with side.calling() as client:
            client.create_registered_model(WARM)
    warm = "s3://bucket/warm-up/0"
    warmed_up(sides, lambda s: partial(s.client.create_model_version, WARM, warm), args.warm_up)
    made: dict[str, float] = {}
    for side in sides:
        with side.calling() as client:
            began = time.perf_counter()
            client.create_registered_model(MODEL)
            made[side.name] = time.perf_counter() - began

    def make(side: Contender) -> Callable[[], None]:
        client, number = side.client, itertools.count(1)

        def create() -> None:
            version = client.create_model_version(MODEL, f"s3://bucket/model/{next(number)}")
            if version.status != "READY":
                raise BenchError(f"version {version.version} is {version.status}, not READY")

        return create

    rows = interleaved(sides, make, args.versions, args.blocks)
    for name, row in rows.items():
        row.run.seconds += made[name]
    return rows


def alias_gets(sides: list[Contender], args: argparse.Namespace) -> dict[str, Row]:
    middle = str(max(args.versions // 2, 1))
    for side in sides:
        with side.calling() as client:
            client.set_registered_model_alias(MODEL, ALIAS, middle)

    def make(side: Contender) -> Callable[[], None]:
        def get() -> None:
            found = side.client.get_model_version_by_alias(MODEL, ALIAS).version
            if found != middle:
                raise BenchError(f"{ALIAS} is version {found}, not {middle}")

        return get

    warmed_up(sides, make, args.warm_up)
    return interleaved(sides, make, args.gets, args.blocks)


def searches(sides: list[Contender], args: argparse.Namespace) -> dict[str, Row]:
    """Full results of the model's versions, page after page, as a caller must follow them."""
    shape: dict[int, set[tuple[int, int]]] = {}

    def make(side: Contender) -> Callable[[], None]:
        client, seen = side.client, shape.setdefault(id(side.client), set())

        def search() -> None:
            found: list[int] = []
            pages, token = 0, None
            while True:
                page = client.search_model_versions(f"name='{MODEL}'", page_token=token)
                found += [int(v.version) for v in page]
                pages, token = pages + 1, page.token
                if not token:
                    break
            if sorted(found) != list(range(1, args.versions + 1)):
                raise BenchError(f"a search found {len(found)}, not exactly 1..{args.versions}")
            seen.add((pages, len(found)))

        return search

    warmed_up(sides, make, max(args.warm_up // 4, 1))
    rows = interleaved(sides, make, args.searches, min(args.blocks, args.searches))
    for side in sides:
        (rows[side.name].pages, rows[side.name].rows), *_ = shape[id(side.client)]
    return rows


def bare_gets(sides: list[Contender], args: argparse.Namespace) -> dict[str, Row]:
    """GETs of each server's bare route through requests, as MLflow's client sends: the
    floor under any call's time in HTTP on that server."""
    import requests

    def make(side: Contender) -> Callable[[], None]:
        session = requests.Session()

        def get() -> None:
            session.get(side.bare, timeout=10).raise_for_status()

        return get

    warmed_up(sides, make, args.warm_up)
    return interleaved(sides, make, args.gets, args.blocks)


def commit_floor(server_url: str, count: int) -> list[float]:
    """count one-row inserts, each committed, on the servers' PostgreSQL: the floor under
    a durable write's time (synchronous_commit as the server has it)."""
    import psycopg

    with (
        fresh_database(server_url, f"compat_floor_{uuid.uuid4().hex[:6]}") as url,
        psycopg.connect(url) as conn,
    ):
        conn.execute("CREATE TABLE floor (n int)")
        conn.commit()
        seconds = []
        for n in range(count):
            began = time.perf_counter()
            conn.execute("INSERT INTO floor VALUES (%s)", (n,))
            conn.commit()
            seconds.append(time.perf_counter() - began)
        return seconds


def workloads(sides: list[Contender], args: argparse.Namespace) -> dict[str, dict[str, Row]]:
    rows = {"create": creates(sides, args)}
    rates = ", ".join(f"{name} {row.run.rate:.1f}/s" for name, row in rows["create"].items())
    print(f"  created {args.versions:,} on each: {rates}", flush=True)
    rows["alias"] = alias_gets(sides, args)
    rows["search"] = searches(sides, args)
    rows["bare"] = bare_gets(sides, args)
    return {side.name: {key: by_side[side.name] for key, by_side in rows.items()} for side in sides}


def started(
    stack: ExitStack, name: str, start: Start, server_url: str, tmp: Path
) -> Contender | str:
    """The side's server up on a database of its own, and its client; or why not."""
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    print(f"{name}: starting; load average {os.getloadavg()[0]:.2f}", flush=True)
    slug = name.split()[0].lower()
    tracking = f"sqlite:///{tmp / f'{slug}-tracking.db'}"  # never written: no run is logged
    try:
        store = stack.enter_context(
            fresh_database(server_url, f"compat_{slug}_{uuid.uuid4().hex[:6]}")
        )
        url, token = stack.enter_context(start(store, tmp / slug))
    except (RuntimeError, OSError, MlflowException) as exc:
        print(f"{name}: FAILED: {exc}", flush=True)
        return str(exc).splitlines()[0]
    bare = f"{url}/health/live" if token else f"{url}/health"  # MLflow's has no /live
    return Contender(name, MlflowClient(tracking_uri=tracking, registry_uri=url), token, bare)


def measure(
    starts: dict[str, Start], server_url: str, tmp: Path, args: argparse.Namespace
) -> dict[str, Side]:
    """Both servers up side by side, every row run on both in turn; or why a side could
    not run (then the other runs alone)."""
    from mlflow.exceptions import MlflowException

    # MLflow's client logs each create's wait for READY at INFO (its import sets that
    # level): quiet on both sides alike.
    logging.getLogger("mlflow").setLevel(logging.WARNING)
    with ExitStack() as stack:
        up = {name: started(stack, name, start, server_url, tmp) for name, start in starts.items()}
        sides = [side for side in up.values() if isinstance(side, Contender)]
        results: dict[str, Side] = {n: s for n, s in up.items() if isinstance(s, str)}
        if not sides:
            return results
        stack.enter_context(TRIPS.counted())
        print(f"both up, idle {settle():.0f} s later", flush=True)
        began = time.perf_counter()
        try:
            results.update(workloads(sides, args))
        except (RuntimeError, OSError, MlflowException) as exc:
            print(f"FAILED: {exc}", flush=True)
            results.update({side.name: str(exc).splitlines()[0] for side in sides})
        print(f"rows done in {time.perf_counter() - began:.0f} s", flush=True)
    return {name: results[name] for name in starts}


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--versions", type=int, default=1000)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--searches", type=int, default=20)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--blocks", type=int, default=10, help="turns each side takes a row in")
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    if args.quick:
        args.versions, args.gets, args.searches, args.warm_up, args.blocks = 100, 50, 4, 5, 2
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
    starts: dict[str, Start] = {"MLflow -w 1": mlflow_side, "Registrum": registrum_side}
    with (
        tempfile.TemporaryDirectory(prefix="registrum-compat-") as tmp,
        database(Path(tmp), args.database_url, migrated=False) as server_url,
    ):
        results = measure(starts, server_url, Path(tmp), args)
        commits = commit_floor(server_url, args.gets)
    lines = table(results, args) + floors(results, commits)
    print("\n" + "\n".join(lines))
    took = time.perf_counter() - began
    print(
        f"\ntook {took:.0f} s; load average {load[0]:.2f} at the start, "
        f"now {os.getloadavg()[0]:.2f}"
    )
    commit_ms = [round(x * 1000, 3) for x in commits]
    about = {"machine": machine(), "peer": peer, "load": load, "commit_ms": commit_ms}
    saved = save(results, args, lines, about)
    print(f"written to {saved}")
    if any(isinstance(side, str) for side in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the servers and PostgreSQL it started are stopped")
