"""The console's OIDC sign-in, its pure parts and its client of the identity provider
against an in-memory transport: PKCE, the attempt cookie, discovery (cached, checked),
and how the code exchange authenticates the console."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Callable
from urllib.parse import parse_qs

import httpx
import pytest

from services.settings import Settings
from services.web.oidc_client import IdentityProvider, IdpError, LoginConfig
from services.web.oidc_flow import ATTEMPT_SECONDS, Attempt, AttemptRefused, audiences, challenge

ISSUER = "https://idp.example.test"
NOW = 1_750_000_000.0


def test_the_pkce_challenge_is_rfc_7636s() -> None:
    # RFC 7636, appendix B.
    assert (
        challenge("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk")
        == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"
    )


def test_an_attempt_survives_its_cookie_and_each_is_new() -> None:
    attempt = Attempt.new("/models/fraud?x=1", NOW)
    assert Attempt.from_cookie(attempt.cookie(), NOW + 5) == attempt
    other = Attempt.new("/", NOW)
    assert {other.state, other.nonce, other.verifier}.isdisjoint(
        {attempt.state, attempt.nonce, attempt.verifier}
    )
    # A verifier is 43-128 characters of RFC 7636's alphabet.
    assert 43 <= len(attempt.verifier) <= 128
    assert set(attempt.verifier) <= set(
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~"
    )


def test_the_state_must_be_the_attempts_own() -> None:
    attempt = Attempt.new("/", NOW)
    attempt.check_state(attempt.state)
    for wrong in (None, "", attempt.state + "x", attempt.nonce):
        with pytest.raises(AttemptRefused):
            attempt.check_state(wrong)


@pytest.mark.parametrize(
    "value",
    [None, "", "not base64 !", base64.urlsafe_b64encode(b"[1, 2]").decode(), "A" * 4000],
)
def test_an_unreadable_attempt_is_refused(value: str | None) -> None:
    with pytest.raises(AttemptRefused):
        Attempt.from_cookie(value, NOW)


def test_an_old_attempt_is_refused() -> None:
    attempt = Attempt.new("/", NOW)
    Attempt.from_cookie(attempt.cookie(), NOW + ATTEMPT_SECONDS)
    with pytest.raises(AttemptRefused, match="too long"):
        Attempt.from_cookie(attempt.cookie(), NOW + ATTEMPT_SECONDS + 1)


def test_audiences_of_a_jwt() -> None:
    def jwt(claims: object) -> str:
        body = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
        return f"e30.{body}.sig"

    assert audiences(jwt({"aud": "api"})) == ("api",)
    assert audiences(jwt({"aud": ["api", 3, "console"]})) == ("api", "console")
    assert audiences(jwt({"sub": "x"})) == ()
    assert audiences("opaque-token") == ()


def test_the_login_is_configured_only_with_a_client_id() -> None:
    assert LoginConfig.from_settings(Settings(oidc_issuer=ISSUER, oidc_audience="a")) is None
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_ISSUER"):
        LoginConfig.from_settings(Settings(oidc_client_id="console"))
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_SCOPES"):
        LoginConfig.from_settings(
            Settings(oidc_issuer=ISSUER, oidc_audience="a", oidc_client_id="c", oidc_scopes="x")
        )
    with pytest.raises(ValueError, match="REGISTRUM_PUBLIC_URL"):
        LoginConfig.from_settings(
            Settings(
                oidc_issuer=ISSUER, oidc_audience="a", oidc_client_id="c", public_url="example"
            )
        )
    config = LoginConfig.from_settings(
        Settings(
            oidc_issuer=ISSUER,
            oidc_audience="a",
            oidc_client_id="c",
            oidc_client_secret="hunter2",  # type: ignore[arg-type]
            public_url="https://registry.example.com/",
        )
    )
    assert config is not None
    assert (config.client_secret, config.public_url) == ("hunter2", "https://registry.example.com")
    # The secret is never in a representation that a log line could carry.
    assert "hunter2" not in repr(config)
    assert "hunter2" not in repr(Settings(oidc_client_secret="hunter2"))  # type: ignore[arg-type]


class Provider:
    """An in-memory provider: discovery and a token endpoint that records its requests."""

    def __init__(self, **discovery: object) -> None:
        self.discovery = {
            "issuer": ISSUER,
            "authorization_endpoint": f"{ISSUER}/auth",
            "token_endpoint": f"{ISSUER}/token",
            **discovery,
        }
        self.requests: list[httpx.Request] = []
        self.token_answer: Callable[[], httpx.Response] = lambda: httpx.Response(
            200, json={"id_token": "a.b.c"}
        )

    def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        if request.url.path == "/.well-known/openid-configuration":
            return httpx.Response(200, json=self.discovery)
        return self.token_answer()


class Clock:
    now = 0.0

    def __call__(self) -> float:
        return self.now


def client_of(
    provider: Provider, secret: str | None = None, clock: Clock | None = None
) -> IdentityProvider:
    config = LoginConfig(issuer=ISSUER, client_id="console", audience="a", client_secret=secret)
    return IdentityProvider(config, clock=clock or Clock(), transport=httpx.MockTransport(provider))


def test_discovery_is_cached_for_an_hour() -> None:
    provider, clock = Provider(), Clock()
    client = client_of(provider, clock=clock)
    first = asyncio.run(client.endpoints())
    assert first.token == f"{ISSUER}/token"
    clock.now = 3599
    asyncio.run(client.endpoints())
    assert len(provider.requests) == 1
    clock.now = 3601
    asyncio.run(client.endpoints())
    assert len(provider.requests) == 2


@pytest.mark.parametrize(
    ("discovery", "said"),
    [
        ({"issuer": "https://evil.example.test"}, "another issuer"),
        ({"token_endpoint": None}, "token_endpoint is missing"),
        ({"authorization_endpoint": "http://idp.example.test/auth"}, "authorization_endpoint"),
        ({"code_challenge_methods_supported": ["plain"]}, "PKCE"),
    ],
)
def test_a_discovery_document_that_does_not_fit_is_refused(
    discovery: dict[str, object], said: str
) -> None:
    client = client_of(Provider(**discovery))
    with pytest.raises(IdpError, match=said):
        asyncio.run(client.endpoints())


def test_an_unreachable_or_broken_provider_is_an_idp_error() -> None:
    def down(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectTimeout("no answer", request=request)

    config = LoginConfig(issuer=ISSUER, client_id="console", audience="a")
    client = IdentityProvider(config, transport=httpx.MockTransport(down))
    with pytest.raises(IdpError, match="no answer within 5 s"):
        asyncio.run(client.endpoints())

    def garbled(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, text="<html>")

    client = IdentityProvider(config, transport=httpx.MockTransport(garbled))
    with pytest.raises(IdpError, match="not JSON"):
        asyncio.run(client.endpoints())


def _form(request: httpx.Request) -> dict[str, list[str]]:
    return parse_qs(request.content.decode())


def test_a_confidential_client_uses_basic_with_form_encoded_parts() -> None:
    provider = Provider()
    asyncio.run(client_of(provider, secret="a:b c").exchange("code1", "verifier1", "https://r/cb"))
    sent = provider.requests[-1]
    pair = base64.b64decode(sent.headers["Authorization"].removeprefix("Basic ")).decode()
    assert pair == "console:a%3Ab+c"
    form = _form(sent)
    assert form["code_verifier"] == ["verifier1"]
    assert form["redirect_uri"] == ["https://r/cb"]
    assert "client_secret" not in form


def test_client_secret_post_when_that_is_all_the_provider_takes() -> None:
    provider = Provider(token_endpoint_auth_methods_supported=["client_secret_post"])
    asyncio.run(client_of(provider, secret="s").exchange("code1", "verifier1", "https://r/cb"))
    sent = provider.requests[-1]
    assert "Authorization" not in sent.headers
    assert _form(sent)["client_id"] == ["console"]
    assert _form(sent)["client_secret"] == ["s"]


def test_a_public_client_sends_its_id_and_verifier_only() -> None:
    provider = Provider()
    asyncio.run(client_of(provider).exchange("code1", "verifier1", "https://r/cb"))
    form = _form(provider.requests[-1])
    assert form["client_id"] == ["console"] and "client_secret" not in form
    assert "Authorization" not in provider.requests[-1].headers


def test_a_refused_exchange_says_why() -> None:
    provider = Provider()
    provider.token_answer = lambda: httpx.Response(
        400, json={"error": "invalid_grant", "error_description": "code expired"}
    )
    with pytest.raises(IdpError, match=r"invalid_grant \(code expired\)") as raised:
        asyncio.run(client_of(provider).exchange("c", "v", "https://r/cb"))
    assert raised.value.refused
    provider.token_answer = lambda: httpx.Response(502, text="bad gateway")
    with pytest.raises(IdpError, match="answered 502") as raised:
        asyncio.run(client_of(provider).exchange("c", "v", "https://r/cb"))
    assert not raised.value.refused
