"""bench/peer.py's sides: the calls of each workload in Registrum's REST API and in
MLflow's REST API 2.0, and how each server is started on its own database."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path
from urllib.parse import urlencode, urlsplit, urlunsplit

import psycopg
from psycopg import sql

from bench.common import credential, free_port, server
from bench.peer_load import Call, Client


def _json(payload: object) -> bytes:
    return json.dumps(payload).encode()


class Registrum:
    """/api/v1 of `registrum serve`; reads come from projected views."""

    label = "registrum"

    def __init__(self, headers: dict[str, str]) -> None:
        self.headers = headers

    def create_model(self, model: str) -> Call:
        return "POST", "/api/v1/models", _json({"name": model})

    def register(self, model: str, key: str, team: str) -> Call:
        body = {"artifact_uri": f"s3://bench/{model}/{key}", "tags": {"team": team}}
        return "POST", f"/api/v1/models/{model}/versions", _json(body)

    def set_alias(self, model: str, alias: str, number: int) -> Call:
        return "PUT", f"/api/v1/models/{model}/aliases/{alias}", _json({"version": number})

    def get_alias(self, model: str, alias: str) -> Call:
        return "GET", f"/api/v1/models/{model}/aliases/{alias}", None

    def get_version(self, model: str, number: int) -> Call:
        return "GET", f"/api/v1/models/{model}/versions/{number}", None

    def bare(self) -> Call:
        return "GET", "/health/live", None

    def search(self, model: str, tag: str | None = None, token: str | None = None) -> Call:
        query = {"limit": 1000, "filter": f"tags.team = '{tag}'" if tag else None}
        return (
            "GET",
            _path(f"/api/v1/models/{model}/versions", {**query, "page_token": token}),
            None,
        )

    def rows(self, body: bytes) -> list[dict]:
        return json.loads(body)["versions"]  # type: ignore[no-any-return]

    def number(self, row: dict) -> int:
        return int(row["number"])

    def next_page(self, body: bytes) -> str | None:
        return json.loads(body)["next_page_token"]  # type: ignore[no-any-return]

    def catch_up(self, client: Client, model: str) -> None:
        """Waits until the views have every event written so far."""
        client.ok(("GET", f"/api/v1/models/{model}?min_position=head&wait=30", None))


class MLflow:
    """MLflow's REST API 2.0 (mlflow/server/handlers.py); reads query its tables."""

    API = "/api/2.0/mlflow"

    def __init__(self, label: str) -> None:
        self.label = label
        self.headers: dict[str, str] = {}

    def create_model(self, model: str) -> Call:
        return "POST", f"{self.API}/registered-models/create", _json({"name": model})

    def register(self, model: str, key: str, team: str) -> Call:
        body = {
            "name": model,
            "source": f"s3://bench/{model}/{key}",
            "tags": [{"key": "team", "value": team}],
        }
        return "POST", f"{self.API}/model-versions/create", _json(body)

    def set_alias(self, model: str, alias: str, number: int) -> Call:
        body = {"name": model, "alias": alias, "version": str(number)}
        return "POST", f"{self.API}/registered-models/alias", _json(body)

    def get_alias(self, model: str, alias: str) -> Call:
        query = {"name": model, "alias": alias}
        return "GET", _path(f"{self.API}/registered-models/alias", query), None

    def get_version(self, model: str, number: int) -> Call:
        query = {"name": model, "version": number}
        return "GET", _path(f"{self.API}/model-versions/get", query), None

    def bare(self) -> Call:
        return "GET", "/health", None

    def search(self, model: str, tag: str | None = None, token: str | None = None) -> Call:
        where = f"name = '{model}'" + (f" AND tags.team = '{tag}'" if tag else "")
        query = {"filter": where, "max_results": 1000, "page_token": token}
        return "GET", _path(f"{self.API}/model-versions/search", query), None

    def rows(self, body: bytes) -> list[dict]:
        return json.loads(body).get("model_versions", [])  # type: ignore[no-any-return]

    def number(self, row: dict) -> int:
        return int(row["version"])

    def next_page(self, body: bytes) -> str | None:
        return json.loads(body).get("next_page_token")  # type: ignore[no-any-return]

    def catch_up(self, client: Client, model: str) -> None:
        """Nothing to wait for: MLflow reads what it wrote."""


Api = Registrum | MLflow


def _path(path: str, query: dict[str, object]) -> str:
    given = {key: value for key, value in query.items() if value is not None}
    return f"{path}?{urlencode(given)}"


def numbers(client: Client, api: Api, model: str) -> list[int]:
    """The numbers of every version of model, read page by page after the reads caught up."""
    api.catch_up(client, model)
    found, token = [], None
    while True:
        body = client.ok(api.search(model, token=token))
        found += [api.number(row) for row in api.rows(body)]
        token = api.next_page(body)
        if not token:
            return found


def database_url(server_url: str, name: str) -> str:
    """server_url naming another database on the same server."""
    return urlunsplit(urlsplit(server_url)._replace(path=f"/{name}"))


@contextmanager
def fresh_database(server_url: str, name: str) -> Iterator[str]:
    """A new database on the PostgreSQL server_url reaches; dropped afterwards."""
    with psycopg.connect(server_url, autocommit=True) as conn:
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield database_url(server_url, name)
    finally:
        with psycopg.connect(server_url, autocommit=True) as conn:
            drop = sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)")
            conn.execute(drop.format(sql.Identifier(name)))


@contextmanager
def registrum(database: str, folder: Path) -> Iterator[tuple[str, Api]]:
    """`registrum serve` with its defaults (embedded Kafka broker, followers in the
    process), the broker on a free port in case another serve holds 9092."""
    port = {"REGISTRUM_EMBEDDED_KAFKA_PORT": str(free_port())}
    with server(database, folder, port) as url:
        yield url, Registrum(credential(database))


def mlflow_version() -> str:
    try:
        return metadata.version("mlflow")
    except metadata.PackageNotFoundError:
        raise RuntimeError(
            "mlflow is not installed here: pip install -e '.[bench]' (make bench does)"
        ) from None


@contextmanager
def mlflow(
    label: str, database: str, folder: Path, workers: int | None
) -> Iterator[tuple[str, Api]]:
    """`mlflow server` on database (PostgreSQL through psycopg 3), with workers uvicorn
    workers or, for None, its default (4). It migrates its schema before it listens. Its
    output goes to folder/mlflow.log; its artefact root (unused) is under folder."""
    mlflow_version()
    folder.mkdir(parents=True)
    port = free_port()
    command = [str(Path(sys.executable).parent / "mlflow"), "server", "--host", "127.0.0.1"]
    # SQLAlchemy's psycopg 3 dialect: psycopg comes with registrum[server].
    store = urlunsplit(urlsplit(database)._replace(scheme="postgresql+psycopg"))
    command += ["--port", str(port), "--backend-store-uri", store]
    command += ["--workers", str(workers)] if workers else []
    log = folder / "mlflow.log"
    with log.open("wb") as out:
        process = subprocess.Popen(
            command,
            cwd=folder,
            stdout=out,
            stderr=subprocess.STDOUT,
            # No usage reports sent from a benchmark.
            env={**os.environ, "MLFLOW_DISABLE_TELEMETRY": "true"},
            # Its own process group (server, workers, job runners), stopped as one.
            start_new_session=True,
        )
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_for_mlflow(url, process, log)
        yield url, MLflow(label)
    finally:
        _stop_group(process)


def _wait_for_mlflow(url: str, process: subprocess.Popen[bytes], log: Path) -> None:
    """Until its store answers a search (its schema migrated, a worker up), or why not."""
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        if process.poll() is not None:
            tail = log.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"mlflow server exited ({process.returncode}):\n{tail}")
        try:
            probe = Client(url, {})
            status, _ = probe.send(("GET", f"{MLflow.API}/registered-models/search", None))
            probe.close()
            if status == 200:
                return
        except OSError:
            pass  # not listening yet
        time.sleep(0.2)
    raise RuntimeError(f"mlflow server did not answer within 180 s (see {log})")


def _stop_group(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM to the server's process group; SIGKILL to what is left of it after 30 s."""
    _signal_group(process.pid, signal.SIGTERM)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline and _signal_group(process.pid, 0):
        process.poll()  # reaps the leader once it exits
        time.sleep(0.1)
    _signal_group(process.pid, signal.SIGKILL)
    process.wait()


def _signal_group(group: int, signum: int) -> bool:
    """Sends signum to the group; False when no process of it is left."""
    try:
        os.killpg(group, signum)
    except ProcessLookupError:
        return False
    return True
