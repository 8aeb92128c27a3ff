"""The Kafka side with a real registry, twice: on FastStream's TestKafkaBroker and on a
real Kafka-protocol broker (REGISTRUM_TEST_KAFKA_BOOTSTRAP, Docker Kafka, or Tansu).

Producers send commands and read outcomes; what is not a command becomes a dead letter
with its reason; every promotion reaches registry.promotions as a CloudEvent carrying
what a deployer needs.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from datetime import UTC, datetime

import orjson
import pytest

from schemas import commands as c
from services.bus.topics import DEAD_LETTERS, EVENTS, PROMOTIONS, RESULTS
from services.registry.application import Registry
from services.registry.domain.errors import NotFound
from tests.bus import BusHarness
from tests.people import person, token_for
from tests.services import kafka_bootstrap

ALICE = person("alice")


@pytest.fixture(scope="module", params=["memory", "kafka"])
def bus(
    request: pytest.FixtureRequest, registry: Registry, database_url: str
) -> Iterator[BusHarness]:
    if request.param == "memory":
        harness = BusHarness(registry, database_url, None)
        harness.start()
        yield harness
        harness.stop()
        return
    with kafka_bootstrap() as bootstrap:
        harness = BusHarness(registry, database_url, bootstrap)
        harness.start()
        yield harness
        harness.stop()


def unique(prefix: str) -> str:
    return f"{prefix}-{uuid.uuid4().hex[:8]}"


def command(kind: str, **fields: object) -> dict[str, object]:
    return {"type": kind, "command_id": unique("cmd"), **fields}


def test_register_version_by_message_then_read_it(bus: BusHarness, registry: Registry) -> None:
    model = unique("churn")
    create = command("RegisterModel", name=model)
    bus.send(create)
    assert bus.result(create["command_id"])["status"] == "accepted"

    register = command(
        "RegisterVersion",
        model=model,
        artifact_uri="s3://models/churn/1",
        sha256="ab" * 32,
        size=123,
        metrics={"auc": 0.91},
    )
    bus.send(register)
    outcome = bus.result(register["command_id"])
    # Accepted with the log position of its event; the registry shows the version.
    assert outcome["status"] == "accepted"
    assert outcome["position"] >= 1
    assert outcome["result"]["version"]["number"] == 1
    version = registry.get_version(model, 1)
    assert version["artifact_uri"] == "s3://models/churn/1"
    assert version["created_by"] == "pipeline"


def test_same_command_id_twice_acts_once(bus: BusHarness, registry: Registry) -> None:
    model = unique("dedupe")
    registry.handle(c.RegisterModel(name=model), ALICE)
    register = command("RegisterVersion", model=model, artifact_uri="s3://m/1")
    bus.send(register)
    first = bus.result(register["command_id"])
    bus.send(register)
    both = bus.wait_for(lambda r: r.key == str(register["command_id"]).encode(), count=2)
    second = both[1].json()
    assert second["replayed"] is True
    assert second["position"] == first["position"]
    assert registry.get_model(model)["latest_version"] == 1


def test_refused_command_answers_with_a_typed_reason(bus: BusHarness, registry: Registry) -> None:
    model = unique("refused")
    registry.handle(c.RegisterModel(name=model), ALICE)
    registry.handle(c.RegisterVersion(model=model, artifact_uri="s3://models/x"), ALICE)
    promote = command("Promote", model=model, version=1, stage="production")
    bus.send(promote)
    outcome = bus.result(promote["command_id"])
    # No approval yet: the rule's own code, not a dead letter.
    assert outcome["status"] == "rejected"
    assert outcome["error"]["code"] == "not_approved"
    missing = command("RecordMetrics", model=unique("ghost"), version=1, metrics={"auc": 1.0})
    bus.send(missing)
    assert bus.result(missing["command_id"])["error"]["code"] == "not_found"


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"type": "RegisterModel", "name": ', "malformed"),
        (b'{"type": "RegisterModel", "pad": "' + b"x" * (1024 * 1024 + 1) + b'"}', "oversized"),
        (b'{"type": "Promote", "command_id": "c", "model": "m"}', "invalid"),
        (b'{"type": "DropTable", "command_id": "c"}', "unknown_type"),
        (b"[1, 2, 3]", "malformed"),
        (b"\xff\xfe not utf-8", "malformed"),
    ],
    ids=["malformed", "oversized", "wrong-schema", "unknown-type", "not-an-object", "not-utf8"],
)
@pytest.mark.parametrize("content_type", [None, "application/json", "text/plain"])
def test_what_is_not_a_command_is_a_dead_letter(
    bus: BusHarness, registry: Registry, raw: bytes, reason: str, content_type: str | None
) -> None:
    # Whatever content-type the producer claims, the bytes are judged as they are.
    key = uuid.uuid4().bytes
    bus.send(raw, key=key, content_type=content_type)
    letter = bus.wait_for(lambda r: r.topic == DEAD_LETTERS and r.key == key)[0]
    # The reason, where it came from, and the original bytes, untouched.
    assert letter.headers["x-registrum-reason"] == reason
    assert letter.headers["x-registrum-detail"]
    assert letter.headers["x-registrum-topic"] == "registry.commands"
    assert letter.value == raw
    # The intake keeps consuming: the next command is answered.
    model = unique("after-dlq")
    follow = command("RegisterModel", name=model)
    bus.send(follow)
    assert bus.result(follow["command_id"])["status"] == "accepted"


def test_promotion_reaches_deployers_as_a_cloudevent(bus: BusHarness, registry: Registry) -> None:
    model = unique("fraud")
    alice, bob, carol = person("alice"), person("bob"), person("carol")
    registry.handle(c.RegisterModel(name=model), alice)
    registry.handle(
        c.RegisterVersion(model=model, artifact_uri="s3://m/fraud/1", sha256="cd" * 32, size=42),
        alice,
    )
    ask = c.RequestApproval(model=model, version=1, stage="production")
    request_id = registry.handle(ask, alice).result["approval_requests"][0]["id"]
    approval = c.Approve(model=model, version=1, request_id=request_id, reason="looks good")
    registry.handle(approval, bob)
    promoted = registry.handle(c.Promote(model=model, version=1, stage="production"), carol)
    registry.handle(c.SetAlias(model=model, alias="champion", version=1), carol)

    changes = bus.wait_for(lambda r: r.topic == PROMOTIONS and r.key == model.encode(), count=2)
    promotion, alias = changes[0], changes[1]
    headers = promotion.headers
    assert headers["ce_specversion"] == "1.0"
    assert headers["ce_type"] == "io.registrum.VersionPromoted"
    assert headers["ce_id"] == f"test-{bus.mode}:{promoted.position}"
    assert headers["ce_subject"] == model
    assert headers["content-type"] == "application/json"
    data = promotion.json()
    assert data["model"] == model and data["version"] == 1
    assert (data["from_stage"], data["to_stage"]) == ("development", "production")
    assert (data["artifact_uri"], data["sha256"], data["size"]) == ("s3://m/fraud/1", "cd" * 32, 42)
    assert [(a["actor"], a["comment"]) for a in data["approvals"]] == [("bob", "looks good")]
    assert data["actor"] == "carol"
    assert data["position"] == promoted.position
    assert alias.headers["ce_type"] == "io.registrum.AliasAssigned"
    assert alias.json()["artifact_uri"] == "s3://m/fraud/1"

    # Every event of the model is on registry.events, in log order.
    events = bus.wait_for(lambda r: r.topic == EVENTS and r.key == model.encode(), count=7)
    kinds = [e.headers["ce_type"].removeprefix("io.registrum.") for e in events]
    assert sorted(kinds[1:3]) == ["VersionAdded", "VersionRegistered"]  # one transaction
    assert [kinds[0], *kinds[3:]] == [
        "ModelRegistered",
        "ApprovalRequested",
        "ApprovalGranted",
        "VersionPromoted",
        "AliasAssigned",
    ]
    # Details are the event's own fields, not the library's bookkeeping.
    assert all("originator_topic" not in orjson.loads(e.value)["details"] for e in events)
    positions = [orjson.loads(e.value)["position"] for e in events]
    assert positions == sorted(positions)


@pytest.mark.parametrize(
    ("credential", "why"),
    [
        (None, "missing"),
        ("rgm_aaaaaaaaaaaa_guessed", "unknown_token"),
        ("not-a-token-at-all", "malformed"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhZG1pbiJ9.", "malformed"),  # no OIDC configured
    ],
    ids=["missing", "unknown", "malformed", "unsigned-jwt"],
)
def test_a_message_without_a_valid_credential_is_set_aside_unread(
    bus: BusHarness, registry: Registry, credential: str | None, why: str
) -> None:
    model = unique("anonymous")
    message = command("RegisterModel", name=model)
    key = uuid.uuid4().bytes
    bus.send(message, key=key, credential=credential)
    letter = bus.wait_for(lambda r: r.topic == DEAD_LETTERS and r.key == key)[0]
    assert letter.headers["x-registrum-reason"] == "unauthenticated"
    assert letter.headers["x-registrum-detail"].startswith(why)
    assert letter.value == orjson.dumps(message)
    # Nothing was done, and no result claims otherwise.
    answered = str(message["command_id"]).encode()
    assert not [r for r in bus.received if r.topic == RESULTS and r.key == answered]
    with pytest.raises(NotFound):
        registry.get_model(model)


def test_a_revoked_token_is_refused_on_its_next_message(bus: BusHarness) -> None:
    secret = bus.run(token_for(bus.tokens, "short-lived", kind="service"))
    first = command("RegisterModel", name=unique("before"))
    bus.send(first, credential=secret)
    assert bus.result(str(first["command_id"]))["status"] == "accepted"
    token_id = secret.removeprefix("rgm_").split("_")[0]
    bus.run(bus.tokens.revoke(token_id, "admin", datetime.now(UTC)))
    key = uuid.uuid4().bytes
    bus.send(command("RegisterModel", name=unique("after")), key=key, credential=secret)
    letter = bus.wait_for(lambda r: r.topic == DEAD_LETTERS and r.key == key)[0]
    assert letter.headers["x-registrum-detail"].startswith("revoked")


def test_a_pipeline_without_the_right_grant_gets_a_forbidden_result(bus: BusHarness) -> None:
    secret = bus.run(token_for(bus.tokens, "outsider", "nobody-group", kind="service"))
    message = command("RegisterModel", name=unique("outsider"))
    bus.send(message, credential=secret)
    outcome = bus.result(str(message["command_id"]))
    assert (outcome["status"], outcome["error"]["code"]) == ("rejected", "forbidden")
    assert outcome["error"]["details"]["permission"] == "contribute"
