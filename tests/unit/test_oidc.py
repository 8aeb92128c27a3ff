"""OIDC bearer JWTs: what is accepted, what is refused and why, key rotation, and how often
the issuer's JWKS is fetched. No IO: the JWKS is served by httpx's MockTransport and time
is a fake clock."""

from __future__ import annotations

import asyncio
import logging
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest

from services.auth import oidc
from services.auth.identity import Principal, Unauthenticated
from services.auth.oidc import OidcConfig, OidcVerifier, looks_like_jwt
from services.settings import Settings
from tests.jwts import (
    AUDIENCE,
    ISSUER,
    b64,
    hmac_with_public_key,
    segment,
    signer,
    unsigned,
)

T0 = 1_750_000_000.0
JWKS_URL = "https://idp.example.test/realms/acme/certs"


class Clock:
    def __init__(self) -> None:
        self.now = T0

    def __call__(self) -> float:
        return self.now


class Idp:
    """The provider's JWKS endpoint, as a mock transport that counts its requests."""

    def __init__(self, *names: str) -> None:
        self.names = list(names)
        self.up = True
        self.requests = 0
        self.gate: asyncio.Event | None = None  # when set, responses wait for it

    async def handle(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        await asyncio.sleep(0.01)  # long enough for concurrent callers to pile up
        if self.gate is not None:
            await self.gate.wait()
        if not self.up:
            raise httpx.ConnectError("connection refused", request=request)
        return httpx.Response(200, json={"keys": [signer(n).jwk() for n in self.names]})


def config(**overrides: Any) -> OidcConfig:
    fields: dict[str, Any] = {
        "issuer": ISSUER,
        "audience": AUDIENCE,
        "jwks_url": JWKS_URL,
        "public_key_pem": None,
        "algorithms": ("RS256", "ES256", "EdDSA", "Ed25519"),
    }
    return OidcConfig(**{**fields, **overrides})


class World:
    """A verifier against the IdP's JWKS, on a fake clock."""

    def __init__(self, *names: str, **overrides: Any) -> None:
        self.idp = Idp(*(names or ("rsa", "ec", "ed", "ed-rfc9864")))
        self.clock = Clock()
        http = httpx.AsyncClient(transport=httpx.MockTransport(self.idp.handle))
        self.verifier = OidcVerifier(config(**overrides), http=http, clock=self.clock)

    def mint(self, by: str = "rsa", /, **claims: Any) -> str:
        return signer(by).mint(self.clock.now, **claims)

    def verify(self, token: str) -> Principal:
        return asyncio.run(self.verifier.verify(token))

    def refused(self, token: str) -> str:
        with pytest.raises(Unauthenticated) as refusal:
            self.verify(token)
        assert token not in refusal.value.message  # never echo the credential
        return refusal.value.reason


@pytest.fixture
def world() -> World:
    return World()


# -- accepted -------------------------------------------------------------------------------


def test_an_rs256_token_names_its_subject_case_folded_with_groups(world: World) -> None:
    principal = world.verify(world.mint())
    assert principal == Principal(
        subject="alice",
        display_name="Alice Liddell",
        kind="user",
        groups=frozenset({"data-science", "ml ops"}),
        via="oidc",
        credential=ISSUER,
    )


@pytest.mark.parametrize("name", ["ec", "ed", "ed-rfc9864"])
def test_es256_and_eddsa_tokens_are_accepted(world: World, name: str) -> None:
    assert world.verify(world.mint(name, sub="Bob")).subject == "bob"


def test_a_single_group_string_counts_and_non_strings_grant_nothing(world: World) -> None:
    assert world.verify(world.mint(groups="Reviewers")).groups == {"reviewers"}
    mixed = world.mint(groups=["Owners", 7, None, {"x": 1}, "", "OWNERS"])
    assert world.verify(mixed).groups == {"owners"}
    assert world.verify(world.mint(groups={"a": "b"})).groups == frozenset()


def test_without_a_name_the_display_name_is_the_raw_subject(world: World) -> None:
    principal = world.verify(world.mint(sub="Carol@Example.org", name=None))
    assert (principal.subject, principal.display_name) == ("carol@example.org", "Carol@Example.org")


def test_configured_claim_names_are_used() -> None:
    world = World(subject_claim="email", groups_claim="roles", name_claim="preferred_username")
    token = world.mint(email="Dan@Example.org", roles=["Admins"], preferred_username="dan")
    principal = world.verify(token)
    assert (principal.subject, principal.display_name, principal.groups) == (
        "dan@example.org",
        "dan",
        {"admins"},
    )


def test_an_audience_list_containing_ours_is_accepted(world: World) -> None:
    assert world.verify(world.mint(aud=["other", AUDIENCE])).subject == "alice"


def test_clock_skew_within_the_leeway_is_tolerated(world: World) -> None:
    # Expired 20 s ago, valid from 20 s in the future: both within 30 s of skew.
    token = world.mint(exp=int(T0) - 20, nbf=int(T0) + 20, iat=int(T0) + 20)
    assert world.verify(token).subject == "alice"


# -- refused --------------------------------------------------------------------------------


def _refusals() -> list[Any]:
    rsa = signer("rsa")
    now = T0
    cases: list[tuple[str, Callable[[], str], str]] = [
        ("alg none", lambda: unsigned(now), "alg_not_allowed"),
        ("alg none with a signature", lambda: unsigned(now, "c2lnbmVk"), "alg_not_allowed"),
        (
            "HS256 keyed with the public key",
            lambda: hmac_with_public_key(rsa.pem(), rsa.kid, now),
            "alg_not_allowed",
        ),
        (
            "an algorithm not configured",
            lambda: rsa.mint(now, header={"alg": "PS256"}),
            "alg_not_allowed",
        ),
        (
            "another key under a known kid",
            lambda: signer("rsa-impostor").mint(now),
            "bad_signature",
        ),
        ("claims changed after signing", lambda: _tampered(rsa.mint(now)), "bad_signature"),
        ("expired beyond the leeway", lambda: rsa.mint(now, exp=int(now) - 31), "expired"),
        (
            "not valid before a later time",
            lambda: rsa.mint(now, nbf=int(now) + 31),
            "not_yet_valid",
        ),
        ("issued in the future", lambda: rsa.mint(now, iat=int(now) + 3600), "not_yet_valid"),
        ("another issuer", lambda: rsa.mint(now, iss="https://evil.example"), "wrong_issuer"),
        ("no issuer", lambda: rsa.mint(now, iss=None), "wrong_issuer"),
        ("another audience", lambda: rsa.mint(now, aud="other-app"), "wrong_audience"),
        ("audiences without ours", lambda: rsa.mint(now, aud=["a", "b"]), "wrong_audience"),
        ("no audience", lambda: rsa.mint(now, aud=None), "wrong_audience"),
        ("an unknown kid", lambda: rsa.mint(now, header={"kid": "nobody"}), "unknown_kid"),
        ("no expiry", lambda: rsa.mint(now, exp=None), "malformed"),
        ("not a JWT", lambda: "rgm_0123456789abcdef", "malformed"),
        ("a header that is not JSON", lambda: f"{b64(b'{nope')}.{segment({})}.c2ln", "malformed"),
        ("a JWE (five segments)", lambda: "a.b.c.d.e", "malformed"),
        ("no subject", lambda: rsa.mint(now, sub=None), "no_subject"),
        ("an empty subject", lambda: rsa.mint(now, sub="  "), "no_subject"),
        ("a subject that is not a string", lambda: rsa.mint(now, sub=42), "no_subject"),
    ]
    return [pytest.param(make, reason, id=name) for name, make, reason in cases]


def _tampered(token: str) -> str:
    header, _, signature = token.split(".")
    return f"{header}.{segment({'iss': ISSUER, 'aud': AUDIENCE, 'sub': 'root'})}.{signature}"


@pytest.mark.parametrize(("make", "reason"), _refusals())
def test_refused_with_its_reason(
    world: World, make: Callable[[], str], reason: str, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    token = make()
    assert world.refused(token) == reason
    assert token not in caplog.text


def test_an_expired_token_is_refused_even_after_it_was_accepted(world: World) -> None:
    token = world.mint(exp=int(T0) + 20)
    assert world.verify(token).subject == "alice"
    world.clock.now += 51  # past exp + leeway, within the minute a verification is kept
    assert world.refused(token) == "expired"


# -- a PEM public key instead of a JWKS -----------------------------------------------------


def pem_world(name: str = "rsa") -> World:
    world = World(jwks_url=None, public_key_pem=signer(name).pem())
    return world


def test_a_pem_key_verifies_tokens_with_or_without_a_kid() -> None:
    world = pem_world()
    assert world.verify(world.mint()).subject == "alice"
    assert world.verify(world.mint(header={"kid": None})).subject == "alice"
    assert world.idp.requests == 0


def test_a_pem_key_refuses_the_hmac_key_confusion_forgery_and_other_key_types() -> None:
    world = pem_world()
    rsa = signer("rsa")
    assert world.refused(hmac_with_public_key(rsa.pem(), rsa.kid, T0)) == "alg_not_allowed"
    assert world.refused(world.mint("ec")) == "bad_signature"
    assert world.refused(world.mint("rsa-impostor")) == "bad_signature"


def test_a_file_that_is_not_a_public_key_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_PUBLIC_KEY_FILE"):
        OidcVerifier(config(jwks_url=None, public_key_pem=b"-----BEGIN NOTHING-----"))


# -- the JWKS: rotation, rate limit, outages ------------------------------------------------


def test_a_rotated_key_is_picked_up_without_a_new_verifier(world: World) -> None:
    assert world.verify(world.mint("rsa")).subject == "alice"
    # The provider rotates: only the new key (new kid) is published from now on.
    world.idp.names = ["rsa-next"]
    world.clock.now += 15
    assert world.verify(world.mint("rsa-next")).subject == "alice"
    assert world.idp.requests == 2


def test_unknown_kids_fetch_the_jwks_at_most_once_every_ten_seconds(world: World) -> None:
    world.verify(world.mint())
    assert world.idp.requests == 1
    # A flood of forged kids right after a fetch fetches nothing.
    for _ in range(50):
        forged = world.mint(header={"kid": uuid.uuid4().hex})
        assert world.refused(forged) == "unknown_kid"
    assert world.idp.requests == 1
    # Ten seconds on, one more fetch is allowed, then the limit holds again.
    world.clock.now += 10
    for _ in range(50):
        assert world.refused(world.mint(header={"kid": uuid.uuid4().hex})) == "unknown_kid"
    assert world.idp.requests == 2


def test_a_rotation_seen_within_ten_seconds_of_a_fetch_is_accepted_once_the_limit_passes(
    world: World,
) -> None:
    world.verify(world.mint())
    world.idp.names = ["rsa", "rsa-next"]
    world.clock.now += 5
    token = world.mint("rsa-next")
    assert world.refused(token) == "unknown_kid"  # the rate limit's price
    world.clock.now += 5
    assert world.verify(token).subject == "alice"
    assert world.idp.requests == 2


def test_concurrent_requests_fetch_the_jwks_once() -> None:
    world = World()

    async def scenario() -> None:
        # Nothing cached yet: twenty requests, one fetch.
        first = [world.mint(sub=f"user{i}") for i in range(20)]
        principals = await asyncio.gather(*(world.verifier.verify(t) for t in first))
        assert {p.subject for p in principals} == {f"user{i}" for i in range(20)}
        assert world.idp.requests == 1
        # After a rotation: twenty tokens with the new kid, one more fetch.
        world.idp.names = ["rsa-next"]
        world.clock.now += 15
        rotated = [world.mint("rsa-next", sub=f"user{i}") for i in range(20)]
        await asyncio.gather(*(world.verifier.verify(t) for t in rotated))
        assert world.idp.requests == 2
        await world.verifier.aclose()

    asyncio.run(scenario())


def test_the_jwks_is_fetched_again_every_five_minutes(world: World) -> None:
    world.verify(world.mint())
    # The provider withdraws the key; after five minutes the verifier knows.
    world.idp.names = ["rsa-next"]
    world.clock.now += 299
    assert world.verify(world.mint(sub="bob")).subject == "bob"
    world.clock.now += 1
    assert world.refused(world.mint(sub="carol")) == "unknown_kid"
    assert world.idp.requests == 2


def test_a_slow_refresh_holds_up_only_the_request_that_started_it() -> None:
    world = World()

    async def scenario() -> None:
        await world.verifier.verify(world.mint())
        world.clock.now += 300  # the keys are due for a refresh
        world.idp.gate = asyncio.Event()
        refreshing = asyncio.create_task(world.verifier.verify(world.mint(sub="bob")))
        while world.idp.requests < 2:
            await asyncio.sleep(0.001)
        # The provider has not answered yet; other requests use the keys already held.
        carol = await asyncio.wait_for(world.verifier.verify(world.mint(sub="carol")), 1)
        assert carol.subject == "carol" and not refreshing.done()
        world.idp.gate.set()
        assert (await refreshing).subject == "bob"
        await world.verifier.aclose()

    asyncio.run(scenario())


def test_while_the_jwks_is_down_the_cached_keys_still_verify(world: World) -> None:
    world.verify(world.mint())
    world.idp.up = False
    world.clock.now += 600
    assert world.verify(world.mint(sub="bob")).subject == "bob"
    assert world.idp.requests == 2  # it tried


def test_with_the_jwks_down_and_nothing_cached_keys_are_unavailable() -> None:
    world = World()
    world.idp.up = False
    assert world.refused(world.mint()) == "keys_unavailable"
    # Refused again at once, without hammering the provider; retried ten seconds on.
    assert world.refused(world.mint(sub="bob")) == "keys_unavailable"
    assert world.idp.requests == 1
    world.idp.up = True
    world.clock.now += 10
    assert world.verify(world.mint(sub="bob")).subject == "bob"


@pytest.mark.parametrize(
    "response",
    [httpx.Response(503), httpx.Response(200, text="<html>"), httpx.Response(200, json=[])],
    ids=["503", "not json", "not a jwks"],
)
def test_a_broken_jwks_response_leaves_keys_unavailable(response: httpx.Response) -> None:
    http = httpx.AsyncClient(transport=httpx.MockTransport(lambda request: response))
    verifier = OidcVerifier(config(), http=http, clock=Clock())
    with pytest.raises(Unauthenticated) as refusal:
        asyncio.run(verifier.verify(signer("rsa").mint(T0)))
    assert refusal.value.reason == "keys_unavailable"


def test_encryption_and_symmetric_keys_in_the_jwks_are_never_used() -> None:
    rsa = signer("rsa")
    published = [
        {**rsa.jwk(), "use": "enc"},
        {"kty": "oct", "kid": "rsa-1", "k": b64(rsa.pem())},
        {"kty": "PQC", "kid": "future"},
    ]
    http = httpx.AsyncClient(
        transport=httpx.MockTransport(lambda r: httpx.Response(200, json={"keys": published}))
    )
    verifier = OidcVerifier(config(), http=http, clock=Clock())
    with pytest.raises(Unauthenticated) as refusal:
        asyncio.run(verifier.verify(rsa.mint(T0)))
    assert refusal.value.reason == "unknown_kid"


# -- repeat verifications -------------------------------------------------------------------


def test_a_repeated_token_is_not_verified_again_within_a_minute(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    decoded = []
    decode = oidc.jwt.decode

    def counted(*args: Any, **kwargs: Any) -> Any:
        decoded.append(1)
        return decode(*args, **kwargs)

    monkeypatch.setattr(oidc.jwt, "decode", counted)
    token = world.mint()
    for _ in range(5):
        world.verify(token)
    assert len(decoded) == 1
    world.clock.now += 60
    world.verify(token)
    assert len(decoded) == 2


# -- configuration --------------------------------------------------------------------------


@pytest.mark.parametrize("algorithms", [("RS256", "HS256"), ("none",), ("HS512",), ("RS999",), ()])
def test_unsafe_or_unknown_algorithms_are_refused_in_config(algorithms: tuple[str, ...]) -> None:
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_ALGORITHMS"):
        config(algorithms=algorithms)


def settings(**values: Any) -> Settings:
    return Settings(**values)


def test_from_settings_without_an_issuer_is_none() -> None:
    assert OidcConfig.from_settings(settings()) is None


def test_from_settings_names_what_is_missing(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_AUDIENCE"):
        OidcConfig.from_settings(settings(oidc_issuer=ISSUER, oidc_jwks_url=JWKS_URL))
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_JWKS_URL"):
        OidcConfig.from_settings(settings(oidc_issuer=ISSUER, oidc_audience=AUDIENCE))
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_PUBLIC_KEY_FILE"):
        OidcConfig.from_settings(
            settings(
                oidc_issuer=ISSUER,
                oidc_audience=AUDIENCE,
                oidc_public_key_file=tmp_path / "missing.pem",
            )
        )
    with pytest.raises(ValueError, match="REGISTRUM_OIDC_ALGORITHMS"):
        OidcConfig.from_settings(
            settings(
                oidc_issuer=ISSUER,
                oidc_audience=AUDIENCE,
                oidc_jwks_url=JWKS_URL,
                oidc_algorithms="RS256, HS256",
            )
        )


def test_from_settings_reads_the_key_file_and_the_algorithm_list(tmp_path: Path) -> None:
    pem = tmp_path / "idp.pem"
    pem.write_bytes(signer("rsa").pem())
    loaded = OidcConfig.from_settings(
        settings(
            oidc_issuer=ISSUER,
            oidc_audience=AUDIENCE,
            oidc_public_key_file=pem,
            oidc_algorithms=" RS256 ,ES256,",
            oidc_leeway_seconds=5,
        )
    )
    assert loaded is not None
    assert (loaded.algorithms, loaded.public_key_pem, loaded.leeway) == (
        ("RS256", "ES256"),
        signer("rsa").pem(),
        5,
    )


def test_looks_like_jwt() -> None:
    assert looks_like_jwt(signer("rsa").mint(T0))
    assert looks_like_jwt(unsigned(T0))
    assert not looks_like_jwt("rgm_0123456789abcdef")
    assert not looks_like_jwt("a.b")
    assert not looks_like_jwt("a.b.c.d.e")
    assert not looks_like_jwt("a b.c.d")
