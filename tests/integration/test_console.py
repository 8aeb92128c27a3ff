"""The web console in-process (ASGI) against real PostgreSQL: signing in, pages kept to
what the viewer may read, forms that go through the same commands and refusals as the
API, and the protections a browser relies on (CSRF, CSP, escaping, cookies)."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.artifacts.filesystem import FilesystemStore
from services.bootstrap import build_registry
from services.catalogue.projector import Projector
from services.settings import Settings
from services.web.console import console, install
from services.web.forms import SESSION_COOKIE
from tests.people import Badges, open_to_testers
from tests.services import fresh_database

BADGES = Badges()
SHA = "ab" * 32


@pytest.fixture(scope="module")
def app(database_url: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[TestClient]:
    store = FilesystemStore(tmp_path_factory.mktemp("console") / "artifacts")
    registry = build_registry(Settings(db_pool_size=4), database_url, artifacts=store)
    open_to_testers(registry)
    built = create_app(
        registry,
        database_url,
        background=[Projector(database_url).run],
        authenticator=BADGES.authenticator(),
        artifacts=store,
        pages=install,
    )
    with TestClient(built, follow_redirects=False) as client:
        yield client
    registry.close()


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
    # after=head: the page waits for the views to show what the API just wrote.
    found = app.get("/", params={"filter": f"name = '{name}'", "after": "head"})
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
        page = app.get(path, params={"after": "head"}).text
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
    page = app.get(f"/models/{name}/versions/1", params={"after": "head"})
    self_approval = app.post(decide, data={"csrf": csrf_of(page.text), "reason": "mine"})
    assert self_approval.status_code == 403
    assert "Refused:" in self_approval.text and "alice" in self_approval.text

    # bob reviews: the request is in his queue; a form without the token is refused.
    sign_in(app, "bob")
    queue = app.get("/review", params={"after": "head"})
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
    token = csrf_of(app.get(f"/models/{name}/versions/1", params={"after": "head"}).text)
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
    assert app.get(f"/models/{name}", params={"after": "head"}).status_code == 404
    searched = app.get("/", params={"filter": f"name = '{name}'"}).text
    assert "0 models" in searched and f'href="/models/{name}"' not in searched
    # A revoked or unknown session goes back to the sign-in page, its cookie dropped.
    app.cookies.set(SESSION_COOKIE, "rgm_unknown_secret")
    ended = app.get("/")
    assert ended.status_code == 303 and "/sign-in?next=/" in ended.headers["location"]


def test_a_versions_files_are_listed_with_digests_and_download_verified(
    app: TestClient, unique: str
) -> None:
    name = f"files-{unique}"
    data = b"weights " * 1000
    digest = api(app, "alice", "POST", "/api/v1/artifacts", content=data)["sha256"]
    assert digest == hashlib.sha256(data).hexdigest()
    api(app, "alice", "POST", "/api/v1/models", json={"name": name})
    manifest = [{"path": "model/weights.bin", "sha256": digest, "size": len(data)}]
    api(app, "alice", "POST", f"/api/v1/models/{name}/versions", json={"manifest": manifest})
    sign_in(app, "bob")
    page = app.get(f"/models/{name}/versions/1", params={"after": "head"}).text
    link = f"/models/{name}/versions/1/files/model/weights.bin"
    assert f'href="{link}"' in page and digest in page and "8.0 kB" in page
    # The browser downloads with its session, and gets the bytes the digest names.
    downloaded = app.get(link)
    assert downloaded.status_code == 200 and downloaded.content == data
    assert app.get(f"/models/{name}/versions/1/files/nothing").status_code == 404


def test_a_protected_alias_is_pointed_from_its_approved_request(
    app: TestClient, unique: str
) -> None:
    name = f"alias-{unique}"
    registered(app, name)
    path = f"/api/v1/models/{name}"
    api(app, "alice", "PUT", f"{path}/aliases/champion/protection", json={"protected": True})
    asked = api(
        app, "alice", "POST", f"{path}/versions/1/alias-approvals", json={"alias": "champion"}
    )
    request_id = asked["version"]["approval_requests"][-1]["id"]
    api(app, "bob", "POST", f"{path}/versions/1/approvals/{request_id}/approve", json={})
    sign_in(app, "carol")
    page = app.get(f"/models/{name}/versions/1", params={"after": "head"}).text
    assert "Point champion at version 1" in page
    pointed = app.post(
        f"/models/{name}/versions/1/alias", data={"csrf": csrf_of(page), "alias": "champion"}
    )
    assert pointed.status_code == 303
    shown = app.get(pointed.headers["location"]).text
    assert '<span class="alias">champion</span>' in shown
    # Without an approved request, a protected alias is refused, and the page says so.
    api(app, "alice", "POST", f"{path}/versions", json={"artifact_uri": "s3://m/2"})
    page = app.get(f"/models/{name}/versions/2", params={"after": "head"}).text
    refused = app.post(
        f"/models/{name}/versions/2/alias", data={"csrf": csrf_of(page), "alias": "champion"}
    )
    assert refused.status_code == 403 and "Refused:" in refused.text


def test_a_session_is_a_token_of_its_own_ended_by_sign_out_or_by_its_parent(
    app: TestClient, unique: str
) -> None:
    person = f"dora-{unique}"
    token = BADGES.token(person)
    for ending in ("sign-out", "revoked parent"):
        sign_in(app, person)
        # The browser holds a session token, not the person's API token.
        session = app.cookies[SESSION_COOKIE]
        assert session.startswith("rgm_") and session != token
        listed = api(app, person, "GET", "/api/v1/tokens")["tokens"]
        mine = next(t for t in listed if session.startswith(t["id"] + "_"))
        assert mine["session_of"] == token[: len("rgm_") + 12]
        assert app.get("/review").status_code == 200
        if ending == "sign-out":
            page = app.get("/review").text
            assert app.post("/sign-out", data={"csrf": csrf_of(page)}).status_code == 303
            # Signed out on the server: the session token is refused, the person's is not.
            assert (
                app.get(
                    "/api/v1/models", headers={"Authorization": f"Bearer {session}"}
                ).status_code
                == 401
            )
            assert api(app, person, "GET", "/api/v1/whoami")
        else:
            # Revoking the token the session was opened with ends the session with it.
            api(app, person, "DELETE", f"/api/v1/tokens/{mine['session_of']}")
            app.cookies.set(SESSION_COOKIE, session)
            ended = app.get("/review")
            assert ended.status_code == 303 and "/sign-in?next=/review" in ended.headers["location"]


def test_odd_input_gets_a_page_of_ours_never_a_500_or_a_raw_dump(
    app: TestClient, unique: str
) -> None:
    name = f"odd-{unique}"
    registered(app, name)
    sign_in(app, "bob")
    # A moment that leaves the years 1-9999 once in UTC: said on the page, not a 500.
    far = app.get(f"/models/{name}", params={"as_of": "9999-12-31T23:59:59-01:00", "after": "head"})
    assert far.status_code == 200 and "years 1-9999" in far.text
    rest = app.get(
        f"/api/v1/models/{name}/stages/production",
        params={"as_of": "9999-12-31T23:59:59-01:00"},
        headers=BADGES.headers("bob"),
    )
    assert rest.status_code == 422
    # A bad query parameter names itself, without pydantic's raw dump.
    bogus = app.get("/", params={"of": "bogus"})
    assert bogus.status_code == 400 and "query of:" in bogus.text
    assert "literal_error" not in bogus.text and "content-security-policy" in bogus.headers
    # A reason that is not UTF-8 once decoded is refused, not recorded altered.
    page = app.get(f"/models/{name}/versions/1").text
    body = f"csrf={csrf_of(page)}&stage=staging&reason=%ff"
    altered = app.post(
        f"/models/{name}/versions/1/approvals",
        content=body,
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert altered.status_code == 403 and "UTF-8" in altered.text
    # An opaque origin never sends a signed-in form.
    opaque = app.post(
        f"/models/{name}/versions/1/approvals",
        data={"csrf": csrf_of(page), "stage": "staging"},
        headers={"Origin": "null"},
    )
    assert opaque.status_code == 403
    # back with a fragment: the wait for the command's position stays in the query.
    done = app.post(
        f"/models/{name}/versions/1/approvals",
        data={"csrf": csrf_of(page), "stage": "staging", "back": "/review?x=1#mine"},
    )
    assert done.status_code == 303
    assert re.fullmatch(r"/review\?x=1&after=\d+#mine", done.headers["location"])
    assert "content-security-policy" in done.headers  # redirects carry the headers too
    # The sign-in page says why a session ended in its own words only.
    said = app.get("/sign-in", params={"ended": "call +1 555 to restore your account"})
    assert "555" not in said.text and "no longer accepted" in said.text


def test_a_download_is_an_attachment_never_a_page(app: TestClient, unique: str) -> None:
    name = f"attach-{unique}"
    data = b"<script>alert(document.cookie)</script>"
    digest = api(app, "alice", "POST", "/api/v1/artifacts", content=data)["sha256"]
    api(app, "alice", "POST", "/api/v1/models", json={"name": name})
    manifest = [{"path": "site/index.html", "sha256": digest, "size": len(data)}]
    api(app, "alice", "POST", f"/api/v1/models/{name}/versions", json={"manifest": manifest})
    sign_in(app, "bob")
    app.get(f"/models/{name}", params={"after": "head"})
    got = app.get(f"/models/{name}/versions/1/files/site/index.html")
    assert got.status_code == 200 and got.content == data
    assert got.headers["content-disposition"] == "attachment; filename*=UTF-8''index.html"
    assert got.headers["x-content-type-options"] == "nosniff"
    assert "script-src 'self'" in got.headers["content-security-policy"]


def test_a_page_after_a_command_whose_views_lag_says_so(database_url: str, unique: str) -> None:
    # A database of its own, and no projector: the views never reach what is written now.
    url = fresh_database(database_url, f"console_lag_{unique}")
    registry = build_registry(Settings(db_pool_size=2), url)
    open_to_testers(registry)
    # The console waits 0.2 s for the views (5 s by default) before it gives up on them.
    quick = console(views_wait=0.2)
    built = create_app(registry, url, authenticator=BADGES.authenticator(), pages=quick)
    with TestClient(built, follow_redirects=False) as client:
        head = str(registry.head_position())
        written = api(client, "alice", "POST", "/api/v1/models", json={"name": f"lag-{unique}"})
        sign_in(client, "bob")
        page = client.get("/", params={"after": str(written["position"])})
        # Not a 503 that would invite the command again: the page, and why it may lag.
        assert page.status_code == 200, page.text
        assert "Your change was recorded" in page.text and int(head) < written["position"]
    registry.close()
