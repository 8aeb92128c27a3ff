"""Reads see only what the caller may read, filtered inside the SQL before paging: a team's
reader pages through the team's models alone, a model it may not read is not found (its
existence does not leak), lineage hides versions of such models, and a grant on a model
follows it through a rename."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from schemas import commands as c
from schemas.bodies import LineageReference
from schemas.rules import LineageKind
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


def _version(registry: Registry, model: str, *refs: tuple[LineageKind, str]) -> None:
    """Registers model with one version built from refs (kind, id)."""
    registry.handle(c.RegisterModel(name=model), SYSTEM)
    lineage = [LineageReference(kind=kind, id=id) for kind, id in refs]
    registry.handle(
        c.RegisterVersion(model=model, artifact_uri=f"s3://m/{model}", lineage=lineage), SYSTEM
    )


def _ends(graph: dict[str, Any]) -> set[str]:
    """Every node an answer names: a version as its model's name, anything else as its id."""
    return {e[end].get("model", e[end]["id"]) for e in graph["edges"] for end in ("from", "to")}


def _depths(graph: dict[str, Any]) -> dict[tuple[str, str], int]:
    """The depth of each edge of an answer, by the names of its ends (as in _ends)."""
    return {
        (e["from"].get("model", e["from"]["id"]), e["to"].get("model", e["to"]["id"])): e["depth"]
        for e in graph["edges"]
    }


def test_lineage_goes_no_further_than_a_version_one_may_not_read(
    http: TestClient, registry: Registry, unique: str
) -> None:
    # open-*: readable; shut: not. Upstream: shut/1 was built from a dataset, code and
    # open-g/1 (itself built from another dataset), and open-a/1 was built from shut/1.
    shut, a, g = f"shut-{unique}", f"open-{unique}-a", f"open-{unique}-g"
    data, code, other = f"d-{unique}", f"git:c-{unique}", f"d2-{unique}"
    _version(registry, g, ("dataset", other))
    _version(registry, shut, ("dataset", data), ("code", code), ("model_version", f"{g}/1"))
    _version(registry, a, ("model_version", f"{shut}/1"))
    viewer = f"viewer-{unique}"
    grant(registry, f"user:{viewer}", "reader", f"prefix:open-{unique}-")
    me = BADGES.headers(viewer, f"nobody-{unique}")
    up = f"/api/v1/models/{a}/versions/1/lineage"
    upstream = http.get(up, params={"depth": "5"}, headers=me).json()
    # Nothing shut/1 was built from (nor anything they were built from) comes back.
    assert (upstream["start"]["kind"], upstream["direction"], upstream["depth"]) == (
        "model_version",
        "upstream",
        5,
    )
    assert upstream["edges"] == []
    # The owner of the registry sees it all, as before.
    admin = BADGES.headers(f"admin-{unique}")
    every = http.get(up, params={"depth": "5"}, headers=admin).json()
    assert _ends(every) == {a, shut, data, code, g, other}
    # Asking from shut/1 itself (its id known some other way) returns nothing.
    hidden = next(e["to"]["id"] for e in every["edges"] if e["to"].get("model") == shut)
    for direction in ("upstream", "downstream"):
        params = {"kind": "model_version", "id": hidden, "direction": direction, "depth": "5"}
        assert http.get("/api/v1/lineage", params=params, headers=me).json()["edges"] == []


def test_lineage_downstream_stops_at_a_version_one_may_not_read(
    http: TestClient, registry: Registry, unique: str
) -> None:
    # shut/1 was built from two datasets; open-a/1 from shut/1 and open-s/1, open-s/1 from
    # open-r/1, open-r/1 from the second dataset; open-b/1 from open-a/1.
    shut, a, b = f"shut-{unique}", f"open-{unique}-a", f"open-{unique}-b"
    r, s = f"open-{unique}-r", f"open-{unique}-s"
    only, both = f"d-{unique}", f"e-{unique}"
    _version(registry, shut, ("dataset", only), ("dataset", both))
    _version(registry, r, ("dataset", both))
    _version(registry, s, ("model_version", f"{r}/1"))
    _version(registry, a, ("model_version", f"{shut}/1"), ("model_version", f"{s}/1"))
    _version(registry, b, ("model_version", f"{a}/1"))
    viewer = f"viewer-{unique}"
    grant(registry, f"user:{viewer}", "reader", f"prefix:open-{unique}-")
    me = BADGES.headers(viewer, f"nobody-{unique}")

    def down(dataset: str, headers: dict[str, str], depth: int = 5) -> dict[str, Any]:
        params = {"kind": "dataset", "id": dataset, "direction": "downstream", "depth": str(depth)}
        graph: dict[str, Any] = http.get("/api/v1/lineage", params=params, headers=headers).json()
        return graph

    # Reached only through shut/1: open-a/1 and open-b/1 are not shown.
    assert down(only, me)["edges"] == []
    # Reached another way too: shown, at the depth of that way (not of the way through
    # shut/1, which is shorter), and only as deep as asked along it.
    assert _depths(down(both, me)) == {(both, r): 1, (r, s): 2, (s, a): 3, (a, b): 4}
    assert _depths(down(both, me, depth=3)) == {(both, r): 1, (r, s): 2, (s, a): 3}
    # The owner of the registry goes through shut/1.
    admin = BADGES.headers(f"admin-{unique}")
    assert _depths(down(both, admin, depth=3)) == {
        (both, shut): 1,
        (both, r): 1,
        (shut, a): 2,
        (r, s): 2,
        (s, a): 3,
        (a, b): 3,
    }


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
