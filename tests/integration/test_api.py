"""The REST API in-process (ASGI) against real PostgreSQL: the flow, and bad input."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.catalogue.projector import Projector
from services.registry.application import Registry
from tests.people import READERS, Badges

BADGES = Badges()  # every client reads as "reader"; writes name their author

SHA = "ab" * 32


@pytest.fixture(scope="module")
def http(registry: Registry, database_url: str) -> Iterator[TestClient]:
    app = create_app(
        registry,
        database_url,
        background=[Projector(database_url).run],
        max_body_bytes=1024 * 1024,
        authenticator=BADGES.authenticator(),
    )
    with TestClient(app) as client:
        client.headers.update(BADGES.headers("reader", READERS))
        # Reads wait until the views show every write made before them.
        client.headers["X-Registrum-Min-Position"] = "head"
        yield client


def as_(actor: str, **extra: str) -> dict[str, str]:
    return BADGES.headers(actor, **extra)


def make_version(http: TestClient, name: str) -> None:
    assert http.post("/api/v1/models", json={"name": name}, headers=as_("alice")).status_code == 201
    registered = http.post(
        f"/api/v1/models/{name}/versions",
        json={"artifact_uri": "s3://models/x", "sha256": SHA, "size": 10},
        headers=as_("alice"),
    )
    assert registered.status_code == 201, registered.text


def test_create_register_review_promote_and_read_back(http: TestClient, unique: str) -> None:
    name = f"api-{unique}"
    make_version(http, name)
    requested = http.post(
        f"/api/v1/models/{name}/versions/1/approvals",
        json={"stage": "production", "reason": "beats v0"},
        headers=as_("alice"),
    )
    assert requested.status_code == 201
    request_id = requested.json()["version"]["approval_requests"][0]["id"]
    approved = http.post(
        f"/api/v1/models/{name}/versions/1/approvals/{request_id}/approve",
        json={"reason": "checked the card"},
        headers=as_("bob"),
    )
    assert approved.status_code == 200
    promoted = http.post(
        f"/api/v1/models/{name}/versions/1/promote",
        json={"stage": "production"},
        headers=as_("carol"),
    )
    assert promoted.status_code == 200
    body = promoted.json()
    # Every command answers with the log position of its events.
    assert body["position"] > approved.json()["position"]
    assert promoted.headers["X-Registrum-Position"] == str(body["position"])
    alias = http.put(
        f"/api/v1/models/{name}/aliases/champion", json={"version": 1}, headers=as_("carol")
    )
    assert alias.status_code == 200
    resolved = http.get(f"/api/v1/models/{name}/aliases/champion").json()["version"]
    assert (resolved["stage"], resolved["sha256"], resolved["aliases"]) == (
        "production",
        SHA,
        ["champion"],
    )
    listed = http.get(f"/api/v1/models/{name}/versions", params={"stage": "production"})
    assert [v["number"] for v in listed.json()["versions"]] == [1]
    assert http.get("/health").json()["status"] == "ok"
    assert http.get("/health/live", headers={"Authorization": ""}).json() == {"status": "ok"}


def test_the_same_command_id_twice_gives_the_same_response_and_one_event(
    http: TestClient, registry: Registry, unique: str
) -> None:
    name = f"idem-api-{unique}"
    body = {"name": name, "description": "d", "command_id": f"cmd-{unique}"}
    first = http.post("/api/v1/models", json=body, headers=as_("alice"))
    events = registry.command_log.count_events()
    second = http.post("/api/v1/models", json=body, headers=as_("alice"))
    assert (first.status_code, second.status_code) == (201, 201)
    assert second.json() == first.json()
    assert second.headers["X-Registrum-Replayed"] == "true"
    assert registry.command_log.count_events() == events
    # The header carries a command id too.
    headers = as_("alice", **{"X-Registrum-Command-Id": f"hdr-{unique}"})
    path = f"/api/v1/models/{name}/versions"
    one = http.post(path, json={"artifact_uri": "s3://m"}, headers=headers)
    two = http.post(path, json={"artifact_uri": "s3://m"}, headers=headers)
    assert one.json() == two.json()
    assert one.json()["version"]["number"] == 1


def bad_requests(name: str, request_id: str) -> list[tuple[str, str, str, Any, dict, int]]:
    """(label, method, path, json body or raw bytes, headers, expected status)"""
    alice, bob = as_("alice"), as_("bob")
    model = f"/api/v1/models/{name}"
    return [
        ("unknown model", "GET", "/api/v1/models/no-such-model-anywhere", None, {}, 404),
        ("unknown version", "GET", f"{model}/versions/99", None, {}, 404),
        ("unknown alias", "GET", f"{model}/aliases/nobody", None, {}, 404),
        (
            "register to unknown model",
            "POST",
            "/api/v1/models/nope-nope/versions",
            {"artifact_uri": "s3://x"},
            alice,
            404,
        ),
        ("unknown stage", "POST", f"{model}/versions/1/promote", {"stage": "prod"}, alice, 422),
        ("unknown stage in list", "GET", f"{model}/versions?stage=gold", None, {}, 422),
        ("empty name", "POST", "/api/v1/models", {"name": ""}, alice, 422),
        ("slash in name", "POST", "/api/v1/models", {"name": "a/b"}, alice, 422),
        ("leading space", "POST", "/api/v1/models", {"name": " lead"}, alice, 422),
        ("trailing space", "POST", "/api/v1/models", {"name": "trail "}, alice, 422),
        ("control char", "POST", "/api/v1/models", {"name": "bad\u0007name"}, alice, 422),
        ("newline", "POST", "/api/v1/models", {"name": "two\nlines"}, alice, 422),
        ("name not a string", "POST", "/api/v1/models", {"name": 7}, alice, 422),
        (
            "10 MB description",
            "POST",
            "/api/v1/models",
            {"name": f"big-{name}", "description": "x" * (10 * 1024 * 1024)},
            alice,
            413,
        ),
        ("100 KB description", "PATCH", model, {"description": "x" * 100_000}, alice, 422),
        ("malformed JSON", "POST", "/api/v1/models", b'{"name": "x",', alice, 422),
        ("not an object", "POST", "/api/v1/models", b"[1, 2]", alice, 422),
        ("unknown field", "POST", "/api/v1/models", {"name": "x", "nmae": "y"}, alice, 422),
        (
            "unknown token",
            "POST",
            "/api/v1/models",
            {"name": f"anon-{name}"},
            {"Authorization": "Bearer rgm_aaaaaaaaaaaa_not-a-secret"},
            401,
        ),
        (
            "a reader writes",
            "POST",
            "/api/v1/models",
            {"name": f"read-only-{name}"},
            BADGES.headers("reader", READERS),
            403,
        ),
        (
            "the removed actor header",
            "POST",
            "/api/v1/models",
            {"name": f"named-{name}"},
            {"X-Registrum-Actor": "alice"},
            400,
        ),
        (
            "promote without approval",
            "POST",
            f"{model}/versions/1/promote",
            {"stage": "staging"},
            alice,
            403,
        ),
        (
            "self-approval by requester",
            "POST",
            f"{model}/versions/1/approvals/{request_id}/approve",
            {},
            bob,
            403,
        ),
        (
            "self-approval by registrant",
            "POST",
            f"{model}/versions/1/approvals/{request_id}/approve",
            {},
            alice,
            403,
        ),
        (
            "unknown review",
            "POST",
            f"{model}/versions/1/approvals/{request_id}/bless",
            {},
            as_("carol"),
            404,
        ),
        (
            "unknown request",
            "POST",
            f"{model}/versions/1/approvals/nope/approve",
            {},
            as_("carol"),
            404,
        ),
        (
            "bad digest",
            "POST",
            f"{model}/versions",
            {"artifact_uri": "s3://x", "sha256": "xyz"},
            alice,
            422,
        ),
        (
            "negative size",
            "POST",
            f"{model}/versions",
            {"artifact_uri": "s3://x", "size": -1},
            alice,
            422,
        ),
        ("version not a number", "GET", f"{model}/versions/one", None, {}, 422),
        ("version zero", "GET", f"{model}/versions/0", None, {}, 422),
        (
            "alias to unknown version",
            "PUT",
            f"{model}/aliases/champion",
            {"version": 5},
            alice,
            404,
        ),
        ("reserved alias", "PUT", f"{model}/aliases/latest", {"version": 1}, alice, 422),
        ("duplicate name", "POST", "/api/v1/models", {"name": name}, alice, 409),
        (
            "stage archived by promotion",
            "POST",
            f"{model}/versions/1/promote",
            {"stage": "archived"},
            alice,
            422,
        ),
        (
            "poisoned hyperparameters",
            "POST",
            f"{model}/versions",
            {"artifact_uri": "s3://x", "hyperparameters": {"a": {"_type_": "x", "_data_": 1}}},
            alice,
            422,
        ),
        ("poisoned tags", "PUT", f"{model}/tags/_type_", {"value": "x"}, alice, 422),
        (
            "superscript digit as a parent version",
            "POST",
            f"{model}/versions/1/lineage",
            {"references": [{"kind": "model_version", "id": f"{name}/\u00b2"}]},
            alice,
            422,
        ),
        (
            "superscript digit as a position",
            "GET",
            f"{model}/versions/1?min_position=\u00b2",
            None,
            {},
            422,
        ),
        ("no such route", "GET", "/api/v1/nothing", None, {}, 404),
        ("wrong method", "DELETE", "/api/v1/models", None, alice, 405),
    ]


def test_bad_input_gets_a_typed_4xx_and_changes_nothing(
    http: TestClient, registry: Registry, unique: str
) -> None:
    name = f"bad-{unique}"
    make_version(http, name)
    requested = http.post(
        f"/api/v1/models/{name}/versions/1/approvals",
        json={"stage": "production"},
        headers=as_("bob"),
    )
    request_id = requested.json()["version"]["approval_requests"][0]["id"]
    before_events = registry.command_log.count_events()
    before_version = http.get(f"/api/v1/models/{name}/versions/1").json()

    for label, method, path, body, headers, expected in bad_requests(name, request_id):
        if isinstance(body, bytes):
            response = http.request(
                method, path, content=body, headers={**headers, "Content-Type": "application/json"}
            )
        else:
            response = http.request(method, path, json=body, headers=headers)
        assert response.status_code == expected, (label, response.status_code, response.text)
        error = response.json()["error"]
        assert error["code"] and error["message"], label
        assert isinstance(error["details"], dict), label

    # Nothing was appended and nothing changed.
    assert registry.command_log.count_events() == before_events
    assert http.get(f"/api/v1/models/{name}/versions/1").json() == before_version


def test_a_streamed_oversized_body_is_refused(http: TestClient, unique: str) -> None:
    # No Content-Length: the limit is enforced while the body streams in.
    def chunks() -> Iterator[bytes]:
        yield b'{"name": "streamed-' + unique.encode() + b'", "description": "'
        for _ in range(40):
            yield b"x" * 65536
        yield b'"}'

    response = http.post(
        "/api/v1/models",
        content=chunks(),
        headers={**as_("alice"), "Content-Type": "application/json"},
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "payload_too_large"
    assert http.get(f"/api/v1/models/streamed-{unique}").status_code == 404


def test_openapi_and_docs_are_served(http: TestClient) -> None:
    spec = http.get("/openapi.json").json()
    assert "/api/v1/models/{name}/versions/{number}/promote" in spec["paths"]
    assert http.get("/docs").status_code == 200


def test_health_answers_503_while_the_followers_process_is_not_running(
    registry: Registry, database_url: str
) -> None:
    state = ["starting"]
    app = create_app(
        registry, database_url, authenticator=BADGES.authenticator(), followers=lambda: state[0]
    )
    with TestClient(app) as client:
        starting = client.get("/health")
        assert (starting.status_code, starting.json()["status"]) == (503, "starting")
        state[0] = "running"
        running = client.get("/health")
        assert (running.status_code, running.json()["status"]) == (200, "ok")
        assert running.json()["followers"] == "running"
        state[0] = "restarting"
        assert client.get("/health").status_code == 503


def test_health_is_degraded_while_nobody_holds_an_expected_lease(
    registry: Registry, database_url: str, unique: str
) -> None:
    import asyncio

    import asyncpg

    from services.eventlog.lease import Lease, ensure

    name = f"projector-{unique}"
    app = create_app(
        registry, database_url, authenticator=BADGES.authenticator(), expected_leases=(name,)
    )

    async def take() -> None:
        conn = await asyncpg.connect(database_url)
        try:
            await ensure(conn)
            assert await Lease(conn, name, seconds=60).take()
        finally:
            await conn.close()

    with TestClient(app) as client:
        nobody = client.get("/health")
        assert (nobody.status_code, nobody.json()["status"]) == (503, "degraded")
        assert f"{name}: nobody holds its lease" in nobody.json()["problems"]
        assert nobody.json()["leases"][name]["held"] is False
        asyncio.run(take())
        held = client.get("/health").json()
        assert held["leases"][name]["held"] is True
        assert f"{name}: nobody holds its lease" not in held["problems"]
