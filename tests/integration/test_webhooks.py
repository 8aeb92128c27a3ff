"""Webhooks against real PostgreSQL and a real HTTP receiver: MLflow's webhook API (the
secret answered once, never read back), signed deliveries in order per model through a
receiver that fails and recovers and a follower that is replaced, delivery ids stable
across redeliveries, the delivery log, and a test fire."""

from __future__ import annotations

import asyncio
import contextlib
import threading
import time
from collections.abc import Iterator
from typing import Any

import asyncpg
import pytest
from fastapi.testclient import TestClient

from schemas import commands as c
from services.api.app import create_app
from services.bootstrap import build_registry
from services.registry.application import Registry
from services.settings import Settings
from services.webhooks.follower import Delivery, WebhookFollower
from services.webhooks.secrets import Cipher, load_or_create
from tests.people import READERS, Badges, open_to_testers, person
from tests.receiver import Receiver, receiving
from tests.services import free_port, fresh_database

pytestmark = pytest.mark.integration

BADGES = Badges()
ALICE = person("alice")
ADMIN = BADGES.headers("alice")  # the testers group owns the registry
FAST = Delivery(
    timeout_seconds=2, first_retry_seconds=0.2, longest_retry_seconds=0.5, allow_private_urls=True
)


@pytest.fixture(scope="module")
def url(database_url: str) -> str:
    import uuid

    return fresh_database(database_url, f"webhooks_{uuid.uuid4().hex[:8]}")


@pytest.fixture(scope="module")
def cipher(tmp_path_factory: pytest.TempPathFactory) -> Cipher:
    return load_or_create(tmp_path_factory.mktemp("keys") / "webhook-secrets.key")


@pytest.fixture(scope="module")
def registry(url: str) -> Iterator[Registry]:
    built = build_registry(Settings(db_pool_size=2), url)
    open_to_testers(built)
    yield built
    built.close()


@pytest.fixture(scope="module")
def http(registry: Registry, url: str, cipher: Cipher) -> Iterator[TestClient]:
    app = create_app(
        registry,
        url,
        authenticator=BADGES.authenticator(),
        webhook_cipher=cipher,
        webhook_allow_private_urls=True,
    )
    with TestClient(app) as client:
        client.headers.update(ADMIN)
        yield client


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    with receiving(free_port()) as running:
        yield running


def create(http: TestClient, receiver: Receiver, name: str, *events: str) -> dict[str, Any]:
    made = http.post(
        "/api/2.0/mlflow/webhooks",
        json={
            "name": name,
            "url": receiver.url,
            "events": [
                {"entity": e.split(".")[0].upper(), "action": e.split(".")[1].upper()}
                for e in events
            ],
        },
    )
    assert made.status_code == 200, made.text
    receiver.secret = made.json()["secret"]
    return made.json()


@contextlib.contextmanager
def delivering(url: str, cipher: Cipher) -> Iterator[WebhookFollower]:
    """A webhooks follower running in a thread of its own until the block ends."""
    follower = WebhookFollower(cipher, url, delivery=FAST, lease_seconds=3)
    loop = asyncio.new_event_loop()
    stop = asyncio.Event()

    async def run() -> None:
        try:
            await follower.run(stop)
        finally:
            await follower.aclose()

    thread = threading.Thread(target=loop.run_until_complete, args=(run(),), daemon=True)
    thread.start()
    try:
        yield follower
    finally:
        loop.call_soon_threadsafe(stop.set)
        thread.join(timeout=15)
        loop.close()


def sql(url: str, query: str, *args: Any) -> list[dict[str, Any]]:
    async def fetch() -> list[dict[str, Any]]:
        conn = await asyncpg.connect(url)
        try:
            return [dict(r) for r in await conn.fetch(query, *args)]
        finally:
            await conn.close()

    return asyncio.run(fetch())


def test_the_secret_is_answered_once_and_kept_encrypted(
    http: TestClient, receiver: Receiver, url: str
) -> None:
    made = create(http, receiver, "secret-once", "model_version.created")
    hook_id, secret = made["webhook"]["webhook_id"], made["secret"]
    assert len(secret) >= 32  # none was given: the registry made one

    got = http.get(f"/api/2.0/mlflow/webhooks/{hook_id}")
    listed = http.get("/api/2.0/mlflow/webhooks", params={"max_results": 1000})
    assert got.status_code == 200 and listed.status_code == 200
    assert secret not in got.text and secret not in listed.text
    assert got.json()["webhook"]["events"] == [{"entity": "MODEL_VERSION", "action": "CREATED"}]
    assert hook_id in [w["webhook_id"] for w in listed.json()["webhooks"]]
    # At rest it is ciphertext.
    stored = sql(url, "SELECT secret FROM registrum_webhooks WHERE webhook_id = $1", hook_id)
    assert secret.encode() not in bytes(stored[0]["secret"])

    # An update answers the record, never the secret; deleting erases it.
    patched = http.patch(f"/api/2.0/mlflow/webhooks/{hook_id}", json={"secret": "rotated-1234"})
    assert patched.status_code == 200 and "rotated-1234" not in patched.text
    assert http.delete(f"/api/2.0/mlflow/webhooks/{hook_id}").json() == {}
    gone = sql(url, "SELECT secret FROM registrum_webhooks WHERE webhook_id = $1", hook_id)
    assert gone[0]["secret"] is None
    missing = http.get(f"/api/2.0/mlflow/webhooks/{hook_id}")
    assert missing.status_code == 404
    assert missing.json()["error_code"] == "RESOURCE_DOES_NOT_EXIST"


def test_refusals_in_mlflows_shape(http: TestClient, receiver: Receiver) -> None:
    reader = BADGES.headers("reader", READERS)
    denied = http.get("/api/2.0/mlflow/webhooks", headers=reader)
    assert (denied.status_code, denied.json()["error_code"]) == (403, "PERMISSION_DENIED")
    anonymous = http.get("/api/2.0/mlflow/webhooks", headers={"Authorization": ""})
    assert (anonymous.status_code, anonymous.json()["error_code"]) == (401, "UNAUTHENTICATED")
    for bad in (
        {"name": "p", "url": receiver.url, "events": [{"entity": "PROMPT", "action": "CREATED"}]},
        {
            "name": "-bad-",
            "url": receiver.url,
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        },
        {
            "name": "f",
            "url": "ftp://x/",
            "events": [{"entity": "MODEL_VERSION", "action": "CREATED"}],
        },
        {"name": "e", "url": receiver.url, "events": []},
    ):
        refused = http.post("/api/2.0/mlflow/webhooks", json=bad)
        assert (refused.status_code, refused.json()["error_code"]) == (
            400,
            "INVALID_PARAMETER_VALUE",
        ), bad


def test_deliveries_arrive_signed_in_order_per_model_through_outage_and_takeover(
    http: TestClient, registry: Registry, receiver: Receiver, url: str, cipher: Cipher
) -> None:
    create(
        http,
        receiver,
        "ordered",
        "registered_model.created",
        "model_version.created",
        "model_version_tag.set",
    )
    # The receiver refuses everything for a while: deliveries are retried, none skipped.
    receiver.refuse_until = time.monotonic() + 2.0
    models = ("wh-order-a", "wh-order-b")
    with delivering(url, cipher):
        for name in models:
            registry.handle(c.RegisterModel(name=name), ALICE)
        for number in (1, 2):
            for name in models:
                registry.handle(c.RegisterVersion(model=name, artifact_uri="s3://m/x"), ALICE)
                registry.handle(
                    c.TagVersion(model=name, version=number, key="step", value=str(number)),
                    ALICE,
                )
        first = receiver.wait_for(4, 10)
    assert len({r.delivery_id for r in first}) >= 1
    # A second follower (a restart) carries on with what the first left undelivered.
    with delivering(url, cipher):
        got = receiver.wait_for(10, 20)

    ids = [r.delivery_id for r in got]
    assert len(set(ids)) == 10  # 2 models + 4 versions + 4 tags, none lost
    assert all(r.signed for r in receiver.received)
    # Refused deliveries came again with the same id (a receiver deduplicates on it).
    refused = {r.delivery_id for r in receiver.received if r.answered == 503}
    assert refused and refused <= set(ids)
    # In order per model: what each model's queue delivered follows the log.
    for name in models:
        seen = [(r.body["entity"], r.body["data"]) for r in got if r.body["data"]["name"] == name]
        deduped = [s for i, s in enumerate(seen) if s not in seen[:i]]
        assert [entity for entity, _ in deduped] == [
            "registered_model",
            "model_version",
            "model_version_tag",
            "model_version",
            "model_version_tag",
        ]
        assert [d.get("version") for _, d in deduped] == [None, "1", "1", "2", "2"]
    # The delivery log has every attempt, the refused ones with their status code.
    log = http.get("/api/v1/webhooks/deliveries", params={"limit": 1000}).json()["deliveries"]
    mine = [d for d in log if d["delivery_id"] in set(ids)]
    assert {d["status"] for d in mine} == {"delivered"}
    retried = [d for d in mine if d["attempts"] > 1]
    assert retried and all(d["attempt_log"][0]["status_code"] == 503 for d in retried)


def test_a_test_fire_is_signed_and_logged(http: TestClient, receiver: Receiver) -> None:
    made = create(http, receiver, "fired", "model_version_alias.created")
    hook_id = made["webhook"]["webhook_id"]
    fired = http.post(f"/api/2.0/mlflow/webhooks/{hook_id}/test", json={})
    assert fired.status_code == 200, fired.text
    assert fired.json()["result"] == {
        "success": True,
        "response_status": 200,
        "response_body": "ok",
    }
    (got,) = receiver.accepted()
    assert got.signed and got.body["entity"] == "model_version_alias"
    assert got.delivery_id == fired.json()["delivery_id"]
    log = http.get("/api/v1/webhooks/deliveries", params={"webhook_id": hook_id}).json()
    assert [(d["test"], d["status"]) for d in log["deliveries"]] == [(True, "delivered")]


def test_a_disabled_webhook_holds_its_deliveries_and_a_deleted_one_cancels_them(
    http: TestClient, registry: Registry, receiver: Receiver, url: str, cipher: Cipher
) -> None:
    hook = create(http, receiver, "paused", "registered_model.created")["webhook"]["webhook_id"]
    path = f"/api/2.0/mlflow/webhooks/{hook}"

    def mine() -> list[dict[str, Any]]:
        log = http.get("/api/v1/webhooks/deliveries", params={"webhook_id": hook}).json()
        return log["deliveries"]

    receiver.refuse_until = time.monotonic() + 3600
    with delivering(url, cipher):
        registry.handle(c.RegisterModel(name="wh-paused-a"), ALICE)
        deadline = time.monotonic() + 10
        while not (mine() and mine()[0]["attempts"] >= 1) and time.monotonic() < deadline:
            time.sleep(0.1)
        # Disabled: no more attempts, the delivery waits.
        assert http.patch(path, json={"status": "DISABLED"}).json()["webhook"]["status"] == (
            "DISABLED"
        )
        time.sleep(0.3)
        held = mine()[0]["attempts"]
        time.sleep(1.5)
        assert mine()[0]["attempts"] == held and mine()[0]["status"] == "pending"
        # Enabled again, with the receiver back: it is delivered.
        receiver.refuse_until = 0
        http.patch(path, json={"status": "ACTIVE"})
        deadline = time.monotonic() + 10
        while mine()[0]["status"] != "delivered" and time.monotonic() < deadline:
            time.sleep(0.1)
        assert mine()[0]["status"] == "delivered"
        # Deleted with a delivery pending: cancelled, never sent.
        receiver.refuse_until = time.monotonic() + 3600
        registry.handle(c.RegisterModel(name="wh-paused-b"), ALICE)
        deadline = time.monotonic() + 10
        while len(mine()) < 2 and time.monotonic() < deadline:
            time.sleep(0.1)
        http.delete(path)
    statuses = sql(
        url,
        "SELECT model, status FROM registrum_webhook_deliveries WHERE webhook_id = $1 ORDER BY seq",
        hook,
    )
    assert statuses == [
        {"model": "wh-paused-a", "status": "delivered"},
        {"model": "wh-paused-b", "status": "cancelled"},
    ]


def test_the_list_pages_through_every_webhook(http: TestClient, receiver: Receiver) -> None:
    made = {
        create(http, receiver, f"paged-{n}", "model_version.created")["webhook"]["webhook_id"]
        for n in range(3)
    }
    seen: list[str] = []
    token: str | None = None
    while True:
        params: dict[str, Any] = {"max_results": 2, **({"page_token": token} if token else {})}
        page = http.get("/api/2.0/mlflow/webhooks", params=params).json()
        assert len(page["webhooks"]) <= 2
        seen += [w["webhook_id"] for w in page["webhooks"]]
        token = page.get("next_page_token")
        if not token:
            break
    assert made <= set(seen) and len(seen) == len(set(seen))
    bad = http.get("/api/2.0/mlflow/webhooks", params={"page_token": "not-a-token"})
    assert (bad.status_code, bad.json()["error_code"]) == (400, "INVALID_PARAMETER_VALUE")
    too_many = http.get("/api/2.0/mlflow/webhooks", params={"max_results": 5000})
    assert too_many.json()["error_code"] == "INVALID_PARAMETER_VALUE"


def test_health_expects_a_deliverer_while_a_webhook_is_active(
    http: TestClient, receiver: Receiver, url: str, cipher: Cipher
) -> None:
    made = create(http, receiver, "health-watch", "model_version.created")
    missing = "webhooks: nobody holds its lease"
    answer = http.get("/health")
    assert answer.status_code == 503
    assert answer.json()["leases"]["webhooks"]["expected"] is True
    assert missing in answer.json()["problems"]
    with delivering(url, cipher):
        deadline = time.monotonic() + 15
        while missing in (problems := http.get("/health").json()["problems"]):
            assert time.monotonic() < deadline, problems
            time.sleep(0.1)
    assert (
        http.delete(f"/api/2.0/mlflow/webhooks/{made['webhook']['webhook_id']}").status_code == 200
    )
