"""Search over HTTP: filters, ordering, paging, timeline, lineage; and hostile input."""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.catalogue.projector import Projector
from services.registry.application import Registry
from tests.people import READERS, Badges

BADGES = Badges()  # every client reads as "reader"; writes name their author

ALICE = BADGES.headers("alice")


@pytest.fixture(scope="module")
def http(registry: Registry, database_url: str) -> Iterator[TestClient]:
    with TestClient(
        create_app(
            registry,
            database_url,
            background=[Projector(database_url).run],
            authenticator=BADGES.authenticator(),
        )
    ) as client:
        client.headers.update(BADGES.headers("reader", READERS))
        client.headers["X-Registrum-Min-Position"] = "head"
        yield client


@pytest.fixture(scope="module")
def model(http: TestClient) -> str:
    """A model with eight versions: auc 0.80..0.94, team tags, version 3 in staging."""
    name = f"search-{uuid.uuid4().hex[:8]}"
    http.post("/api/v1/models", json={"name": name, "tags": {"team": "risk"}}, headers=ALICE)
    for i in range(8):
        http.post(
            f"/api/v1/models/{name}/versions",
            headers=ALICE,
            json={
                "artifact_uri": f"s3://m/{i}",
                "metrics": {"auc": 0.80 + i * 0.02},
                "tags": {"team": "risk" if i % 2 else "growth"},
                "dataset_version": "d-2026-10",
                "lineage": [{"kind": "feature", "id": "f-amount"}],
            },
        )
    request = http.post(
        f"/api/v1/models/{name}/versions/3/approvals", headers=ALICE, json={"stage": "staging"}
    ).json()["version"]["approval_requests"][0]
    http.post(
        f"/api/v1/models/{name}/versions/3/approvals/{request['id']}/approve",
        headers=BADGES.headers("bob"),
        json={},
    )
    http.post(f"/api/v1/models/{name}/versions/3/promote", headers=ALICE, json={"stage": "staging"})
    http.put(f"/api/v1/models/{name}/aliases/challenger", headers=ALICE, json={"version": 3})
    return name


def numbers(response: Any) -> list[int]:
    assert response.status_code == 200, response.text
    return [v["number"] for v in response.json()["versions"]]


def test_filters_order_and_pages(http: TestClient, model: str) -> None:
    path = f"/api/v1/models/{model}/versions"
    assert numbers(http.get(path, params={"filter": "metrics.auc >= 0.9"})) == [6, 7, 8]
    assert numbers(
        http.get(
            path,
            params={"filter": "(tags.team = 'risk' AND metrics.auc < 0.85) OR stage = 'staging'"},
        )
    ) == [2, 3]
    assert numbers(http.get(path, params={"filter": "alias = 'challenger'"})) == [3]
    assert numbers(http.get(path, params={"filter": "number >= 7 OR number = 1"})) == [1, 7, 8]
    assert numbers(http.get(path, params={"order_by": "metrics.auc DESC", "limit": 3})) == [8, 7, 6]
    # Pages of three, in order, until the token runs out.
    seen, token = [], None
    while True:
        params: dict[str, Any] = {"limit": 3, "order_by": "number DESC"}
        if token:
            params["page_token"] = token
        page = http.get(path, params=params).json()
        seen += [v["number"] for v in page["versions"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert seen == [8, 7, 6, 5, 4, 3, 2, 1]
    # Across models, by model name.
    found = http.get(
        "/api/v1/versions", params={"filter": f"name = '{model}' AND stage = 'staging'"}
    )
    assert numbers(found) == [3]
    models = http.get("/api/v1/models", params={"filter": f"name ILIKE '{model.upper()}'"})
    assert [m["name"] for m in models.json()["models"]] == [model]


def test_timeline_lineage_and_stage_now(http: TestClient, model: str) -> None:
    events = http.get(f"/api/v1/models/{model}/timeline", params={"limit": 5}).json()["events"]
    assert [e["event"] for e in events][:2] == ["AliasAssigned", "VersionPromoted"]
    up = http.get(f"/api/v1/models/{model}/versions/3/lineage").json()
    assert {(e["from"]["kind"], e["from"]["id"]) for e in up["edges"]} == {
        ("feature", "f-amount"),
        ("dataset", "d-2026-10"),
    }
    down = http.get("/api/v1/lineage", params={"kind": "dataset", "id": "d-2026-10"}).json()
    assert {e["to"]["version"] for e in down["edges"] if e["to"].get("model") == model} == set(
        range(1, 9)
    )
    staging = http.get(f"/api/v1/models/{model}/stages/staging").json()
    assert [(v["number"], v["promoted_by"], v["approved_by"]) for v in staging["versions"]] == [
        (3, "alice", ["bob"])
    ]


@pytest.mark.parametrize(
    ("params", "parameter"),
    [
        ({"filter": "colour = 'red'"}, "filter"),
        ({"filter": "metrics.auc > 'x'"}, "filter"),
        ({"filter": "name = 'x' )"}, "filter"),
        ({"filter": "stage = 'gold'"}, "filter"),
        ({"order_by": "auc DESC"}, "order_by"),
        ({"page_token": "garbage"}, "page_token"),
        ({"limit": "0"}, "limit"),
    ],
)
def test_bad_searches_are_422_naming_what_and_where(
    http: TestClient, model: str, params: dict[str, str], parameter: str
) -> None:
    response = http.get(f"/api/v1/models/{model}/versions", params=params)
    assert response.status_code == 422, response.text
    error = response.json()["error"]
    assert error["details"]["parameter"] == parameter
    if parameter in ("filter", "order_by"):
        assert error["details"]["position"] >= 1


INJECTIONS = [
    {"filter": "name = 'x'; DROP TABLE versions; --'"},
    {"filter": "name = 'x'' OR ''1''=''1'"},
    {"filter": "tags.`team' OR 1=1 --` = 'risk'"},
    {"filter": "metrics.`auc')::float8 > 0 OR true --` > 0"},
    {"filter": "name = 'x' OR 1=1"},
    {"order_by": "number; DROP TABLE versions"},
    {"order_by": "(SELECT 1)"},
    {"order_by": "metrics.`x') DESC; DROP TABLE versions; --`"},
    {"stage": "production'; DROP TABLE versions; --"},
]


@pytest.mark.parametrize("params", INJECTIONS)
def test_injection_attempts_change_nothing(
    http: TestClient, model: str, params: dict[str, str], sql: Any
) -> None:
    before = sql("SELECT count(*) AS n FROM {catalogue}.versions")[0]["n"]
    response = http.get(f"/api/v1/models/{model}/versions", params=params)
    assert response.status_code in (200, 422), response.text
    if response.status_code == 200 and "filter" in params:
        assert response.json()["versions"] == []  # matched as a literal value: nothing
    if response.status_code == 200 and "order_by" in params:
        # An odd metric name only sorts by a metric no version has.
        assert len(response.json()["versions"]) == 8
    assert sql("SELECT count(*) AS n FROM {catalogue}.versions")[0]["n"] == before


def test_tag_keys_and_alias_names_in_paths_are_not_sql(http: TestClient, model: str) -> None:
    key = "k'); DROP TABLE versions; --"
    tagged = http.put(
        f"/api/v1/models/{model}/versions/1/tags/{key}", headers=ALICE, json={"value": "v"}
    )
    assert tagged.status_code == 200
    found = http.get(f"/api/v1/models/{model}/versions", params={"filter": f"tags.`{key}` = 'v'"})
    assert numbers(found) == [1]
    assert http.get(f"/api/v1/models/{model}/aliases/x'--").status_code == 422


def test_read_your_writes_bounds(http: TestClient, model: str) -> None:
    path = f"/api/v1/models/{model}"
    head = http.get("/health").json()["position"]
    assert http.get(path, params={"min_position": str(head)}).status_code == 200
    # A well-formed position the log has not reached conflicts with its state: 409.
    future = http.get(path, params={"min_position": str(head + 10_000)})
    assert future.status_code == 409
    assert future.json()["error"]["details"] == {"field": "min_position", "head": head}
    assert http.get(path, params={"min_position": "soon"}).status_code == 422
    assert http.get(path, params={"wait": "99", "min_position": "head"}).status_code == 422


def test_parent_versions_link_versions_in_the_lineage_graph(http: TestClient) -> None:
    parent, child = f"parent-{uuid.uuid4().hex[:8]}", f"child-{uuid.uuid4().hex[:8]}"
    for name in (parent, child):
        http.post("/api/v1/models", json={"name": name}, headers=ALICE)
    http.post(
        f"/api/v1/models/{parent}/versions",
        headers=ALICE,
        json={"artifact_uri": "s3://p", "dataset_version": "raw-2026"},
    )
    http.put(f"/api/v1/models/{parent}/aliases/base", headers=ALICE, json={"version": 1})
    for ref in (f"{parent}/1", f"{parent}@base"):
        made = http.post(
            f"/api/v1/models/{child}/versions",
            headers=ALICE,
            json={
                "artifact_uri": "s3://c",
                "lineage": [{"kind": "model_version", "id": ref, "relation": "fine_tuned_from"}],
            },
        )
        assert made.status_code == 201, made.text
    # Downstream of the raw data: the parent, then both fine-tuned children.
    down = http.get(
        "/api/v1/lineage", params={"kind": "dataset", "id": "raw-2026", "depth": 2}
    ).json()
    reached = {(e["to"].get("model"), e["to"].get("version"), e["depth"]) for e in down["edges"]}
    assert reached == {(parent, 1, 1), (child, 1, 2), (child, 2, 2)}
    up = http.get(f"/api/v1/models/{child}/versions/2/lineage", params={"depth": 2}).json()
    assert {
        (e["from"]["kind"], e["from"].get("model") or e["from"]["id"]) for e in up["edges"]
    } == {("model_version", parent), ("dataset", "raw-2026")}
    missing = http.post(
        f"/api/v1/models/{child}/versions",
        headers=ALICE,
        json={
            "artifact_uri": "s3://c",
            "lineage": [{"kind": "model_version", "id": f"{parent}/9"}],
        },
    )
    assert missing.status_code == 404
    malformed = http.post(
        f"/api/v1/models/{child}/versions",
        headers=ALICE,
        json={"artifact_uri": "s3://c", "lineage": [{"kind": "model_version", "id": "nonsense"}]},
    )
    assert malformed.status_code == 422


def test_a_stage_with_a_bad_filter_reports_the_filters_own_position(
    http: TestClient, model: str
) -> None:
    # The stage is a separate condition, not text glued onto the user's filter.
    answer = http.get(
        f"/api/v1/models/{model}/versions", params={"stage": "staging", "filter": "colour = 'red'"}
    )
    assert answer.status_code == 422
    assert answer.json()["error"]["details"]["position"] == 1
    staged = http.get(
        f"/api/v1/models/{model}/versions", params={"stage": "staging", "filter": "number >= 1"}
    )
    assert numbers(staged) == [3]
