"""API tokens for people and service accounts (pipelines).

A token is `rgm_<id>_<secret>`: the id is visible (listed, logged, revoked by), the secret
is 256 random bits shown once and kept only as its SHA-256 (a slow hash adds nothing to a
secret of that strength). Each token has an owner (a normalised subject), a display name,
a kind (user or service), optional groups, an expiry, and may be revoked. Tokens live in
the event store's database, so a revocation holds for every API process at once.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from typing import Protocol

from services.auth.identity import Kind, Principal, Unauthenticated

PREFIX = "rgm_"
_ID_ALPHABET = "abcdefghijklmnopqrstuvwxyz234567"
MAX_LIFETIME = timedelta(days=2 * 366)


@dataclass(frozen=True)
class TokenRecord:
    """What is kept of a token: never its secret."""

    token_id: str
    secret_sha256: bytes
    subject: str
    display_name: str
    kind: Kind
    expires_at: datetime
    created_by: str
    created_at: datetime
    groups: tuple[str, ...] = ()
    description: str = ""
    revoked_at: datetime | None = None
    revoked_by: str | None = None
    # A console session's: the token it was opened with (revoking that revokes this).
    parent_id: str | None = None

    @property
    def shown_id(self) -> str:
        return f"{PREFIX}{self.token_id}"

    def public(self) -> dict[str, object]:
        """What listing a token shows."""
        return {
            "id": self.shown_id,
            "subject": self.subject,
            "display_name": self.display_name,
            "kind": self.kind,
            "groups": list(self.groups),
            "description": self.description,
            "created_by": self.created_by,
            "created_at": self.created_at.isoformat(),
            "expires_at": self.expires_at.isoformat(),
            "revoked_at": self.revoked_at.isoformat() if self.revoked_at else None,
            "revoked_by": self.revoked_by,
            "session_of": f"{PREFIX}{self.parent_id}" if self.parent_id else None,
        }


@dataclass(frozen=True)
class Issued:
    """A new token: the secret, to be shown once, and its record."""

    secret: str
    record: TokenRecord = field(repr=False)


def _digest(secret: str) -> bytes:
    return hashlib.sha256(secret.encode()).digest()


def issue(
    subject: str,
    *,
    display_name: str,
    kind: Kind,
    lifetime: timedelta,
    created_by: str,
    groups: Sequence[str] = (),
    description: str = "",
    now: datetime | None = None,
    parent_id: str | None = None,
) -> Issued:
    """A fresh random token for subject (already normalised); parent_id: the token a
    console session is opened with."""
    if not timedelta(0) < lifetime <= MAX_LIFETIME:
        raise ValueError(f"a token lives between a second and {MAX_LIFETIME.days} days")
    now = now or datetime.now(UTC)
    token_id = "".join(secrets.choice(_ID_ALPHABET) for _ in range(12))
    secret = secrets.token_urlsafe(32)
    record = TokenRecord(
        token_id=token_id,
        secret_sha256=_digest(secret),
        subject=subject,
        display_name=display_name,
        kind=kind,
        expires_at=now + lifetime,
        created_by=created_by,
        created_at=now,
        groups=tuple(sorted(set(groups))),
        description=description,
        parent_id=parent_id,
    )
    return Issued(f"{PREFIX}{token_id}_{secret}", record)


def looks_like_token(credential: str) -> bool:
    return credential.startswith(PREFIX)


def split(credential: str) -> tuple[str, str]:
    """(token id, secret) of a credential that looks like a token."""
    body = credential[len(PREFIX) :]
    token_id, sep, secret = body.partition("_")
    if not sep or len(token_id) != 12 or not secret or len(secret) > 100:
        raise Unauthenticated("malformed", "the API token is malformed")
    return token_id, secret


def token_id_of(shown: str) -> str:
    """The id of a token as listed (rgm_<id>) or as bare id."""
    return shown[len(PREFIX) :] if shown.startswith(PREFIX) else shown


def verify(record: TokenRecord | None, secret: str, now: datetime) -> Principal:
    """The principal a token stands for, or Unauthenticated (one message for an unknown id
    and a wrong secret, so neither can be probed)."""
    if record is None or not hmac.compare_digest(record.secret_sha256, _digest(secret)):
        raise Unauthenticated("unknown_token", "the API token is not known")
    if record.revoked_at is not None:
        raise Unauthenticated("revoked", f"the API token {record.shown_id} was revoked")
    if now >= record.expires_at:
        raise Unauthenticated("expired", f"the API token {record.shown_id} has expired")
    return Principal(
        subject=record.subject,
        display_name=record.display_name,
        kind=record.kind,
        groups=frozenset(record.groups),
        via="token",
        credential=record.shown_id,
    )


class TokenStore(Protocol):
    """Where token records live. Contract: tests/integration/test_token_store_contract.py."""

    async def setup(self) -> None:
        """Creates what the store needs; harmless to repeat."""

    async def add(self, record: TokenRecord) -> None: ...

    async def find(self, token_id: str, *, fresh: bool = False) -> TokenRecord | None:
        """The record as stored. fresh: read it now, never from a cache (writes ask so: a
        command under a token revoked a moment ago in another process is refused)."""

    async def listed(self, subject: str | None = None) -> list[TokenRecord]:
        """Every token, or subject's, newest first."""

    async def revoke(self, token_id: str, by: str, at: datetime) -> TokenRecord | None:
        """Marks the token revoked, and the console sessions opened with it, at once (once:
        a second revocation keeps the first's time and author); None when there is no such
        token."""

    async def prune_sessions(self, expired_before: datetime) -> int:
        """Deletes the console sessions that expired before expired_before (the security
        log keeps who opened them, when); returns how many."""


class MemoryTokenStore:
    """Tokens in a dict: for unit tests and the in-memory registry."""

    def __init__(self) -> None:
        self.records: dict[str, TokenRecord] = {}

    async def setup(self) -> None:
        return None

    async def add(self, record: TokenRecord) -> None:
        if record.token_id in self.records:
            raise ValueError(f"token id {record.token_id} exists")
        self.records[record.token_id] = record

    async def find(self, token_id: str, *, fresh: bool = False) -> TokenRecord | None:
        return self.records.get(token_id)

    async def listed(self, subject: str | None = None) -> list[TokenRecord]:
        found = [r for r in self.records.values() if subject is None or r.subject == subject]
        return sorted(found, key=lambda r: r.created_at, reverse=True)

    async def revoke(self, token_id: str, by: str, at: datetime) -> TokenRecord | None:
        if token_id not in self.records:
            return None
        for key, record in list(self.records.items()):
            if (key == token_id or record.parent_id == token_id) and record.revoked_at is None:
                self.records[key] = replace(record, revoked_at=at, revoked_by=by)
        return self.records[token_id]

    async def prune_sessions(self, expired_before: datetime) -> int:
        old = [
            key
            for key, r in self.records.items()
            if r.parent_id is not None and r.expires_at < expired_before
        ]
        for key in old:
            del self.records[key]
        return len(old)
