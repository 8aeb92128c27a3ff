"""The one component every entrypoint asks who a credential stands for.

REST takes the credential from `Authorization: Bearer ...`, a Kafka command message from
its `authorization` header; both hand it here. An API token (`rgm_...`) is looked up in
the token store on every use; anything shaped like a JWT goes to the OIDC verifier when
one is configured. Refusals are logged to the security log, never with the credential.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Protocol

from services.auth import security_log, tokens
from services.auth.identity import Principal, Unauthenticated


class Verifier(Protocol):
    """Checks an OIDC bearer JWT (services/auth/oidc.py)."""

    async def verify(self, token: str) -> Principal: ...


def bearer(authorization: str | None) -> str | None:
    """The credential of an `Authorization: Bearer <credential>` header, if any."""
    if authorization is None:
        return None
    scheme, _, credential = authorization.strip().partition(" ")
    if scheme.lower() != "bearer" or not credential.strip():
        raise Unauthenticated("malformed", "the Authorization header is not 'Bearer <token>'")
    return credential.strip()


def _now() -> datetime:
    return datetime.now(UTC)


class Authenticator:
    def __init__(
        self,
        store: tokens.TokenStore,
        oidc: Verifier | None = None,
        *,
        clock: Callable[[], datetime] = _now,
    ) -> None:
        self.store = store
        self.oidc = oidc
        self.clock = clock

    async def start(self) -> None:
        """Prepares the token store (its table, its connections)."""
        await self.store.setup()

    async def aclose(self) -> None:
        close = getattr(self.store, "close", None)
        if close is not None:
            await close()
        closing = getattr(self.oidc, "aclose", None)
        if closing is not None:
            await closing()

    async def authenticate(
        self, credential: str | None, entrypoint: str = "api", *, fresh: bool = False
    ) -> Principal:
        """The principal credential stands for, or Unauthenticated saying why not. fresh:
        an API token's record is read now, not from a cache (for writes)."""
        try:
            return await self._authenticate(credential, fresh)
        except Unauthenticated as refused:
            # The id part of an API token is not secret; the rest is never logged.
            security_log.record(
                "unauthenticated",
                entrypoint=entrypoint,
                reason=refused.reason,
                token=_shown_id(credential),
            )
            raise

    async def _authenticate(self, credential: str | None, fresh: bool) -> Principal:
        if not credential:
            raise Unauthenticated(
                "missing", "authenticate with an API token or an OIDC bearer token"
            )
        if tokens.looks_like_token(credential):
            token_id, secret = tokens.split(credential)
            record = await self.store.find(token_id, fresh=fresh)
            return tokens.verify(record, secret, self.clock())
        if credential.count(".") == 2:
            if self.oidc is None:
                raise Unauthenticated("malformed", "this registry accepts no OIDC tokens")
            return await self.oidc.verify(credential)
        raise Unauthenticated("malformed", "the credential is neither an API token nor a JWT")


def _shown_id(credential: str | None) -> str | None:
    if credential and tokens.looks_like_token(credential):
        token_id = credential[len(tokens.PREFIX) :].partition("_")[0]
        return f"{tokens.PREFIX}{token_id[:12]}"
    return None
