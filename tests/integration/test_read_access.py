"""Reads see only what the caller may read, filtered inside the SQL before paging: a team's
reader pages through the team's models alone, a model it may not read is not found (its
existence does not leak), lineage hides versions of such models, and a grant on a model
follows it through a rename."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from schemas import commands as c
from schemas.bodies import LineageReference
from services.api.app import create_app
from services.catalogue.projector import Projector
from services.registry.application import SYSTEM, Registry
from tests.people import Badges, grant

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
        client.headers["X-Registrum-Min-Position"] = "head"
        yield client


def test_a_team_reader_pages_through_the_team_models_alone(
    http: TestClient, registry: Registry, unique: str
) -> None:
    team, others = f"acme-{unique}-", f"zeta-{unique}-"
    for name in (f"{team}a", f"{others}a", f"{team}b", f"{others}b", f"{team}c"):
        registry.handle(c.RegisterModel(name=name), SYSTEM)
        registry.handle(c.RegisterVersion(model=name, artifact_uri="s3://m/1"), SYSTEM)
    viewer = f"viewer-{unique}"
    grant(registry, f"user:{viewer}", "reader", f"prefix:{team}")
    me = BADGES.headers(viewer, f"nobody-{unique}")
    # One row a page: every page is the team's, and the pages end after three.
    names, token = [], None
    while True:
        params = {"limit": "1", "filter": f"name LIKE '%-{unique}-%'"}
        page = http.get(
            "/api/v1/models",
            params={**params, **({"page_token": token} if token else {})},
            headers=me,
        ).json()
        names += [m["name"] for m in page["models"]]
        token = page["next_page_token"]
        if token is None:
            break
    assert names == [f"{team}a", f"{team}b", f"{team}c"]
    where = {"filter": f"name LIKE '%-{unique}-%'"}
    found = http.get("/api/v1/versions", params=where, headers=me)
    assert sorted(v["model"] for v in found.json()["versions"]) == names
    # Another team's model is not found, however asked.
    for path in (
        f"/api/v1/models/{others}a",
        f"/api/v1/models/{others}a/versions",
        f"/api/v1/models/{others}a/versions/1",
        f"/api/v1/models/{others}a/timeline",
        f"/api/v1/models/{others}a/stages/development",
    ):
        response = http.get(path, headers=me)
        assert (response.status_code, response.json()["error"]["code"]) == (404, "not_found")
    # Someone holding nothing reads nothing.
    stranger = BADGES.headers(f"stranger-{unique}", f"nobody-{unique}")
    listed = http.get(
        "/api/v1/models", params={"filter": f"name LIKE '%-{unique}-%'"}, headers=stranger
    )
    assert listed.json()["models"] == []


def test_lineage_hides_the_versions_of_models_one_may_not_read(
    http: TestClient, registry: Registry, unique: str
) -> None:
    public, secret = f"public-{unique}", f"secret-{unique}"
    for name in (public, secret):
        registry.handle(c.RegisterModel(name=name), SYSTEM)
    registry.handle(
        c.RegisterVersion(
            model=secret,
            artifact_uri="s3://m/s",
            lineage=[LineageReference(kind="dataset", id=f"d-{unique}")],
        ),
        SYSTEM,
    )
    registry.handle(
        c.RegisterVersion(
            model=public,
            artifact_uri="s3://m/p",
            lineage=[
                LineageReference(kind="dataset", id=f"d-{unique}"),
                LineageReference(kind="model_version", id=f"{secret}/1"),
            ],
        ),
        SYSTEM,
    )
    viewer = f"viewer-{unique}"
    grant(registry, f"user:{viewer}", "reader", f"model:{public}")
    me = BADGES.headers(viewer, f"nobody-{unique}")
    graph = http.get(
        "/api/v1/lineage",
        params={"kind": "dataset", "id": f"d-{unique}", "direction": "downstream"},
        headers=me,
    ).json()
    reached = {(e["to"].get("model"), e["to"].get("version")) for e in graph["edges"]}
    assert reached == {(public, 1)}
    upstream = http.get(f"/api/v1/models/{public}/versions/1/lineage", headers=me).json()
    assert {e["from"]["kind"] for e in upstream["edges"]} == {"dataset"}
    # The owner of the registry sees both.
    admin = BADGES.headers(f"admin-{unique}")
    every = http.get(
        "/api/v1/lineage",
        params={"kind": "dataset", "id": f"d-{unique}", "direction": "downstream"},
        headers=admin,
    ).json()
    assert {e["to"].get("model") for e in every["edges"]} == {public, secret}


def test_a_grant_on_a_model_follows_it_through_a_rename(
    http: TestClient, registry: Registry, unique: str
) -> None:
    old, new = f"before-{unique}", f"after-{unique}"
    registry.handle(c.RegisterModel(name=old), SYSTEM)
    viewer = f"viewer-{unique}"
    grant(registry, f"user:{viewer}", "reader", f"model:{old}")
    registry.handle(c.RenameModel(model=old, new_name=new), SYSTEM)
    me = BADGES.headers(viewer, f"nobody-{unique}")
    assert http.get(f"/api/v1/models/{new}", headers=me).json()["model"]["name"] == new
    # A new model taking the old name is another model: not readable by that grant.
    registry.handle(c.RegisterModel(name=old), SYSTEM)
    assert http.get(f"/api/v1/models/{old}", headers=me).status_code == 404
