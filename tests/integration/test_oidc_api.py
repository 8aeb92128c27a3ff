"""OIDC bearer JWTs at the REST API, keys from a real JWKS endpoint (an HTTP server on
127.0.0.1): every forgery and misfit is 401 with a typed body naming the reason; a key
rotation at the provider is picked up without a restart; groups from the token's claim
are what grants may name."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from schemas import commands as c
from services.api.app import build_fastapi
from services.auth.authenticate import Authenticator
from services.auth.oidc import OidcConfig, OidcVerifier
from services.auth.tokens import MemoryTokenStore
from services.registry.application import SYSTEM
from tests.fakes.registry import memory_registry
from tests.integration.test_oidc_jwks import Clock, JwksServer
from tests.jwts import AUDIENCE, ISSUER, hmac_with_public_key, signer, unsigned
from tests.people import grant


@pytest.fixture
def jwks() -> Iterator[JwksServer]:
    server = JwksServer("rsa", "ec")
    yield server
    server.stop()


@pytest.fixture
def clock() -> Clock:
    return Clock()


@pytest.fixture
def http(jwks: JwksServer, clock: Clock) -> Iterator[TestClient]:
    registry = memory_registry(open=False)
    registry.handle(c.RegisterModel(name="fraud"), SYSTEM)
    grant(registry, "group:data-science", "contributor", "model:fraud")
    config = OidcConfig(
        issuer=ISSUER,
        audience=AUDIENCE,
        jwks_url=jwks.url,
        public_key_pem=None,
        algorithms=("RS256", "ES256"),
    )
    verifier = OidcVerifier(config, clock=clock)
    app = build_fastapi()
    app.state.registry = registry
    app.state.authenticator = Authenticator(MemoryTokenStore(), verifier)
    with TestClient(app) as client:
        yield client
        # Its HTTP client lives on the test client's loop: closed there.
        client.portal.call(verifier.aclose)


def call(http: TestClient, token: str) -> tuple[int, dict[str, object]]:
    response = http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
    return response.status_code, response.json()


def test_a_valid_token_is_a_subject_with_its_groups(http: TestClient, clock: Clock) -> None:
    status, me = call(http, signer("rsa").mint(clock.now))
    assert status == 200
    assert (me["subject"], me["display_name"], me["via"]) == ("alice", "Alice Liddell", "oidc")
    assert me["groups"] == ["data-science", "ml ops"]
    assert me["grants"] == [
        {"principal": "group:data-science", "role": "contributor", "scope": "model:fraud"}
    ]
    # The group's grant lets her act on that model, under her own subject.
    tagged = http.put(
        "/api/v1/models/fraud/tags/team",
        json={"value": "risk"},
        headers={"Authorization": f"Bearer {signer('ec').mint(clock.now)}"},
    )
    assert tagged.status_code == 200, tagged.text
    # Not on another model, though.
    other = http.post(
        "/api/v1/models",
        json={"name": "churn"},
        headers={"Authorization": f"Bearer {signer('ec').mint(clock.now)}"},
    )
    assert (other.status_code, other.json()["error"]["code"]) == (403, "forbidden")


def test_every_bad_token_is_401_with_its_reason(
    http: TestClient, jwks: JwksServer, clock: Clock
) -> None:
    now = clock.now
    rsa = signer("rsa")
    bad = {
        "alg none": unsigned(now),
        "wrong key": signer("rsa-impostor").mint(now),
        "HS256 signed with the public key": hmac_with_public_key(rsa.pem(), rsa.kid, now),
        "expired": rsa.mint(now, exp=int(now) - 120, iat=int(now) - 600),
        "not yet valid": rsa.mint(now, nbf=int(now) + 600),
        "wrong issuer": rsa.mint(now, iss="https://evil.example.test"),
        "wrong audience": rsa.mint(now, aud="some-other-api"),
        "unknown kid": signer("rsa-next").mint(now),
    }
    seen = {}
    for label, token in bad.items():
        response = http.get("/api/v1/whoami", headers={"Authorization": f"Bearer {token}"})
        assert response.status_code == 401, (label, response.text)
        assert response.headers["WWW-Authenticate"].startswith("Bearer")
        error = response.json()["error"]
        assert error["code"] == "unauthenticated"
        assert token not in response.text
        seen[label] = error["details"]["reason"]
    assert seen == {
        "alg none": "alg_not_allowed",
        "wrong key": "bad_signature",
        "HS256 signed with the public key": "alg_not_allowed",
        "expired": "expired",
        "not yet valid": "not_yet_valid",
        "wrong issuer": "wrong_issuer",
        "wrong audience": "wrong_audience",
        "unknown kid": "unknown_kid",
    }


def test_a_key_rotation_is_picked_up_without_a_restart(
    http: TestClient, jwks: JwksServer, clock: Clock
) -> None:
    assert call(http, signer("rsa").mint(clock.now))[0] == 200
    # The provider rotates: the new key under a new kid, the old one withdrawn.
    jwks.names = ["rsa-next"]
    clock.now += 11  # past the refetch limit (ten seconds between fetches)
    status, me = call(http, signer("rsa-next").mint(clock.now))
    assert (status, me["subject"]) == (200, "alice")
