"""The issuer's signing keys: one PEM public key, or a JWKS URL fetched and cached.

A key source answers "which key checks a token signed with `alg` under `kid`", or raises
Unauthenticated (unknown_kid, bad_signature, keys_unavailable). The JWKS is fetched again
when a token names a kid it does not hold (the issuer rotated its keys), but at most once
per `refetch_after` seconds whatever the tokens say, so forged kids cannot turn the
registry into an amplifier against the identity provider.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import httpx
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric import ec, ed448, ed25519, rsa
from cryptography.hazmat.primitives.serialization import load_pem_public_key
from joserfc.errors import JoseError
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey, import_key
from joserfc.jws import JWSRegistry

from services.auth.identity import Unauthenticated

log = logging.getLogger(__name__)

REFRESH_EVERY = 300.0  # seconds a fetched JWKS is used before it is fetched again
REFETCH_AFTER = 10.0  # fewest seconds between two fetches, whatever the reason
FETCH_TIMEOUT = 5.0


class KeySource(Protocol):
    """Where the verifier finds the key that checks a token's signature."""

    async def key_for(self, kid: str | None, alg: str) -> Key:
        """The key for a token signed with `alg` naming `kid`; Unauthenticated if none."""
        ...

    async def aclose(self) -> None: ...


def fits(key: Key, alg: str) -> bool:
    """Whether `key` can check an `alg` signature (key type and curve; RSA for RS256)."""
    model = JWSRegistry.algorithms.get(alg)
    if model is None:
        return False
    try:
        model.check_key(key)
    except JoseError:
        return False
    return True


def load_public_key(pem: bytes) -> Key:
    """A PEM public key (RSA, EC or Ed25519/Ed448) as a joserfc key; ValueError otherwise."""
    # joserfc warns when asked to guess a PEM's key type, so the type is read here first.
    try:
        loaded = load_pem_public_key(pem)
    except UnsupportedAlgorithm:
        raise ValueError("an RSA, EC or EdDSA public key is needed") from None
    if isinstance(loaded, rsa.RSAPublicKey):
        return RSAKey.import_key(pem)
    if isinstance(loaded, ec.EllipticCurvePublicKey):
        return ECKey.import_key(pem)
    if isinstance(loaded, ed25519.Ed25519PublicKey | ed448.Ed448PublicKey):
        return OKPKey.import_key(pem)
    raise ValueError("an RSA, EC or EdDSA public key is needed")


class StaticKey:
    """One public key from a PEM file: every token is checked with it, kid or not."""

    def __init__(self, key: Key) -> None:
        self._key = key

    async def key_for(self, kid: str | None, alg: str) -> Key:
        if not fits(self._key, alg):
            raise Unauthenticated("bad_signature", f"the issuer's key does not sign {alg}")
        return self._key

    async def aclose(self) -> None:
        return None


@dataclass(frozen=True)
class _Jwk:
    kid: str | None
    alg: str | None  # the JWK's own "alg", when it pins one
    key: Key


def parse_jwks(document: Any) -> list[_Jwk]:
    """The signature keys of a JWKS document. Keys for encryption, symmetric keys and keys
    of a type joserfc does not know are left out (RFC 7517 section 5: ignore, don't fail);
    a document that is not a JWKS is a ValueError."""
    if not isinstance(document, dict) or not isinstance(document.get("keys"), list):
        raise ValueError("not a JWKS document (an object with a list of keys)")
    keys = []
    for entry in document["keys"]:
        if not isinstance(entry, dict) or entry.get("kty") == "oct":
            continue  # a shared secret never verifies an issuer's token
        if entry.get("use", "sig") != "sig":
            continue
        ops = entry.get("key_ops")
        if isinstance(ops, list) and "verify" not in ops:
            continue
        try:
            key = import_key(entry)
        except (JoseError, ValueError, TypeError, KeyError):
            continue
        kid, alg = entry.get("kid"), entry.get("alg")
        keys.append(_Jwk(kid if isinstance(kid, str) else None, alg, key))
    return keys


def _select(keys: list[_Jwk], kid: str | None, alg: str) -> Key | None:
    usable = [
        k
        for k in keys
        if (kid is None or k.kid == kid) and k.alg in (None, alg) and fits(k.key, alg)
    ]
    if kid is None:
        # Without a kid only an unambiguous key will do; trying each would multiply the
        # cost of a forged token by the number of keys.
        return usable[0].key if len(usable) == 1 else None
    return usable[0].key if usable else None


class JwksKeys:
    """The issuer's keys from its JWKS URL, cached for `refresh_every` seconds and fetched
    again on an unknown kid, never more often than every `refetch_after` seconds. While
    the URL is unreachable the last keys fetched stay in use."""

    def __init__(
        self,
        url: str,
        *,
        http: httpx.AsyncClient | None = None,
        clock: Callable[[], float] = time.time,
        refresh_every: float = REFRESH_EVERY,
        refetch_after: float = REFETCH_AFTER,
        timeout: float = FETCH_TIMEOUT,
    ) -> None:
        self._url = url
        self._http = http
        self._owns_http = http is None
        self._clock = clock
        self._refresh_every = refresh_every
        self._refetch_after = refetch_after
        self._timeout = timeout
        self._keys: list[_Jwk] | None = None
        self._fetched_at = -math.inf  # last successful fetch
        self._tried_at = -math.inf  # last attempt, failed or not: the rate limit's clock
        # One fetch at a time: requests arriving meanwhile wait for its keys instead of
        # each fetching the same document.
        self._lock = asyncio.Lock()

    async def key_for(self, kid: str | None, alg: str) -> Key:
        stale = self._clock() - self._fetched_at >= self._refresh_every
        # While one request refreshes stale keys the others go on with the keys held, so
        # a slow provider stalls one request every few minutes, not all of them.
        if self._keys is None or (stale and not self._lock.locked()):
            await self._refresh()
        if self._keys is None:
            raise Unauthenticated("keys_unavailable", "the issuer's keys cannot be fetched")
        key = _select(self._keys, kid, alg)
        if key is None:
            await self._refresh()
            key = _select(self._keys, kid, alg)
        if key is None:
            raise Unauthenticated(
                "unknown_kid", f"none of the issuer's keys matches the token's kid for {alg}"
            )
        return key

    async def _refresh(self) -> None:
        async with self._lock:
            # Checked under the lock, so callers that waited for a fetch in progress use its
            # keys instead of fetching again.
            if self._clock() - self._tried_at < self._refetch_after:
                return
            self._tried_at = self._clock()
            try:
                keys = await self._fetch()
            except (httpx.HTTPError, ValueError) as error:
                log.warning("fetching the OIDC JWKS from %s failed: %r", self._url, error)
                return
            self._keys, self._fetched_at = keys, self._clock()

    async def _fetch(self) -> list[_Jwk]:
        if self._http is None:
            self._http = httpx.AsyncClient()
        response = await self._http.get(
            self._url, headers={"Accept": "application/json"}, timeout=self._timeout
        )
        response.raise_for_status()
        return parse_jwks(response.json())

    async def aclose(self) -> None:
        if self._owns_http and self._http is not None:
            await self._http.aclose()
            self._http = None
