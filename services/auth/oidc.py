"""OIDC bearer JWTs from an organisation's identity provider, verified into a Principal.

The signature is checked with joserfc against the issuer's keys (services.auth.jwks)
under an allow-list of asymmetric algorithms: `none` and HMAC never pass, so a token
"signed" with the issuer's public key as an HMAC secret is refused before any key is
touched. Then iss, aud, exp and nbf are checked with a leeway. A verified token is
remembered for up to a minute (never past its expiry) so a hot path doesn't redo RSA.
"""

from __future__ import annotations

import hashlib
import re
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import httpx
from joserfc import jwt
from joserfc.errors import (
    BadSignatureError,
    ExpiredTokenError,
    InvalidClaimError,
    InvalidKeyCurveError,
    JoseError,
    KeyParameterError,
    MissingClaimError,
    SecurityWarning,
)
from joserfc.jwk import Key
from joserfc.jws import JWSRegistry, extract_compact

from services.auth.identity import BadSubject, Principal, Unauthenticated, normalise
from services.auth.jwks import JwksKeys, KeySource, StaticKey, load_public_key

if TYPE_CHECKING:
    from services.settings import Settings

MAX_TOKEN = 16 * 1024
CACHE_SECONDS = 60.0
CACHE_ENTRIES = 10_000

_JWT = re.compile(r"[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*")


def looks_like_jwt(token: str) -> bool:
    """Whether `token` has a JWS compact shape: three base64url segments joined by dots
    (an API token does not, so the caller knows which verifier to ask)."""
    return len(token) <= MAX_TOKEN and _JWT.fullmatch(token) is not None


def _refused(alg: str) -> bool:
    return alg.lower() == "none" or alg.upper().startswith("HS")


@dataclass(frozen=True)
class OidcConfig:
    """Which tokens are accepted: from this issuer, for this audience, signed by one of
    its keys (a JWKS URL or a PEM public key) with one of `algorithms`."""

    issuer: str
    audience: str
    jwks_url: str | None
    public_key_pem: bytes | None
    algorithms: tuple[str, ...]
    subject_claim: str = "sub"
    groups_claim: str = "groups"
    name_claim: str = "name"
    leeway: int = 30

    def __post_init__(self) -> None:
        if not self.algorithms:
            raise ValueError("REGISTRUM_OIDC_ALGORITHMS names no algorithm")
        for alg in self.algorithms:
            if _refused(alg):
                raise ValueError(
                    f"REGISTRUM_OIDC_ALGORITHMS: {alg} is never accepted (only an issuer's "
                    "asymmetric signatures are)"
                )
            if alg not in JWSRegistry.algorithms:
                raise ValueError(f"REGISTRUM_OIDC_ALGORITHMS: {alg} is not a JWS algorithm")
        if (self.jwks_url is None) == (self.public_key_pem is None):
            raise ValueError(
                "one of REGISTRUM_OIDC_JWKS_URL or REGISTRUM_OIDC_PUBLIC_KEY_FILE is needed "
                "with REGISTRUM_OIDC_ISSUER"
            )

    @classmethod
    def from_settings(cls, settings: Settings) -> OidcConfig | None:
        """The OIDC configuration, or None when no issuer is set (API tokens only).
        ValueError, naming the REGISTRUM_* key, when it is incomplete or unsafe."""
        if not settings.oidc_issuer:
            return None
        if not settings.oidc_audience:
            raise ValueError("REGISTRUM_OIDC_AUDIENCE is needed with REGISTRUM_OIDC_ISSUER")
        pem = None
        if settings.oidc_public_key_file is not None:
            try:
                pem = settings.oidc_public_key_file.read_bytes()
            except OSError as error:
                raise ValueError(
                    f"REGISTRUM_OIDC_PUBLIC_KEY_FILE cannot be read: {error.strerror}"
                ) from None
        return cls(
            issuer=settings.oidc_issuer,
            audience=settings.oidc_audience,
            jwks_url=settings.oidc_jwks_url or None,
            public_key_pem=pem,
            algorithms=tuple(a.strip() for a in settings.oidc_algorithms.split(",") if a.strip()),
            subject_claim=settings.oidc_subject_claim,
            groups_claim=settings.oidc_groups_claim,
            name_claim=settings.oidc_name_claim,
            leeway=settings.oidc_leeway_seconds,
        )


@dataclass(frozen=True)
class _Verified:
    principal: Principal
    until: float  # the clock time from which the token must be verified again


class OidcVerifier:
    """Verifies OIDC bearer JWTs into principals (via="oidc", credential=the issuer).

    `http` and `clock` are for tests; a verifier builds its own client when it needs one
    and closes only that one in aclose().
    """

    def __init__(
        self,
        config: OidcConfig,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self._clock = clock
        self._keys: KeySource
        if config.jwks_url is not None:
            self._keys = JwksKeys(config.jwks_url, http=http, clock=clock)
        else:
            try:
                self._keys = StaticKey(load_public_key(config.public_key_pem or b""))
            except ValueError:
                raise ValueError(
                    "REGISTRUM_OIDC_PUBLIC_KEY_FILE is not a PEM RSA, EC or EdDSA public key"
                ) from None
        # Lax about unknown header fields (some providers add their own); `crit` is still
        # honoured by joserfc.
        self._registries = {
            alg: JWSRegistry(algorithms=[alg], strict_check_header=False)
            for alg in config.algorithms
        }
        self._verified: dict[bytes, _Verified] = {}

    async def verify(self, token: str) -> Principal:
        """The principal a valid token names; Unauthenticated(reason, message) otherwise.
        Neither the message nor the log ever contains the token."""
        if not looks_like_jwt(token):
            raise Unauthenticated("malformed", "the bearer token is not a JWT")
        now = self._clock()
        digest = hashlib.sha256(token.encode("ascii")).digest()
        hit = self._verified.get(digest)
        if hit is not None:
            if now < hit.until:
                return hit.principal
            del self._verified[digest]
        alg, kid = self._header(token)
        key = await self._keys.key_for(kid, alg)
        claims = self._decode(token, key, alg)
        now = self._clock()  # fetching keys may have taken a while
        self._check_claims(claims, now)
        principal = self._principal(claims)
        self._remember(digest, principal, claims["exp"], now)
        return principal

    async def aclose(self) -> None:
        await self._keys.aclose()

    def _header(self, token: str) -> tuple[str, str | None]:
        try:
            header = extract_compact(token.encode("ascii")).headers()
        except (JoseError, ValueError, TypeError):
            raise Unauthenticated("malformed", "the JWT's header cannot be read") from None
        alg, kid = header.get("alg"), header.get("kid")
        if not isinstance(alg, str) or alg not in self.config.algorithms or _refused(alg):
            raise Unauthenticated("alg_not_allowed", "the JWT's algorithm is not accepted")
        if kid is not None and not isinstance(kid, str):
            raise Unauthenticated("malformed", "the JWT's kid is not a string")
        return alg, kid

    def _decode(self, token: str, key: Key, alg: str) -> dict[str, Any]:
        try:
            with warnings.catch_warnings():
                # joserfc warns on every use of "EdDSA" (RFC 9864 names it "Ed25519" now);
                # issuers still sign with it and the operator allowed it.
                warnings.filterwarnings("ignore", "EdDSA", SecurityWarning)
                return jwt.decode(token, key, registry=self._registries[alg]).claims
        except BadSignatureError:
            raise Unauthenticated("bad_signature", "the JWT's signature does not verify") from None
        except (KeyParameterError, InvalidKeyCurveError):
            raise Unauthenticated(
                "bad_signature", f"the issuer's key does not make {alg} signatures"
            ) from None
        except (JoseError, ValueError, TypeError):
            raise Unauthenticated("malformed", "the JWT cannot be decoded") from None

    def _check_claims(self, claims: dict[str, Any], now: float) -> None:
        config = self.config
        registry = jwt.JWTClaimsRegistry(
            now=int(now),
            leeway=config.leeway,
            iss={"essential": True, "value": config.issuer},
            aud={"essential": True, "value": config.audience},
            exp={"essential": True},
        )
        try:
            registry.validate(claims)
        except ExpiredTokenError:
            raise Unauthenticated("expired", "the JWT has expired") from None
        except MissingClaimError as error:
            missing = error.claim.split(",")
            if "iss" in missing:
                raise Unauthenticated("wrong_issuer", "the JWT names no issuer") from None
            if "aud" in missing:
                raise Unauthenticated("wrong_audience", "the JWT names no audience") from None
            # A token without exp would be good forever: not one an IdP should issue.
            raise Unauthenticated("malformed", "the JWT has no expiry (exp)") from None
        except InvalidClaimError as error:
            raise _claim_refusal(error.claim, config.subject_claim) from None

    def _principal(self, claims: dict[str, Any]) -> Principal:
        config = self.config
        raw = claims.get(config.subject_claim)
        try:
            subject = normalise(raw)
        except BadSubject:
            raise Unauthenticated(
                "no_subject", f"the JWT's {config.subject_claim} claim is not a usable subject"
            ) from None
        name = claims.get(config.name_claim)
        groups = claims.get(config.groups_claim)
        if isinstance(groups, str):
            groups = [groups]
        return Principal(
            subject=subject,
            display_name=name if isinstance(name, str) and name.strip() else str(raw),
            kind="user",
            groups=frozenset(_groups(groups if isinstance(groups, list) else [])),
            via="oidc",
            credential=config.issuer,
        )

    def _remember(self, digest: bytes, principal: Principal, exp: float, now: float) -> None:
        # Never past the point where a full check would call the token expired.
        until = min(exp + self.config.leeway, now + CACHE_SECONDS)
        if len(self._verified) >= CACHE_ENTRIES:
            del self._verified[next(iter(self._verified))]  # the oldest (dicts keep order)
        self._verified[digest] = _Verified(principal, until)


def _groups(values: list[Any]) -> set[str]:
    groups = set()
    for value in values:
        try:
            groups.add(normalise(value, "group"))
        except BadSubject:
            continue  # not a string, or nothing a grant could name: grants nothing
    return groups


def _claim_refusal(claim: str, subject_claim: str) -> Unauthenticated:
    if claim == "iss":
        return Unauthenticated("wrong_issuer", "the JWT is from another issuer")
    if claim == "aud":
        return Unauthenticated("wrong_audience", "the JWT is for another audience")
    if claim in ("nbf", "iat"):
        return Unauthenticated("not_yet_valid", "the JWT is not valid yet")
    if claim == subject_claim:
        return Unauthenticated("no_subject", f"the JWT's {claim} claim is not a usable subject")
    return Unauthenticated("malformed", f"the JWT's {claim} claim is not valid")
