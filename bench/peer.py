"""Registrum side by side with an MLflow model-registry server: the same workloads over raw
HTTP against `registrum serve` and `mlflow server`, both on one PostgreSQL.

    python bench/peer.py [--sequential 1000] [--writers 8] [--per-writer 100] [--gets 500]
                         [--searches 50] [--warm-up 20] [--quick] [--database-url URL]

Without --database-url (or REGISTRUM_BENCH_DATABASE_URL) an embedded PostgreSQL is started
in a temporary directory; each side gets a database of its own in it (dropped at the end).
The sides run one after another, each alone on the machine: `registrum serve` with its
defaults (embedded Kafka broker, projector, relay and intake in the process), then MLflow
(PostgreSQL through psycopg 3) with --workers 1, then with its default worker count.

Each side: N sequential registrations on one model; W writers x P registrations on one
model at once; W writers x P on a model each; then on the first model (N versions, an
alias on the middle one) G gets by alias, G gets of a version, G of a bare route, and S
searches of all its versions and of those tagged team=risk. One keep-alive connection per
writer (http.client, the same code for both sides); before each timed workload, a warm-up
(--warm-up registrations on another model, or as many of the same read; a quarter of it
for searches), then a wait until the side's processes are idle. After each write workload
every version is listed to check the numbers are 1..n with no gap or duplicate.

Prints each side, our speed-up over each MLflow run, every non-2xx answer, and the
budgets of DESIGN.md (against MLflow with 1 worker) as PASS or MISS.

MLflow's default is uvicorn with 4 worker processes on a socket uvicorn binds itself; on
Linux their connections then lack TCP_NODELAY (uvicorn issue #3149), so an answer on a
keep-alive connection can wait ~40 ms for the client's delayed ACK. Any keep-alive client
meets that, so it stays in the numbers.
"""

from __future__ import annotations

import argparse
import os
import re
import signal
import sys
import tempfile
import time
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import AbstractContextManager, closing
from pathlib import Path
from types import FrameType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.common import database, machine
from bench.peer_load import Call, Client, Run, concurrent, settle, timed
from bench.peer_report import Outcome, Side, budgets, errors, table
from bench.peer_sides import Api, fresh_database, mlflow, mlflow_version, numbers, registrum

SEQUENTIAL, ONE, WARM = "sequential", "one-model", "warm-up"
TEAMS = ("growth", "risk", "risk")  # tags.team of the i-th registration, by i % 3
Start = Callable[[str, Path], AbstractContextManager[tuple[str, Api]]]


def registrations(api: Api, model: str, writer: int, count: int) -> list[Call]:
    return [api.register(model, f"{writer}-{i}", TEAMS[i % 3]) for i in range(count)]


def numbering(found: list[int], answered: int) -> tuple[bool, str]:
    """Whether the numbers listed are exactly 1..n, one per registration answered 2xx."""
    if sorted(found) == list(range(1, len(found) + 1)) and len(found) == answered:
        return True, f"gapless 1..{len(found)}"
    distinct = set(found)
    return False, (
        f"{len(found)} listed, {max(distinct, default=0) - len(distinct)} missing, "
        f"{len(found) - len(distinct)} duplicated, {answered} answered 2xx"
    )


def writes(url: str, api: Api, models: list[str], per_writer: int, warm_up: int) -> Outcome:
    """One writer per entry of models, each registering per_writer versions of it."""
    # A connection per phase: one left idle through another (a server's keep-alive timeout
    # is 5 s) could be closed under the next request.
    with closing(Client(url, api.headers)) as client:
        for i in range(warm_up):
            client.ok(api.register(WARM, f"{models[0]}-{i}", "growth"))
    settle()
    runs = concurrent(
        url, api.headers, [registrations(api, m, w, per_writer) for w, m in enumerate(models)]
    )
    answered: Counter[str] = Counter()
    for model, run in zip(models, runs, strict=True):
        answered[model] += run.ok
    with closing(Client(url, api.headers)) as client:
        checks = [numbering(numbers(client, api, model), answered[model]) for model in answered]
    gapless = all(good for good, _ in checks)
    note = checks[0][1] if len(checks) == 1 else f"gapless x {len(checks)}"
    if not gapless:
        note = "; ".join(text for good, text in checks if not good)
    return Outcome(Run.merged(runs, runs[0].seconds), note, gapless)


def reads(url: str, api: Api, args: argparse.Namespace) -> dict[str, Outcome]:
    """Gets and searches on the model of the sequential workload, once its reads have
    caught up; the rows and bytes a search answers are counted once, outside the timing."""
    middle = max(args.sequential // 2, 1)
    with closing(Client(url, api.headers)) as client:
        client.ok(api.set_alias(SEQUENTIAL, "champion", middle))
        api.catch_up(client, SEQUENTIAL)
    searches = max(args.warm_up // 4, 1)
    cases = {
        "alias": (api.get_alias(SEQUENTIAL, "champion"), args.gets, args.warm_up),
        "version": (api.get_version(SEQUENTIAL, middle), args.gets, args.warm_up),
        "bare": (api.bare(), args.gets, args.warm_up),
        "search": (api.search(SEQUENTIAL), args.searches, searches),
        "filtered": (api.search(SEQUENTIAL, tag="risk"), args.searches, searches),
    }
    outcomes = {}
    for key, (call, count, warm_up) in cases.items():
        with closing(Client(url, api.headers)) as client:
            answer = client.ok(call)
            for _ in range(warm_up):
                client.ok(call)
        settle()
        run = Run()
        with closing(Client(url, api.headers)) as client:
            started = time.perf_counter()
            timed(client, [call] * count, run)
            run.seconds = time.perf_counter() - started
        note = ""
        if key in ("search", "filtered"):
            note = f"{len(api.rows(answer))} / {len(answer) / 1024:.0f} KiB"
        outcomes[key] = Outcome(run, note)
    return outcomes


def workloads(url: str, api: Api, args: argparse.Namespace) -> dict[str, Outcome]:
    eight = [f"model-{w}" for w in range(args.writers)]
    with closing(Client(url, api.headers)) as setup:
        for model in (SEQUENTIAL, ONE, WARM, *eight):
            setup.ok(api.create_model(model))
    plans = {
        "sequential": ([SEQUENTIAL], args.sequential),
        "one model": ([ONE] * args.writers, args.per_writer),
        "8 models": (eight, args.per_writer),
    }
    outcomes = {}
    for key, (models, count) in plans.items():
        outcomes[key] = writes(url, api, models, count, args.warm_up)
        print(f"  {key}: {outcomes[key].run.rate:.1f} versions/s, {outcomes[key].note}", flush=True)
    return outcomes | reads(url, api, args)


def measure(name: str, start: Start, server_url: str, tmp: Path, args: argparse.Namespace) -> Side:
    """Every workload on one side, on a database of its own; or why it could not run."""
    print(f"{name}: starting", flush=True)
    began = time.perf_counter()
    slug = re.sub(r"\W+", "_", name).strip("_")
    try:
        with (
            fresh_database(server_url, f"peer_{slug}_{uuid.uuid4().hex[:6]}") as url,
            start(url, tmp / slug) as (api_url, api),
        ):
            print(f"{name}: up, idle {settle():.0f} s later", flush=True)
            outcomes = workloads(api_url, api, args)
    except (RuntimeError, OSError) as exc:
        print(f"{name}: FAILED: {exc}", flush=True)
        return str(exc).splitlines()[0]
    print(f"{name}: done in {time.perf_counter() - began:.0f} s", flush=True)
    return outcomes


def titles(args: argparse.Namespace) -> dict[str, str]:
    w, p, g, s = args.writers, args.per_writer, args.gets, args.searches
    return {
        "sequential": f"{args.sequential:,} sequential registrations, one model",
        "one model": f"{w} writers x {p} registrations, one model",
        "8 models": f"{w} writers x {p} registrations, a model each",
        "alias": f"{g} gets by alias",
        "version": f"{g} gets of a version by number",
        "bare": f"{g} gets of a bare route (ours /health/live, MLflow /health)",
        "search": f"{s} searches: all {args.sequential:,} versions of a model",
        "filtered": f"{s} searches: its versions with tags.team = 'risk'",
    }


def arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sequential", type=int, default=1000)
    parser.add_argument("--writers", type=int, default=8)
    parser.add_argument("--per-writer", type=int, default=100)
    parser.add_argument("--gets", type=int, default=500)
    parser.add_argument("--searches", type=int, default=50)
    parser.add_argument("--warm-up", type=int, default=20)
    parser.add_argument("--quick", action="store_true", help="a small smoke run")
    parser.add_argument("--database-url", default=os.environ.get("REGISTRUM_BENCH_DATABASE_URL"))
    args = parser.parse_args()
    if args.quick:
        args.sequential, args.per_writer, args.gets, args.searches, args.warm_up = 100, 10, 50, 5, 5
    return args


def interrupted(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt  # SIGTERM cleans up as Ctrl-C does


def main() -> None:
    args = arguments()
    signal.signal(signal.SIGTERM, interrupted)
    began = time.perf_counter()
    try:
        peer = f"MLflow {mlflow_version()}"
    except RuntimeError as exc:
        peer = str(exc)
    print(f"{machine()}; load average {os.getloadavg()[0]:.2f}; {peer}", flush=True)
    sides: dict[str, Start] = {
        "registrum": registrum,
        "mlflow -w 1": lambda url, folder: mlflow("mlflow -w 1", url, folder, 1),
        "mlflow default": lambda url, folder: mlflow("mlflow default", url, folder, None),
    }
    with (
        tempfile.TemporaryDirectory(prefix="registrum-peer-") as tmp,
        database(Path(tmp), args.database_url, migrated=False) as server_url,
    ):
        results = {
            name: measure(name, start, server_url, Path(tmp), args) for name, start in sides.items()
        }
    print()
    print("\n".join(table(results, titles(args))))
    print("\nnon-2xx answers (latencies above are of 2xx answers only):")
    print("\n".join(f"  {line}" for line in errors(results)))
    print("\nbudgets (DESIGN.md; judged against mlflow -w 1):")
    print("\n".join(f"  {line}" for line in budgets(results, args.sequential)))
    print(f"\ntook {time.perf_counter() - began:.0f} s; load average now {os.getloadavg()[0]:.2f}")
    if any(isinstance(side, str) for side in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit("interrupted; the servers and PostgreSQL it started are stopped")
