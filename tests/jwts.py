"""A pretend identity provider for the OIDC tests: signing keys, a JWKS and token minting.

Keys are generated once per process (RSA takes tens of milliseconds)."""

from __future__ import annotations

import base64
import functools
import hashlib
import hmac
import json
import warnings
from dataclasses import dataclass
from typing import Any

from joserfc import jwt
from joserfc.errors import SecurityWarning
from joserfc.jwk import ECKey, Key, OKPKey, RSAKey

ISSUER = "https://idp.example.test/realms/acme"
AUDIENCE = "registrum"


@dataclass(frozen=True)
class Signer:
    """A private key the provider signs with, under `kid`, with `alg`."""

    key: Key
    kid: str
    alg: str

    def jwk(self) -> dict[str, Any]:
        """The public JWK, as the provider's JWKS lists it."""
        return {**self.key.as_dict(private=False), "kid": self.kid, "use": "sig"}

    def pem(self) -> bytes:
        return self.key.as_pem(private=False)

    def mint(self, now: float, header: dict[str, Any] | None = None, **claims: Any) -> str:
        """A token signed by this key; claims default to a valid one for `now`; a claim or
        header field given as None is left out."""
        fields = {"alg": self.alg, "kid": self.kid, **(header or {})}
        return mint(self.key, {k: v for k, v in fields.items() if v is not None}, now, claims)


@functools.cache
def signer(name: str) -> Signer:
    """Named keys: rsa (kid rsa-1), rsa-impostor (another RSA key under kid rsa-1),
    rsa-next (kid rsa-2, after a rotation), ec (ES256), ed (EdDSA), ed-rfc9864 (Ed25519)."""
    if name == "rsa":
        return Signer(RSAKey.generate_key(2048), "rsa-1", "RS256")
    if name == "rsa-impostor":
        return Signer(RSAKey.generate_key(2048), "rsa-1", "RS256")
    if name == "rsa-next":
        return Signer(RSAKey.generate_key(2048), "rsa-2", "RS256")
    if name == "ec":
        return Signer(ECKey.generate_key("P-256"), "ec-1", "ES256")
    if name == "ed":
        return Signer(OKPKey.generate_key("Ed25519"), "ed-1", "EdDSA")
    if name == "ed-rfc9864":
        return Signer(OKPKey.generate_key("Ed25519"), "ed-2", "Ed25519")
    raise KeyError(name)


def claims_for(now: float, **overrides: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "Alice",
        "name": "Alice Liddell",
        "groups": ["Data-Science", "ML Ops"],
        "iat": int(now),
        "exp": int(now) + 300,
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def mint(key: Key, header: dict[str, Any], now: float, overrides: dict[str, Any]) -> str:
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", "EdDSA", SecurityWarning)  # joserfc on EdDSA
        return jwt.encode(header, claims_for(now, **overrides), key, algorithms=[header["alg"]])


def b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def segment(value: Any) -> str:
    return b64(json.dumps(value).encode())


def unsigned(now: float, signature: str = "") -> str:
    """An alg=none token: anyone can write one."""
    return f"{segment({'alg': 'none', 'typ': 'JWT'})}.{segment(claims_for(now))}.{signature}"


def hmac_with_public_key(public_pem: bytes, kid: str, now: float) -> str:
    """The key-confusion forgery: HS256 keyed with the issuer's public key bytes, which a
    verifier that let the token pick the algorithm would accept."""
    signing_input = f"{segment({'alg': 'HS256', 'kid': kid})}.{segment(claims_for(now))}"
    mac = hmac.new(public_pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{b64(mac)}"
