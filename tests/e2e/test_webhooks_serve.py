"""Webhooks from a real `registrum serve`, made with MLflow's own client, to a real HTTP
receiver: under a stream of changes, the receiver is down for 10 s and the registry is
restarted once, and still every delivery arrives, signed, deduplicable by its delivery id,
in order per model."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import Server, bearer, cli, cli_json, start_server, token
from tests.receiver import Received, Receiver
from tests.services import free_port

pytestmark = [
    pytest.mark.e2e,
    # MLflow's client, imported here, warns about things that are not ours.
    pytest.mark.filterwarnings("ignore::DeprecationWarning"),
    pytest.mark.filterwarnings("ignore::FutureWarning"),
    pytest.mark.filterwarnings("ignore::UserWarning"),
]

SETTINGS = {
    "kafka": "false",  # not what is tested here; the registry starts faster without
    "webhook_allow_private_urls": "true",  # the receiver is on 127.0.0.1
    "webhook_retry_max_seconds": "2",
}
MODELS = ("wh-e2e-a", "wh-e2e-b", "wh-e2e-c")
VERSIONS = 6


class Writer:
    """Changes, one model after another, over HTTP; each command retried with its command
    id until the registry answers (it is restarted meanwhile), so none is lost or doubled.
    `expected` is what a webhook should hear, per model, in order."""

    def __init__(self, url: str, headers: dict[str, str]) -> None:
        self.url = url
        self.headers = headers
        self.expected: dict[str, list[tuple[str, str | None]]] = {m: [] for m in MODELS}
        self.done = threading.Event()
        self.failure: BaseException | None = None
        self.sent_at: list[float] = []  # when each command was answered (time.monotonic)

    def send(self, method: str, path: str, body: dict[str, object]) -> None:
        body = {**body, "command_id": uuid.uuid4().hex}
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            try:
                answer = httpx.request(
                    method, f"{self.url}{path}", json=body, headers=self.headers, timeout=10
                )
                if answer.status_code < 500:
                    assert answer.is_success, answer.text
                    self.sent_at.append(time.monotonic())
                    return
            except httpx.HTTPError:
                pass  # the registry is restarting
            time.sleep(0.2)
        raise TimeoutError(f"{method} {path} never succeeded")

    def run(self) -> None:
        try:
            for model in MODELS:
                self.send("POST", "/api/v1/models", {"name": model})
                self.expected[model].append(("registered_model.created", None))
            for number in range(1, VERSIONS + 1):
                for model in MODELS:
                    base = f"/api/v1/models/{model}"
                    self.send("POST", f"{base}/versions", {"artifact_uri": f"s3://m/{number}"})
                    self.expected[model].append(("model_version.created", str(number)))
                    self.send("PUT", f"{base}/versions/{number}/tags/step", {"value": "x"})
                    self.expected[model].append(("model_version_tag.set", str(number)))
                    self.send("PUT", f"{base}/aliases/current", {"version": number})
                    self.expected[model].append(("model_version_alias.created", str(number)))
                time.sleep(1.5)  # a stream over ~15 s, not a burst
        except BaseException as exc:
            self.failure = exc
        finally:
            self.done.set()


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    return tmp_path / "data"


@pytest.fixture
def server(data_dir: Path) -> Iterator[list[Server]]:
    """The registry (a list: the test replaces it when it restarts it)."""
    running = [start_server(data_dir, **SETTINGS)]
    yield running
    if running[-1].process.poll() is None:
        running[-1].stop()


def heard(received: list[Received]) -> dict[str, list[tuple[str, str | None]]]:
    """What the receiver accepted per model, each delivery once (by its id), in order."""
    seen: set[str] = set()
    per_model: dict[str, list[tuple[str, str | None]]] = {}
    for r in received:
        if r.delivery_id in seen:
            continue
        seen.add(r.delivery_id)
        event = f"{r.body['entity']}.{r.body['action']}"
        per_model.setdefault(r.body["data"]["name"], []).append(
            (event, r.body["data"].get("version"))
        )
    return per_model


def test_every_delivery_arrives_signed_and_in_order_through_an_outage_and_a_restart(
    server: list[Server], data_dir: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from mlflow import MlflowClient
    from mlflow.exceptions import MlflowException

    url = server[0].url
    receiver = Receiver(free_port())
    receiver.secret = "e2e-" + uuid.uuid4().hex
    receiver.start()
    # The webhook is made with MLflow's own client, with a secret of our choosing.
    monkeypatch.setenv("MLFLOW_TRACKING_TOKEN", token(url, "alice"))
    mlflow = MlflowClient(tracking_uri=f"sqlite:///{tmp_path / 'mlflow.db'}", registry_uri=url)
    hook = mlflow.create_webhook(
        name="e2e-deployer",
        url=receiver.url,
        events=[
            "registered_model.created",
            "model_version.created",
            "model_version_tag.set",
            "model_version_alias.created",
        ],
        secret=receiver.secret,
    )
    assert mlflow.get_webhook(hook.webhook_id).status.is_active()
    changed = mlflow.update_webhook(hook.webhook_id, description="tells the deployer")
    assert changed.description == "tells the deployer"
    assert hook.webhook_id in [w.webhook_id for w in mlflow.list_webhooks()]

    writer = Writer(url, bearer(token(url, "alice")))
    writing = threading.Thread(target=writer.run, daemon=True)
    writing.start()
    time.sleep(3)
    # The receiver goes away for 10 s; in the middle of it, the registry restarts.
    receiver.stop()
    down_at = time.monotonic()
    time.sleep(3)
    port = int(url.rsplit(":", 1)[1])
    assert server[-1].stop() == 0
    server.append(start_server(data_dir, port, first_start=False, testers=False, **SETTINGS))
    restarted = time.monotonic()
    time.sleep(max(0.0, 10 - (time.monotonic() - down_at)))
    receiver.start()

    assert writer.done.wait(120) and writer.failure is None, writer.failure
    # Changes were made before the outage, during it, and after the restart.
    assert min(writer.sent_at) < down_at < restarted < max(writer.sent_at)
    total = sum(len(events) for events in writer.expected.values())
    got = receiver.wait_for(total, 90)

    # Every delivery arrived, once each after deduplication by delivery id, in order per
    # model, and every request carried a valid signature.
    assert heard(got) == writer.expected
    assert len({r.delivery_id for r in got}) == total
    assert all(r.signed for r in receiver.received)
    # Redeliveries (attempts the outage or the restart cut short) repeat the same body
    # under the same id.
    bodies: dict[str, dict[str, object]] = {}
    for r in got:
        assert bodies.setdefault(r.delivery_id, r.body) == r.body
    # The delivery log says so too: nothing left pending or failed, some retried.
    log = httpx.get(
        f"{url}/api/v1/webhooks/deliveries",
        params={"webhook_id": hook.webhook_id, "limit": 1000},
        headers=bearer(token(url, "alice")),
        timeout=30,
    ).json()["deliveries"]
    assert len(log) == total
    assert {d["status"] for d in log} == {"delivered"}
    assert any(d["attempts"] > 1 for d in log)
    # The same log from the CLI, and a test fire: signed, answered, logged.
    listed = cli_json(url, "webhooks", "deliveries", "--webhook", hook.webhook_id, "--limit", "5")
    assert [d["status"] for d in listed["deliveries"]] == ["delivered"] * 5
    fired = cli(url, "webhooks", "test", hook.webhook_id, "--event", "model_version.created")
    assert fired.returncode == 0 and "delivered" in fired.stdout, fired.stderr
    assert receiver.received[-1].signed and receiver.received[-1].body["data"]["version"] == "1"
    assert mlflow.test_webhook(hook.webhook_id).success  # MLflow's client's own test fire
    receiver.stop()
    refused = cli(url, "webhooks", "test", hook.webhook_id)
    assert refused.returncode == 1 and "not delivered" in refused.stdout
    mlflow.delete_webhook(hook.webhook_id)
    with pytest.raises(MlflowException) as gone:
        mlflow.get_webhook(hook.webhook_id)
    assert gone.value.error_code == "RESOURCE_DOES_NOT_EXIST"
    unknown = cli(url, "webhooks", "test", hook.webhook_id)
    assert unknown.returncode == 1 and "does not exist" in unknown.stderr, unknown.stderr
