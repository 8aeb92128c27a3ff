"""The web console in-process (ASGI) against real PostgreSQL: signing in, pages kept to
what the viewer may read, forms that go through the same commands and refusals as the
API, and the protections a browser relies on (CSRF, CSP, escaping, cookies)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.catalogue.projector import Projector
from services.registry.application import Registry
from services.web.console import install
from services.web.forms import SESSION_COOKIE
from tests.people import Badges

BADGES = Badges()
SHA = "ab" * 32


@pytest.fixture(scope="module")
def app(registry: Registry, database_url: str) -> Iterator[TestClient]:
    built = create_app(
        registry,
        database_url,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
        pages=install,
    )
    with TestClient(built, follow_redirects=False) as client:
        yield client


def api(client: TestClient, actor: str, method: str, path: str, **kwargs: object) -> dict:
    answer = client.request(method, path, headers=BADGES.headers(actor), **kwargs)  # type: ignore[arg-type]
    assert answer.status_code < 300, answer.text
    return answer.json()  # type: ignore[no-any-return]


def sign_in(client: TestClient, actor: str) -> None:
    """Signs in through the sign-in form, as a person would."""
    client.cookies.clear()
    form = client.get("/sign-in")
    assert form.status_code == 200
    shown = re.search(r'name="csrf" value="([^"]+)"', form.text)
    assert shown
    done = client.post(
        "/sign-in",
        data={"csrf": shown.group(1), "next": "/", "token": BADGES.token(actor)},
    )
    assert done.status_code == 303, done.text
    assert done.headers["location"] == "/"


def csrf_of(page: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found, "the page has no form token"
    return found.group(1)


def registered(client: TestClient, name: str, description: str = "") -> None:
    api(client, "alice", "POST", "/api/v1/models", json={"name": name, "description": description})
    api(
        client,
        "alice",
        "POST",
        f"/api/v1/models/{name}/versions",
        json={
            "artifact_uri": "s3://models/x",
            "sha256": SHA,
            "size": 10,
            "metrics": {"auc": 0.91},
            "description": description,
        },
    )


def test_a_page_needs_a_signed_in_viewer_and_a_bad_token_is_refused(app: TestClient) -> None:
    app.cookies.clear()
    # Not signed in: to the sign-in page, coming back after.
    away = app.get("/models/x?filter=a")
    assert away.status_code == 303
    assert away.headers["location"] == "/sign-in?next=/models/x%3Ffilter%3Da"
    form = app.get("/sign-in")
    refused = app.post(
        "/sign-in", data={"csrf": csrf_of(form.text), "next": "/", "token": "rgm_nope_nope"}
    )
    assert refused.status_code == 401
    assert "Not signed in" in refused.text
    assert SESSION_COOKIE not in app.cookies
    # The sign-in form itself needs its nonce: another site cannot sign us in.
    forged = app.post("/sign-in", data={"csrf": "guess", "token": BADGES.token("bob")})
    assert forged.status_code == 403


def test_without_an_identity_provider_only_the_token_form_is_offered(app: TestClient) -> None:
    app.cookies.clear()
    page = app.get("/sign-in")
    assert page.status_code == 200
    assert "/sign-in/oidc" not in page.text
    # The organisation's sign-in is not there to start (tests/integration/test_console_oidc.py).
    assert app.get("/sign-in/oidc").status_code == 404


def test_the_session_cookie_is_httponly_and_strict_and_next_stays_on_site(
    app: TestClient,
) -> None:
    app.cookies.clear()
    form = app.get("/sign-in")
    done = app.post(
        "/sign-in",
        data={"csrf": csrf_of(form.text), "next": "//evil.example/x", "token": BADGES.token("bob")},
    )
    assert done.status_code == 303
    # An open redirect would send the viewer to another site after signing in.
    assert done.headers["location"] == "/"
    cookie = done.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    # Over plain HTTP (tests) the cookie cannot be Secure; over TLS it is (session.start).
    assert "Secure" not in cookie


def test_every_page_carries_a_strict_content_security_policy(app: TestClient) -> None:
    sign_in(app, "bob")
    for path in ("/", "/review", "/sign-in", "/static/console.css"):
        answer = app.get(path)
        assert answer.status_code == 200, path
        policy = answer.headers["content-security-policy"]
        assert "script-src 'self'" in policy and "unsafe-inline" not in policy
        assert answer.headers["x-frame-options"] == "DENY"
    # No page has an inline script or style for that policy to allow.
    page = app.get("/").text
    assert "<script>" not in page and "style=" not in page


def test_catalogue_search_shows_where_a_filter_went_wrong(app: TestClient, unique: str) -> None:
    name = f"console-{unique}"
    registered(app, name)
    sign_in(app, "bob")
    found = app.get("/", params={"filter": f"name = '{name}'"})
    assert found.status_code == 200
    assert f'href="/models/{name}"' in found.text
    wrong = app.get("/", params={"filter": "name = 'x' AND ^ = 1"})
    assert wrong.status_code == 422
    # The filter is shown split at the fault, the fault marked.
    assert "unexpected character" in wrong.text
    assert "<mark>^ = 1</mark>" in wrong.text
    versions = app.get("/", params={"of": "versions", "filter": "metrics.auc >= 0.9"})
    assert f'href="/models/{name}/versions/1"' in versions.text


def test_a_stored_hostile_description_renders_inert(app: TestClient, unique: str) -> None:
    name = f"hostile-{unique}"
    hostile = '<script>alert(1)</script><img src=x onerror="alert(2)">'
    registered(app, name, description=hostile)
    sign_in(app, "bob")
    for path in (f"/models/{name}", f"/models/{name}/versions/1", "/"):
        page = app.get(path).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in app.get(f"/models/{name}").text


def test_approve_and_promote_through_forms_with_the_apis_rules(
    app: TestClient, unique: str
) -> None:
    name = f"review-{unique}"
    registered(app, name)
    requested = api(
        app,
        "alice",
        "POST",
        f"/api/v1/models/{name}/versions/1/approvals",
        json={"stage": "production", "reason": "beats v0"},
    )
    request_id = requested["version"]["approval_requests"][0]["id"]
    decide = f"/models/{name}/versions/1/approvals/{request_id}/approve"

    # alice asked: the registry refuses her own approval, and the page says so.
    sign_in(app, "alice")
    page = app.get(f"/models/{name}/versions/1")
    self_approval = app.post(decide, data={"csrf": csrf_of(page.text), "reason": "mine"})
    assert self_approval.status_code == 403
    assert "Refused:" in self_approval.text and "alice" in self_approval.text

    # bob reviews: the request is in his queue; a form without the token is refused.
    sign_in(app, "bob")
    queue = app.get("/review")
    assert f"request-{request_id}" in queue.text
    assert app.post(decide, data={"reason": "no token"}).status_code == 403
    approved = app.post(
        decide,
        data={
            "csrf": csrf_of(queue.text),
            "reason": "checked",
            "command_id": "c1",
            "back": "/review",
        },
    )
    assert approved.status_code == 303
    assert approved.headers["location"].startswith("/review?after=")
    # Back on the queue, read at the position the approval wrote: nothing left for bob.
    assert f"request-{request_id}" not in app.get(approved.headers["location"]).text

    # carol releases: the approved request is ready for her to promote.
    sign_in(app, "carol")
    queue = app.get("/review")
    assert f"/models/{name}/versions/1/promote" in queue.text
    promoted = app.post(
        f"/models/{name}/versions/1/promote",
        data={"csrf": csrf_of(queue.text), "stage": "production", "command_id": "p1"},
    )
    assert promoted.status_code == 303
    version = app.get(promoted.headers["location"]).text
    assert "stage-production" in version and "VersionPromoted by carol" in version
    # The model page's timeline and its as-of answer name who promoted and who approved.
    model = app.get(f"/models/{name}", params={"as_of": "2100-01-01T00:00"}).text
    assert re.search(
        r"promoted by <strong>carol</strong>.*approved by <strong>bob</strong>", model, re.S
    )
    before = app.get(f"/models/{name}", params={"as_of": "2000-01-01T00:00"}).text
    assert f"no version of {name} was in production" in before
    # The same form sent twice (a double click) records one command.
    again = app.post(
        f"/models/{name}/versions/1/promote",
        data={"csrf": csrf_of(queue.text), "stage": "production", "command_id": "p1"},
    )
    assert again.status_code == 303


def test_a_form_from_another_site_is_refused(app: TestClient, unique: str) -> None:
    name = f"csrf-{unique}"
    registered(app, name)
    sign_in(app, "alice")
    token = csrf_of(app.get(f"/models/{name}/versions/1").text)
    foreign = app.post(
        f"/models/{name}/versions/1/approvals",
        data={"csrf": token, "stage": "staging"},
        headers={"Origin": "https://evil.example"},
    )
    assert foreign.status_code == 403
    assert "evil.example" in foreign.text
    # The same form from our own page is accepted.
    ours = app.post(
        f"/models/{name}/versions/1/approvals", data={"csrf": token, "stage": "staging"}
    )
    assert ours.status_code == 303


def test_pages_show_only_what_the_viewer_may_read(app: TestClient, unique: str) -> None:
    name = f"hidden-{unique}"
    registered(app, name)
    app.cookies.clear()
    app.cookies.set(SESSION_COOKIE, BADGES.token("outsider", "nobody"))
    assert app.get(f"/models/{name}").status_code == 404
    searched = app.get("/", params={"filter": f"name = '{name}'"}).text
    assert "0 models" in searched and f'href="/models/{name}"' not in searched
    # A revoked or unknown session goes back to the sign-in page, its cookie dropped.
    app.cookies.set(SESSION_COOKIE, "rgm_unknown_secret")
    ended = app.get("/")
    assert ended.status_code == 303 and "/sign-in?next=/" in ended.headers["location"]
