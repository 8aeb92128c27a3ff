"""Model cards through the REST API in-process, against real PostgreSQL: set and amend
(each an event), read back as JSON, Markdown and HTML, compared between versions, refused
when misspelt, hidden from who may not read the model, and a card event written before
cards were typed read under `legacy` by the domain and the views alike."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from eventsourcing.persistence import StoredEvent as LibraryStoredEvent
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.catalogue.projector import Projector
from services.registry.application import Registry
from services.registry.domain.values import Context
from tests.cards import full_card
from tests.people import READERS, Badges

BADGES = Badges()


@pytest.fixture(scope="module")
def http(registry: Registry, database_url: str) -> Iterator[TestClient]:
    app = create_app(
        registry,
        database_url,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as client:
        client.headers.update(BADGES.headers("reader", READERS))
        client.headers["X-Registrum-Min-Position"] = "head"
        yield client


ALICE = BADGES.headers("alice")


def versions(http: TestClient, name: str, count: int) -> str:
    """A model with count versions; its path."""
    assert http.post("/api/v1/models", json={"name": name}, headers=ALICE).status_code == 201
    for _ in range(count):
        made = http.post(
            f"/api/v1/models/{name}/versions", json={"artifact_uri": "s3://m"}, headers=ALICE
        )
        assert made.status_code == 201, made.text
    return f"/api/v1/models/{name}/versions"


def put_card(http: TestClient, path: str, card: dict[str, Any]) -> Any:
    return http.put(f"{path}/model-card", json={"card": card}, headers=ALICE)


def test_a_card_is_set_amended_read_in_three_formats_and_compared(
    http: TestClient, registry: Registry, unique: str
) -> None:
    path = versions(http, f"card-{unique}", 2)
    assert put_card(http, f"{path}/1", full_card()).status_code == 200
    # Version 2 starts without monitoring, then gains it and loses its legacy section.
    second = full_card(monitoring_plan=None, legacy={"notes": "from the old wiki"})
    assert put_card(http, f"{path}/2", second).status_code == 200
    read = http.get(f"{path}/2/card").json()
    assert read["completeness"]["complete"] is False
    assert read["completeness"]["missing"] == ["monitoring_plan"]
    assert {"risk", "owners", "legacy"} <= set(read["completeness"]["filled"])
    assert read["card"]["risk"] == {"class": "high", "reason": second["risk"]["reason"]}
    events = registry.command_log.count_events()
    amended = http.patch(
        f"{path}/2/model-card",
        json={
            "sections": {"monitoring_plan": {"signals": ["auc"], "frequency": "weekly"}},
            "remove": ["legacy"],
            "reason": "monitoring agreed",
        },
        headers=ALICE,
    )
    assert amended.status_code == 200, amended.text
    assert registry.command_log.count_events() == events + 1
    # The command's answer and the view agree; the other sections are kept.
    card = http.get(f"{path}/2/card").json()
    assert card["card"] == amended.json()["version"]["model_card"]
    assert card["card"]["monitoring_plan"] == {"signals": ["auc"], "frequency": "weekly"}
    assert "legacy" not in card["card"] and card["card"]["owners"] == second["owners"]
    assert card["completeness"]["complete"] is True
    assert http.get(f"{path}/2").json()["version"]["model_card"] == card["card"]

    # The same card as Markdown and HTML: by format=, or by Accept.
    md = http.get(f"{path}/2/card", params={"format": "markdown"})
    assert md.headers["content-type"].startswith("text/markdown")
    assert md.text.startswith(f"# Model card: card\\-{unique}, version 2\n")
    assert "Schema version 1; complete; risk class high." in md.text
    page = http.get(f"{path}/2/card", headers={"Accept": "text/html"})
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"].startswith("default-src 'none'")
    assert '<section id="monitoring_plan">' in page.text

    # What changed from version 1 to version 2.
    diff = http.get(f"{path}/2/card/diff", params={"against": 1}).json()
    assert (diff["version"], diff["against"], diff["identical"]) == (2, 1, False)
    assert [(c["section"], c["change"]) for c in diff["changes"]] == [
        ("monitoring_plan", "changed")
    ]
    fields = diff["changes"][0]["fields"]
    assert {"path": "monitoring_plan.frequency", "before": "daily", "after": "weekly"} in fields
    same = http.get(f"{path}/1/card/diff", params={"against": 1}).json()
    assert same["identical"] is True
    # Every change is on the timeline.
    timeline = http.get(f"/api/v1/models/card-{unique}/timeline").json()["events"]
    kinds = [e["event"] for e in timeline]
    assert kinds.count("ModelCardUpdated") == 2 and kinds.count("ModelCardAmended") == 1


def test_a_misspelt_card_is_refused_naming_the_field(http: TestClient, unique: str) -> None:
    path = versions(http, f"card-typo-{unique}", 1)
    typo = put_card(http, f"{path}/1", {"intended_uses": {"primary_uses": ["x"]}})
    assert typo.status_code == 422
    error = typo.json()["error"]
    assert error["code"] == "invalid_input"
    assert "intended_uses" in str(error["details"])
    bad_class = put_card(http, f"{path}/1", {"risk": {"class": "medium", "reason": "r"}})
    assert bad_class.status_code == 422
    twice = {"remove": ["risk", "risk"]}
    assert http.patch(f"{path}/1/model-card", json=twice, headers=ALICE).status_code == 422
    assert http.get(f"{path}/1/card/diff", params={"against": "1.0"}).status_code == 422
    assert http.get(f"{path}/1/card", params={"format": "pdf"}).status_code == 422
    assert http.get(f"{path}/1/card/diff", params={"against": 9}).status_code == 404


def test_who_may_not_read_the_model_finds_no_card(http: TestClient, unique: str) -> None:
    path = versions(http, f"card-secret-{unique}", 2)
    assert put_card(http, f"{path}/1", full_card()).status_code == 200
    stranger = BADGES.headers(f"stranger-{unique}", f"nobody-{unique}")
    for url, params in (
        (f"{path}/1/card", {}),
        (f"{path}/1/card", {"format": "html"}),
        (f"{path}/2/card/diff", {"against": 1}),
    ):
        found = http.get(url, params=params, headers=stranger)
        assert (found.status_code, found.json()["error"]["code"]) == (404, "not_found")


def write_untyped_card_event(registry: Registry, name: str, card: dict[str, Any]) -> None:
    """Appends a ModelCardUpdated as the registry wrote it before cards were typed: free
    JSON, no class_version (events are never rewritten; this one is simply old)."""
    model = registry.scope.model(name)
    version = registry.scope.version(model, 1)
    version.update_model_card({"schema_version": 1, "intended_purpose": "x"}, Context("alice"))
    (event,) = version.collect_events()
    new = registry.mapper.to_stored_event(event)
    state = registry.mapper.transcoder.decode(new.state)
    del state["class_version"]
    state["card"] = card
    old = LibraryStoredEvent(
        originator_id=new.originator_id,
        originator_version=new.originator_version,
        topic=new.topic,
        state=registry.mapper.transcoder.encode(state),
    )
    registry.recorder.insert_events([old])


def test_a_card_written_before_cards_were_typed_is_read_under_legacy(
    http: TestClient, registry: Registry, unique: str
) -> None:
    name = f"card-old-{unique}"
    path = versions(http, name, 1)
    untyped = {"intended_use": "flag card fraud", "risk_class": "high", "owners": ["risk"]}
    write_untyped_card_event(registry, name, untyped)
    expected = {"schema_version": 1, "legacy": untyped}
    # The views and the domain read it the same way.
    card = http.get(f"{path}/1/card").json()
    assert card["card"] == expected
    assert card["completeness"]["filled"] == ["legacy"]
    assert registry.get_version(name, 1)["model_card"] == expected
    assert "flag card fraud" in http.get(f"{path}/1/card", params={"format": "markdown"}).text
    # Typed sections are added beside it, until someone removes it.
    risk = {"class": "high", "reason": "credit decisions"}
    amended = http.patch(f"{path}/1/model-card", json={"sections": {"risk": risk}}, headers=ALICE)
    assert amended.status_code == 200, amended.text
    both = {**expected, "risk": risk}
    assert http.get(f"{path}/1/card").json()["card"] == both
    assert registry.get_version(name, 1)["model_card"] == both
