"""Promotion gates over REST on real PostgreSQL (a database of its own: a policy applies to
the whole registry): the 403 policy_failed body, the dry run, the verdict in the timeline,
and as-of naming the policy version each promotion passed under."""

from __future__ import annotations

import time
from collections.abc import Iterator
from datetime import UTC, datetime

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.bootstrap import build_registry
from services.catalogue.projector import Projector
from services.settings import Settings
from services.web.console import install
from services.web.forms import SESSION_COOKIE
from tests.people import Badges, open_to_testers
from tests.services import fresh_database
from tests.unit.test_promotion_gates import CARD, POLICY

BADGES = Badges()
ALICE, BOB, CAROL = (BADGES.headers(n) for n in ("alice", "bob", "carol"))
V = "/api/v1/models/fraud/versions"


@pytest.fixture
def http(database_url: str, unique: str) -> Iterator[TestClient]:
    url = fresh_database(database_url, f"gates_{unique}")
    registry = build_registry(Settings(db_pool_size=2), url)
    open_to_testers(registry)
    app = create_app(
        registry,
        url,
        background=[Projector(url).run],
        authenticator=BADGES.authenticator(),
        pages=install,
    )
    with TestClient(app) as client:
        client.headers["X-Registrum-Min-Position"] = "head"
        client.headers.update(ALICE)  # reads; writes say who acts
        yield client
    registry.close()


def ok(response: object) -> dict:  # type: ignore[type-arg]
    assert response.status_code in (200, 201), response.text  # type: ignore[attr-defined]
    return response.json()  # type: ignore[attr-defined,no-any-return]


def ready_version(http: TestClient, card: dict[str, object] | None = None) -> int:
    """A new version with AUC 0.9 and a dataset, approved by bob for production."""
    number = ok(
        http.post(V, json={"artifact_uri": "s3://m/x", "metrics": {"auc": 0.9}}, headers=ALICE)
    )["version"]["number"]
    ok(
        http.post(
            f"{V}/{number}/lineage",
            json={"references": [{"kind": "dataset", "id": "txns"}]},
            headers=ALICE,
        )
    )
    if card:
        ok(http.put(f"{V}/{number}/model-card", json={"card": card}, headers=ALICE))
    asked = ok(http.post(f"{V}/{number}/approvals", json={"stage": "production"}, headers=ALICE))
    request_id = asked["version"]["approval_requests"][-1]["id"]
    ok(http.post(f"{V}/{number}/approvals/{request_id}/approve", json={}, headers=BOB))
    return int(number)


def test_gates_over_rest_the_timeline_and_as_of(http: TestClient) -> None:
    ok(http.post("/api/v1/models", json={"name": "fraud"}, headers=ALICE))
    assert (
        ok(http.post("/api/v1/policies", json={"document": POLICY}, headers=ALICE))["policy"][
            "version"
        ]
        == 1
    )

    # Without an intended use in the card: refused, naming the rule and what it saw.
    first = ready_version(http)
    refused = http.post(f"{V}/{first}/promote", json={"stage": "production"}, headers=CAROL)
    assert refused.status_code == 403
    error = refused.json()["error"]
    assert error["code"] == "policy_failed"
    assert [r["name"] for r in error["details"]["failed"]] == ["intended-use"]

    # The dry run says the same and records nothing.
    dry = ok(
        http.post(
            f"{V}/{first}/promote", json={"stage": "production", "dry_run": True}, headers=CAROL
        )
    )
    assert dry["promotion"]["would_promote"] is False
    assert ok(http.get(f"{V}/{first}"))["version"]["stage"] == "development"

    # With the card completed it passes under policy v1.
    ok(http.put(f"{V}/{first}/model-card", json={"card": CARD}, headers=ALICE))
    done = ok(http.post(f"{V}/{first}/promote", json={"stage": "production"}, headers=CAROL))
    assert done["version"]["evaluation"]["passed"] is True
    # A read of the version (what `versions show` prints) carries the verdict.
    shown = ok(http.get(f"{V}/{first}"))["version"]["gates"]
    assert (shown["policy"], shown["policy_version"], shown["passed"]) == ("fraud-gates", 1, True)
    # The console's version page shows the same verdict, rule by rule, with what each saw.
    http.cookies.set(SESSION_COOKIE, BADGES.token("alice"))
    page = http.get(f"/models/fraud/versions/{first}", params={"after": "head"}).text
    assert "passed policy\n  <strong>fraud-gates</strong> version 1" in page
    assert '<th scope="row">auc-floor</th>' in page and "= 0.9" in page
    http.cookies.clear()
    between = datetime.now(UTC)
    time.sleep(0.01)

    # Policy v2 raises the bar; the next version passes under it.
    stricter = POLICY.replace("0.85", "0.88")
    assert (
        ok(http.post("/api/v1/policies", json={"document": stricter}, headers=ALICE))["policy"][
            "version"
        ]
        == 2
    )
    second = ready_version(http, card=CARD)
    ok(http.post(f"{V}/{second}/promote", json={"stage": "production"}, headers=CAROL))

    # As of each moment, the holder of production and the policy it passed under.
    then = ok(
        http.get("/api/v1/models/fraud/stages/production", params={"as_of": between.isoformat()})
    )
    assert [(v["number"], v["policy"]["version"]) for v in then["versions"]] == [(first, 1)]
    now = ok(http.get("/api/v1/models/fraud/stages/production"))
    assert [
        (v["number"], v["policy"]["name"], v["policy"]["version"]) for v in now["versions"]
    ] == [(second, "fraud-gates", 2)]
    # The policy in force at each moment.
    at = ok(http.get("/api/v1/policies", params={"as_of": between.isoformat()}))
    assert at["in_force"]["version"] == 1 and len(at["versions"]) == 2

    # The timeline shows each promotion's verdict.
    timeline = ok(http.get("/api/v1/models/fraud/timeline"))
    promotions = [e for e in timeline["events"] if e["event"] == "VersionPromoted"]
    assert [e["details"]["evaluation"]["policy_version"] for e in promotions] == [2, 1]
