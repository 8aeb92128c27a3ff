"""The pure parts of the console's OIDC sign-in (authorization code flow with PKCE):
the verifier and its S256 challenge, the short-lived cookie that carries one sign-in
attempt from the redirect to the IdP to its callback, and reading a token's claims.

Nothing is kept on the server (any API process may serve the callback), so an attempt
lives in a cookie. It needs no signature: the state it holds is random, and the callback
goes on only when the `state` the IdP sends back equals the cookie's. Another site can
neither read the cookie (HttpOnly) nor set it, so it cannot make a browser finish a
sign-in that browser did not start (login CSRF)."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
import secrets
from dataclasses import asdict, dataclass
from typing import Any

ATTEMPT_COOKIE = "registrum_oidc"
ATTEMPT_PATH = "/sign-in/oidc"
ATTEMPT_SECONDS = 600  # time enough to type a password and answer a second factor
_MAX_COOKIE = 3000  # ours is ~300 bytes; refuse anything far larger unread


class AttemptRefused(Exception):
    """The callback does not belong to a sign-in this browser started (or it expired)."""


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def challenge(verifier: str) -> str:
    """RFC 7636's S256 code challenge of verifier: BASE64URL(SHA256(ASCII(verifier)))."""
    return _b64(hashlib.sha256(verifier.encode("ascii")).digest())


@dataclass(frozen=True)
class Attempt:
    """One sign-in started in this browser: what the callback must see again (state),
    what the id_token must carry (nonce), what proves the code is ours (verifier), and
    where to go after (next, a path on this site)."""

    state: str
    nonce: str
    verifier: str
    next: str
    started: int

    @classmethod
    def new(cls, next_path: str, now: float) -> Attempt:
        # 32 random bytes: 43 characters, RFC 7636's shortest verifier and plenty for
        # state and nonce.
        return cls(
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            verifier=secrets.token_urlsafe(32),
            next=next_path,
            started=int(now),
        )

    def cookie(self) -> str:
        """The cookie's value: URL-safe base64 of JSON, no characters a cookie forbids."""
        return _b64(json.dumps(asdict(self), separators=(",", ":")).encode())

    @classmethod
    def from_cookie(cls, value: str | None, now: float) -> Attempt:
        """The attempt a cookie holds; AttemptRefused when there is none, it cannot be
        read, or it is older than ATTEMPT_SECONDS."""
        if not value:
            raise AttemptRefused(
                "this sign-in was not started in this browser, or took too long; start again"
            )
        if len(value) > _MAX_COOKIE:
            raise AttemptRefused("this sign-in's cookie cannot be read; start again")
        try:
            fields = json.loads(_unb64(value))
            attempt = cls(**{k: fields[k] for k in cls.__dataclass_fields__})
        except (binascii.Error, ValueError, TypeError, KeyError):
            raise AttemptRefused("this sign-in's cookie cannot be read; start again") from None
        strings = (attempt.state, attempt.nonce, attempt.verifier, attempt.next)
        if not all(isinstance(s, str) and s for s in strings) or not isinstance(
            attempt.started, int
        ):
            raise AttemptRefused("this sign-in's cookie cannot be read; start again")
        if not 0 <= now - attempt.started <= ATTEMPT_SECONDS:
            raise AttemptRefused("this sign-in took too long; start again")
        return attempt

    def check_state(self, returned: str | None) -> None:
        """AttemptRefused unless the IdP sent back this attempt's state."""
        if not returned or not hmac.compare_digest(returned.encode(), self.state.encode()):
            raise AttemptRefused(
                "the answer from the identity provider does not belong to the sign-in "
                "started in this browser; start again"
            )


def claims(token: str) -> dict[str, Any]:
    """A JWT's claims, read without checking its signature: only for a token that was
    verified already, or that came straight from the token endpoint over TLS (OIDC Core
    3.1.3.7: TLS may stand in for the id_token's signature then). {} when unreadable."""
    parts = token.split(".")
    if len(parts) != 3:
        return {}
    try:
        value = json.loads(_unb64(parts[1]))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return {}
    return value if isinstance(value, dict) else {}


def audiences(token: str) -> tuple[str, ...]:
    """The audiences a JWT names (aud is a string or a list of them)."""
    aud = claims(token).get("aud")
    if isinstance(aud, str):
        return (aud,)
    if isinstance(aud, list):
        return tuple(a for a in aud if isinstance(a, str))
    return ()
