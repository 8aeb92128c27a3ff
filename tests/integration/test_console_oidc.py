"""Signing in to the web console with the organisation's identity provider: the
authorization code flow with PKCE against a pretend provider over real HTTP
(tests/idp.py), the console in-process against real PostgreSQL. Each redirect is
followed by hand, as a browser would, so every hop is seen."""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from urllib.parse import parse_qs, urlencode, urlsplit

import httpx
import pytest
from fastapi.testclient import TestClient

from services.api.app import create_app
from services.auth.authenticate import Authenticator
from services.auth.oidc import OidcConfig, OidcVerifier
from services.auth.tokens import MemoryTokenStore
from services.registry.application import Registry
from services.web.console import console
from services.web.forms import SESSION_COOKIE
from services.web.oidc_client import LoginConfig
from services.web.oidc_flow import ATTEMPT_COOKIE
from tests.idp import CLIENT_ID, CLIENT_SECRET, PretendIdp


@pytest.fixture(scope="module")
def idp() -> Iterator[PretendIdp]:
    provider = PretendIdp()
    yield provider
    provider.stop()


@pytest.fixture(autouse=True)
def _as_usual(idp: PretendIdp) -> None:
    idp.reset()


@contextmanager
def console_of(
    registry: Registry, database_url: str, idp: PretendIdp, audience: str, secret: str | None
) -> Iterator[TestClient]:
    """The API with the console, its Authenticator accepting the provider's JWTs for
    audience, the console the provider's client (confidential when secret is given)."""
    verifier = OidcVerifier(
        OidcConfig(
            issuer=idp.issuer,
            audience=audience,
            jwks_url=idp.jwks_url,
            public_key_pem=None,
            algorithms=("RS256",),
        )
    )
    login = LoginConfig(
        issuer=idp.issuer, client_id=CLIENT_ID, audience=audience, client_secret=secret
    )
    built = create_app(
        registry,
        database_url,
        authenticator=Authenticator(MemoryTokenStore(), verifier),
        pages=console(login),
    )
    with TestClient(built, follow_redirects=False) as client:
        yield client
        client.portal.call(verifier.aclose)  # its HTTP client lives on this loop


@pytest.fixture(scope="module")
def app(registry: Registry, database_url: str, idp: PretendIdp) -> Iterator[TestClient]:
    # The registry's audience is the console's client id: the id_token is the credential.
    with console_of(registry, database_url, idp, CLIENT_ID, CLIENT_SECRET) as client:
        yield client


def to_provider(app: TestClient, idp: PretendIdp, next_path: str | None = "/") -> str:
    """Starts a sign-in in a fresh browser; the provider's answer: the callback URL."""
    app.cookies.clear()
    started = app.get("/sign-in/oidc", params={} if next_path is None else {"next": next_path})
    assert started.status_code == 303, started.text
    authorize = started.headers["location"]
    assert authorize.startswith(f"{idp.issuer}/authorize?")
    # The provider is another site, over real HTTP.
    answered = httpx.get(authorize, follow_redirects=False)
    assert answered.status_code == 302
    back = answered.headers["location"]
    assert back.startswith("http://testserver/sign-in/oidc/callback?")
    return back


def sign_in(app: TestClient, idp: PretendIdp, next_path: str | None = "/") -> httpx.Response:
    return app.get(to_provider(app, idp, next_path))


def refresh_target(page: str) -> str:
    found = re.search(r'<meta http-equiv="refresh" content="0; url=([^"]*)">', page)
    assert found, "the page does not move on"
    return found.group(1)


def with_query(url: str, **changes: str) -> str:
    parts = urlsplit(url)
    query = {k: v[0] for k, v in parse_qs(parts.query).items()} | changes
    return parts._replace(query=urlencode(query)).geturl()


def test_the_sign_in_page_offers_the_organisations_sign_in(app: TestClient) -> None:
    app.cookies.clear()
    page = app.get("/sign-in", params={"next": "/review"})
    assert page.status_code == 200
    assert 'href="/sign-in/oidc?next=/review"' in page.text
    assert "Sign in with your organisation" in page.text
    # The token form is still there.
    assert 'action="/sign-in"' in page.text


def test_a_full_sign_in_lands_signed_in_as_the_tokens_subject(
    app: TestClient, idp: PretendIdp
) -> None:
    app.cookies.clear()
    started = app.get("/sign-in/oidc", params={"next": "/review"})
    assert started.status_code == 303
    # The attempt's cookie: unreadable by scripts, sent back by the provider's redirect
    # (Lax), and only to the sign-in's own paths.
    attempt_cookie = started.headers["set-cookie"]
    assert attempt_cookie.startswith(f"{ATTEMPT_COOKIE}=")
    assert "HttpOnly" in attempt_cookie and "SameSite=lax" in attempt_cookie
    assert "Path=/sign-in/oidc" in attempt_cookie
    asked = parse_qs(urlsplit(started.headers["location"]).query)
    assert asked["response_type"] == ["code"]
    assert asked["client_id"] == [CLIENT_ID]
    assert asked["redirect_uri"] == ["http://testserver/sign-in/oidc/callback"]
    assert asked["scope"] == ["openid profile email"]
    assert asked["code_challenge_method"] == ["S256"]
    assert asked["state"] != asked["nonce"]

    back = httpx.get(started.headers["location"], follow_redirects=False).headers["location"]
    done = app.get(back)
    assert done.status_code == 200, done.text
    assert "Alice Liddell" in done.text
    # The confidential client authenticated with HTTP Basic and sent its PKCE verifier.
    exchange = idp.token_requests[-1]
    assert exchange["authorization"].startswith("Basic ")
    assert "client_secret" not in exchange and exchange["code_verifier"]
    # The session holds the provider's id_token, the cookie as the token form makes it.
    assert app.cookies[SESSION_COOKIE] == idp.issued[-1]["id_token"]
    session_cookie = next(
        c for c in done.headers.get_list("set-cookie") if c.startswith(SESSION_COOKIE)
    )
    assert "HttpOnly" in session_cookie and "SameSite=strict" in session_cookie
    # The page moves on by itself, same-site, to where the viewer was going.
    assert refresh_target(done.text) == "/review"
    review = app.get("/review")
    assert review.status_code == 200
    assert "Signed in as <strong>alice</strong>" in review.text
    # The attempt is used up: the same callback again is refused.
    again = app.get(back)
    assert again.status_code == 400
    assert "not started in this browser" in again.text


def test_a_tampered_state_is_refused(app: TestClient, idp: PretendIdp) -> None:
    back = to_provider(app, idp)
    sent = {k: v[0] for k, v in parse_qs(urlsplit(back).query).items()}
    forged = app.get(with_query(back, state="x" + sent["state"]))
    assert forged.status_code == 400
    assert "does not belong to the sign-in started in this browser" in forged.text
    assert SESSION_COOKIE not in app.cookies
    # Nothing was exchanged for a forged callback.
    assert all(r.get("code") != sent["code"] for r in idp.token_requests)


def test_a_callback_without_a_started_sign_in_is_refused(app: TestClient, idp: PretendIdp) -> None:
    # Another site sends the browser its own code (login CSRF): no attempt, no sign-in.
    back = to_provider(app, idp)
    app.cookies.clear()
    refused = app.get(back)
    assert refused.status_code == 400
    assert SESSION_COOKIE not in app.cookies


def test_the_providers_refusal_is_shown(app: TestClient, idp: PretendIdp) -> None:
    idp.behaviour.deny = "access_denied"
    shown = sign_in(app, idp)
    assert shown.status_code == 401
    assert "Not signed in: the identity provider did not sign you in: access_denied" in shown.text
    assert "the user said no" in shown.text
    assert SESSION_COOKIE not in app.cookies
    # The token form is still there to use.
    assert 'action="/sign-in"' in shown.text


@pytest.mark.parametrize(
    ("claims", "said"),
    [
        ({"iss": "https://evil.example.test"}, "the JWT is from another issuer"),
        ({"aud": "some-other-client"}, "the JWT is for another audience"),
        ({"exp": 1_000_000_000, "iat": 999_999_000}, "the JWT has expired"),
        ({"nonce": "another-sign-in"}, "id_token is not for this sign-in"),
    ],
)
def test_a_token_the_registry_does_not_accept_signs_nobody_in(
    app: TestClient, idp: PretendIdp, claims: dict[str, object], said: str
) -> None:
    idp.behaviour.id_claims = claims
    refused = sign_in(app, idp)
    assert refused.status_code == 401
    assert said in refused.text
    assert SESSION_COOKIE not in app.cookies
    assert idp.issued[-1]["id_token"] not in refused.text


@pytest.mark.parametrize(
    "elsewhere",
    ["//evil.example/x", "https://evil.example/x", "/\t/evil.example/x", "/\\evil.example"],
)
def test_next_cannot_send_the_browser_to_another_site(
    app: TestClient, idp: PretendIdp, elsewhere: str
) -> None:
    done = sign_in(app, idp, elsewhere)
    assert done.status_code == 200
    assert refresh_target(done.text) == "/"


def test_a_stolen_code_is_useless_without_its_verifier(app: TestClient, idp: PretendIdp) -> None:
    # An attacker who intercepts a code for one sign-in can only redeem it through a
    # sign-in of their own, whose verifier does not match the code's challenge.
    stolen = parse_qs(urlsplit(to_provider(app, idp)).query)["code"][0]
    own = to_provider(app, idp)
    refused = app.get(with_query(own, code=stolen))
    assert refused.status_code == 401
    assert "invalid_grant (PKCE verification failed)" in refused.text
    assert SESSION_COOKIE not in app.cookies


def test_a_wrong_client_secret_is_refused(
    registry: Registry, database_url: str, idp: PretendIdp
) -> None:
    with console_of(registry, database_url, idp, CLIENT_ID, "not the secret") as other:
        refused = sign_in(other, idp)
    assert refused.status_code == 401
    assert "invalid_client" in refused.text
    assert "not the secret" not in refused.text


def test_the_access_token_is_kept_when_it_is_the_one_for_the_registry(
    registry: Registry, database_url: str, idp: PretendIdp
) -> None:
    # Here the registry's audience is its API's, which the provider puts in access tokens
    # only; the id_token (for the console's client) would be refused.
    idp.behaviour.access_audience = "registrum-api"
    with console_of(registry, database_url, idp, "registrum-api", CLIENT_SECRET) as other:
        done = sign_in(other, idp)
        assert done.status_code == 200, done.text
        assert other.cookies[SESSION_COOKIE] == idp.issued[-1]["access_token"]
        assert "Signed in as <strong>alice</strong>" in other.get("/").text


def test_an_unreachable_provider_gives_a_page_not_an_error(
    registry: Registry, database_url: str, idp: PretendIdp
) -> None:
    gone = PretendIdp()
    gone.stop()  # its port now refuses connections
    with console_of(registry, database_url, gone, CLIENT_ID, None) as other:
        other.cookies.clear()
        page = other.get("/sign-in/oidc", params={"next": "/"})
    assert page.status_code == 503
    assert "could not be fetched" in page.text
    assert 'action="/sign-in"' in page.text
