"""A cluster on one machine, laid out as across machines: one PostgreSQL, a broker and an
S3 server each in a process of its own, two `registrum api`, two projectors, two relays,
two intakes and two checkpoint signers. Writes and promotions go through both APIs (and
commands through Kafka) while each role in turn is killed (SIGKILL) and hung (SIGSTOP for
longer than its lease).

Then: no acknowledged write is lost; the views equal a rebuild and the Kafka topic holds
every event (deduplicated by ce_id); a standby took over within the lease plus a batch;
a resumed hung holder found its lease gone and stood by, its writes refused; /metrics
showed the lag rising while a holder hung and back at 0 at the end."""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import signal
import subprocess
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import asyncpg
import httpx
import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from prometheus_client.parser import text_string_to_metric_families

from schemas.rules import ROLES
from services.bus.topics import COMMANDS, EVENTS, RESULTS
from services.catalogue.rebuild import rebuild
from services.catalogue.views.all import VIEWS
from services.eventlog.postgres import PostgresEventLog
from services.relay.translate import INTERNAL_AGGREGATES
from tests.e2e.conftest import REGISTRUM, bearer, clean_env
from tests.people import TESTERS
from tests.projection_checks import differences, positions, wait_until_caught_up
from tests.services import free_port, fresh_database, kafka_bootstrap, s3_endpoint

LEASE = 3.0
SHA = "cd" * 32


@dataclass
class Cluster:
    env: dict[str, str]
    logs: Path
    processes: dict[str, list[subprocess.Popen[bytes]]] = field(
        default_factory=lambda: defaultdict(list)
    )
    api_ports: list[int] = field(default_factory=list)
    started: itertools.count[int] = field(default_factory=itertools.count)

    def start(self, role: str, port: int | None = None) -> subprocess.Popen[bytes]:
        env = dict(self.env)
        if port is not None:
            env["REGISTRUM_PORT"] = str(port)
        ops = free_port() if role != "api" else None  # its /metrics, beside the others'
        if ops is not None:
            env["REGISTRUM_OPS_PORT"] = str(ops)
        log = self.logs / f"{role}-{next(self.started)}.log"
        with log.open("wb") as out:
            process = subprocess.Popen([REGISTRUM, role], env=env, stdout=out, stderr=out)
        process.log = log  # type: ignore[attr-defined]
        process.port = port  # type: ignore[attr-defined]
        process.ops = ops  # type: ignore[attr-defined]
        self.processes[role].append(process)
        return process

    def command(self, *args: str) -> subprocess.CompletedProcess[str]:
        """An operator's one-shot `registrum` command against the cluster; exit 0 asserted."""
        done = subprocess.run(
            [REGISTRUM, *args],
            env=self.env,
            capture_output=True,
            text=True,
            timeout=300,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        return done

    def running(self, role: str) -> list[subprocess.Popen[bytes]]:
        return [p for p in self.processes[role] if p.poll() is None]

    def by_pid(self, pid: int) -> subprocess.Popen[bytes]:
        return next(p for ps in self.processes.values() for p in ps if p.pid == pid)

    def stop(self) -> None:
        for process in (p for ps in self.processes.values() for p in ps):
            with contextlib.suppress(ProcessLookupError):
                process.send_signal(signal.SIGCONT)
                process.terminate()
        for process in (p for ps in self.processes.values() for p in ps):
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()


def holder(url: str, lease: str) -> int | None:
    """The process id of the live holder of lease, if any."""

    async def ask() -> Any:
        conn = await asyncpg.connect(url)
        try:
            return await conn.fetchval(
                "SELECT holder FROM registrum_leases WHERE name = $1 AND expires_at > now()",
                lease,
            )
        except asyncpg.UndefinedTableError:
            return None
        finally:
            await conn.close()

    found = asyncio.run(ask())
    return int(found.split(":")[1]) if found else None


LAG = {"projector": "registrum_projector_lag_events", "relay": "registrum_relay_lag_events"}


def lag(process: subprocess.Popen[bytes], role: str) -> float | None:
    """The largest lag in events that a follower's /metrics shows; None if unanswered."""
    try:
        text = httpx.get(f"http://127.0.0.1:{process.ops}/metrics", timeout=2).text  # type: ignore[attr-defined]
    except httpx.HTTPError:
        return None
    values = [
        sample.value
        for family in text_string_to_metric_families(text)
        for sample in family.samples
        if sample.name == LAG[role]
    ]
    return max(values) if values else None


def wait_for(condition: Any, seconds: float, what: str) -> float:
    """Seconds until condition() held; AssertionError after seconds."""
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        if condition():
            return time.monotonic() - started
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {seconds} s")


class Load(threading.Thread):
    """Registrations, approvals and promotions through both APIs, each command with an id
    and retried (same id) on the other API when one does not answer; what was answered
    2xx is acknowledged."""

    def __init__(self, apis: list[str], tokens: dict[str, str], models: list[str]) -> None:
        super().__init__(daemon=True)
        self.apis, self.tokens, self.models = apis, tokens, models
        self.versions: dict[str, list[int]] = defaultdict(list)
        self.promoted: list[tuple[str, int]] = []
        self.failures: list[str] = []
        self.stopping = threading.Event()
        self._turn = itertools.count()

    def send(self, actor: str, path: str, body: dict[str, Any]) -> dict[str, Any]:
        body = {**body, "command_id": uuid.uuid4().hex}
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            api = self.apis[next(self._turn) % len(self.apis)]
            try:
                answer = httpx.post(
                    f"{api}{path}", json=body, headers=bearer(self.tokens[actor]), timeout=2
                )
            except httpx.HTTPError:
                continue  # killed or hung: the other one, same command id
            if answer.status_code >= 500:
                time.sleep(0.1)
                continue
            if not answer.is_success:
                raise AssertionError(f"{path}: {answer.status_code} {answer.text}")
            return answer.json()  # type: ignore[no-any-return]
        raise AssertionError(f"{path}: no API answered for 60 s")

    def run(self) -> None:
        try:
            for model in self.models:
                self.send("alice", "/api/v1/models", {"name": model})
            for i in itertools.count():
                if self.stopping.is_set():
                    return
                model = self.models[i % len(self.models)]
                base = f"/api/v1/models/{model}/versions"
                made = self.send(
                    "ci", base, {"artifact_uri": f"s3://m/{i}", "sha256": SHA, "size": 10}
                )
                number = made["version"]["number"]
                self.versions[model].append(number)
                if i % 4 == 0:
                    asked = self.send(
                        "alice", f"{base}/{number}/approvals", {"stage": "staging", "reason": "ok"}
                    )
                    request_id = asked["version"]["approval_requests"][-1]["id"]
                    self.send("bob", f"{base}/{number}/approvals/{request_id}/approve", {})
                    self.send("carol", f"{base}/{number}/promote", {"stage": "staging"})
                    self.promoted.append((model, number))
                time.sleep(0.02)
        except Exception as exc:  # the test reads it
            self.failures.append(repr(exc))


async def send_commands(bootstrap: str, credential: str, model: str, count: int) -> list[str]:
    """Registers count versions of model by message, one every 0.2 s; their command ids."""
    producer = AIOKafkaProducer(bootstrap_servers=bootstrap)
    await producer.start()
    ids = []
    try:
        for i in range(count):
            command_id = f"{model}-{i}"
            command = {
                "type": "RegisterVersion",
                "command_id": command_id,
                "model": model,
                "artifact_uri": f"s3://k/{i}",
                "sha256": SHA,
                "size": 10,
            }
            await producer.send_and_wait(
                COMMANDS,
                json.dumps(command).encode(),
                key=model.encode(),
                headers=[("authorization", f"Bearer {credential}".encode())],
            )
            ids.append(command_id)
            await asyncio.sleep(0.2)
    finally:
        await producer.stop()
    return ids


async def read_topic(bootstrap: str, topic: str, until: Any, seconds: float) -> list[Any]:
    """The topic's records from the start, until until(records) holds or seconds pass."""
    consumer = AIOKafkaConsumer(
        topic, bootstrap_servers=bootstrap, auto_offset_reset="earliest", fetch_max_wait_ms=20
    )
    await consumer.start()
    records: list[Any] = []
    try:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline and not until(records):
            batches = await consumer.getmany(timeout_ms=200)
            records += [r for rs in batches.values() for r in rs]
    finally:
        await consumer.stop()
    return records


async def published_positions(url: str) -> set[int]:
    """The positions the relay must publish: every event but the internal ones."""
    conn = await asyncpg.connect(url)
    try:
        log = PostgresEventLog(conn)
        wanted, after = set(), 0
        while batch := await log.read_after(after, 1000):
            wanted |= {e.position for e in batch if e.aggregate not in INTERNAL_AGGREGATES}
            after = batch[-1].position
    finally:
        await conn.close()
    return wanted


@pytest.fixture
def cluster(tmp_path: Path, database_url: str, unique: str) -> Iterator[tuple[Cluster, str, str]]:
    url = fresh_database(database_url, f"cluster_{unique}", migrate=False)
    with kafka_bootstrap() as bootstrap, s3_endpoint() as s3:
        settings = {
            "DATABASE_URL": url,
            "KAFKA_BOOTSTRAP": bootstrap,
            "S3_ENDPOINT": s3.endpoint,
            "S3_ACCESS_KEY": s3.access_key,
            "S3_SECRET_KEY": s3.secret_key,
            "S3_SECURE": "true" if s3.secure else "false",
            "S3_BUCKET": f"cluster-{unique}",
            "LEASE_SECONDS": str(LEASE),
            "STORE_ID": f"cluster-{unique}",
            "DATA_DIR": str(tmp_path / "data"),
            "AUDIT_KEY_FILE": str(tmp_path / "signing.pem"),
            "AUDIT_CHECKPOINT_SECONDS": "1",
        }
        env = clean_env() | {f"REGISTRUM_{k}": v for k, v in settings.items()}
        running = Cluster(env, tmp_path)
        try:
            yield running, url, bootstrap
        finally:
            running.stop()


def first_administrator(nodes: Cluster, out: Path) -> str:
    """`registrum admin init`, as an operator runs it once (and again: then it does nothing)."""
    for said in ("the administrator's token is in", "already has an administrator"):
        done = nodes.command("admin", "init", "--out", str(out))
        assert said in done.stdout, done.stdout + done.stderr
    assert out.stat().st_mode & 0o777 == 0o600
    return out.read_text().strip()


def people(api: str, admin: str) -> dict[str, str]:
    for role in ROLES:
        granted = httpx.post(
            f"{api}/api/v1/grants",
            json={"principal": f"group:{TESTERS}", "role": role, "scope": "registry"},
            headers=bearer(admin),
            timeout=30,
        )
        assert granted.status_code == 201, granted.text
    tokens = {}
    for name in ("alice", "bob", "carol", "ci"):
        made = httpx.post(
            f"{api}/api/v1/tokens",
            json={"subject": name, "kind": "user", "groups": [TESTERS], "expires_in_days": 1},
            headers=bearer(admin),
            timeout=30,
        )
        assert made.status_code == 201, made.text
        tokens[name] = made.json()["token"]
    return tokens


def test_a_cluster_keeps_every_write_while_each_role_is_killed_and_hung(
    cluster: tuple[Cluster, str, str], tmp_path: Path, unique: str
) -> None:
    nodes, url, bootstrap = cluster
    # Migrations first, once, as the compose file's and the Kubernetes Job's one-shot does.
    nodes.command("db", "migrate")
    admin = first_administrator(nodes, tmp_path / "admin.token")
    ports = [free_port(), free_port()]
    for port in ports:
        nodes.start("api", port)
    apis = [f"http://127.0.0.1:{port}" for port in ports]
    for api in apis:
        wait_for(lambda a=api: _answers(f"{a}/health/live"), 60, f"{api} up")
    nodes.command("audit", "keygen", "--out", nodes.env["REGISTRUM_AUDIT_KEY_FILE"])
    for role in ("projector", "relay", "intake", "signer"):
        nodes.start(role)
        nodes.start(role)
    for lease in ("projector", "relay:kafka", "signer"):
        wait_for(lambda lease=lease: holder(url, lease) is not None, 60, f"{lease} held")

    tokens = people(apis[0], admin)
    load = Load(apis, tokens, [f"c{i}-{unique}" for i in range(3)])
    load.start()
    by_kafka = f"k-{unique}"
    httpx.post(
        f"{apis[1]}/api/v1/models", json={"name": by_kafka}, headers=bearer(tokens["alice"])
    ).raise_for_status()
    sent: list[str] = []
    sending = threading.Thread(
        target=lambda: sent.extend(
            asyncio.run(send_commands(bootstrap, tokens["ci"], by_kafka, 60))
        )
    )
    sending.start()
    takeovers: dict[str, float] = {}
    scraped: dict[str, float | None] = {}
    try:
        time.sleep(2)
        # Single-active followers: the holder killed, then the (new) holder hung.
        single = (("projector", "projector"), ("relay", "relay:kafka"), ("signer", "signer"))
        for role, lease in single:
            active = holder(url, lease)
            assert active is not None
            nodes.by_pid(active).send_signal(signal.SIGKILL)
            takeovers[f"{role} killed"] = wait_for(
                lambda lease=lease, gone=active: holder(url, lease) not in (None, gone),
                LEASE + 5,
                f"{role} takeover after a kill",
            )
            standby = nodes.start(role)  # back to two, once it stands by
            wait_for(lambda p=standby: "stands by" in Path(p.log).read_text(), 60, "standby")
            hung = holder(url, lease)
            assert hung is not None
            scraped[f"{role} before"] = lag(standby, role) if role in LAG else None
            nodes.by_pid(hung).send_signal(signal.SIGSTOP)
            peak: list[float] = []

            def taken_over(
                lease: str = lease,
                gone: int = hung,
                role: str = role,
                standby: subprocess.Popen[bytes] = standby,
                peak: list[float] = peak,
            ) -> bool:
                if role in LAG:
                    peak.append(lag(standby, role) or 0.0)  # the standby's view of the lag
                return holder(url, lease) not in (None, gone)

            takeovers[f"{role} hung"] = wait_for(taken_over, LEASE + 5, f"{role} takeover")
            scraped[f"{role} while hung"] = max(peak, default=None)
            time.sleep(1)
            resumed = nodes.by_pid(hung)
            before = len(Path(resumed.log).read_text())  # type: ignore[attr-defined]
            resumed.send_signal(signal.SIGCONT)
            # It learns it lost the lease (at its next renewal or fenced write; or, had it
            # hung inside a transaction, when the server ended that session and rolled the
            # transaction back) and stands by.
            wait_for(
                lambda r=resumed, b=before: _stood_down(Path(r.log).read_text()[b:]),
                LEASE * 2,
                f"resumed {role} stands by",
            )
            assert resumed.poll() is None and holder(url, lease) != hung
        # Active-active roles: one API and one intake killed, then the other one hung.
        for role in ("api", "intake"):
            first, second = nodes.running(role)[:2]
            first.send_signal(signal.SIGKILL)
            first.wait()
            time.sleep(2)
            nodes.start(role, first.port)  # type: ignore[attr-defined]
            if role == "api":
                wait_for(lambda: all(_answers(f"{a}/health/live") for a in apis), 60, "APIs")
            second.send_signal(signal.SIGSTOP)
            time.sleep(LEASE + 2)
            second.send_signal(signal.SIGCONT)
        time.sleep(2)
    finally:
        load.stopping.set()
        load.join(120)
        sending.join(120)
    assert not load.failures, load.failures

    # Every acknowledged write is in the views, numbered without gaps.
    wait_until_caught_up(url, timeout=120)
    reader = bearer(tokens["alice"])
    for model, numbers in load.versions.items():
        assert numbers == list(range(1, len(numbers) + 1))
        listed = httpx.get(f"{apis[0]}/api/v1/models/{model}/versions?limit=1000", headers=reader)
        assert sorted(v["number"] for v in listed.json()["versions"]) == numbers
    for model, number in load.promoted:
        shown = httpx.get(f"{apis[1]}/api/v1/models/{model}/versions/{number}", headers=reader)
        assert shown.json()["version"]["stage"] in ("staging", "production", "archived")
    assert sum(map(len, load.versions.values())) > 20 and len(load.promoted) > 3

    # The views equal a rebuild from the log: no late write of a replaced holder landed.
    _, before = asyncio.run(positions(url))
    asyncio.run(rebuild(url, url, list(VIEWS.values())))
    _, after = asyncio.run(positions(url))
    old = {name: generation for name, (generation, _) in before.items()}
    new = {name: generation for name, (generation, _) in after.items()}
    assert asyncio.run(differences(url, old, new)) == []

    # The chain is intact, with checkpoints signed all along by the one shared key.
    audit = nodes.command("audit", "verify", "--json")  # exit 0: intact
    assert json.loads(audit.stdout)["checkpoints"] > 3

    # Every command sent by message was answered and applied, once.
    answers = asyncio.run(
        read_topic(bootstrap, RESULTS, lambda rs: {r.key.decode() for r in rs} >= set(sent), 90)
    )
    accepted = {r.key.decode() for r in answers if json.loads(r.value)["status"] == "accepted"}
    assert set(sent) <= accepted and len(sent) == 60
    listed = httpx.get(f"{apis[0]}/api/v1/models/{by_kafka}/versions?limit=1000", headers=reader)
    assert sorted(v["number"] for v in listed.json()["versions"]) == list(range(1, 61))

    # Kafka holds every event, once a consumer deduplicates by ce_id.
    wanted = asyncio.run(published_positions(url))
    store = f"cluster-{unique}:"

    def published(records: list[Any]) -> set[int]:
        ids = (dict(r.headers).get("ce_id", b"").decode() for r in records)
        return {int(i.removeprefix(store)) for i in ids if i.startswith(store)}

    events = asyncio.run(read_topic(bootstrap, EVENTS, lambda rs: published(rs) >= wanted, 120))
    assert published(events) >= wanted

    # /metrics showed the lag rising while the holder hung, and back at 0 now.
    for role in ("projector", "relay"):
        assert scraped[f"{role} before"] is not None
        assert (scraped[f"{role} while hung"] or 0) > 0, scraped
        for process in nodes.running(role):
            wait_for(lambda p=process, r=role: lag(p, r) == 0, 60, f"{role} lag back to 0")

    # A standby took over within the lease and a batch (a killed holder at once).
    for what, seconds in takeovers.items():
        assert seconds < LEASE + 2, (what, seconds)


def _stood_down(said: str) -> bool:
    return "lost the lease" in said or "stands by" in said


def _answers(url: str) -> bool:
    try:
        return httpx.get(url, timeout=1).status_code == 200
    except httpx.HTTPError:
        return False
