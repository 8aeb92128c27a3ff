"""Who acts: an authenticated principal, and the error that says a credential is no good.

A principal's subject is a normalised, stable id (NFKC, case-folded): rules, grants and
events use it. Its display name is for people and never decides anything.
"""

from __future__ import annotations

import unicodedata
from dataclasses import dataclass, field
from typing import Any, Literal

Kind = Literal["user", "service"]
Via = Literal["token", "oidc", "system"]

MAX_SUBJECT = 200


class Unauthenticated(Exception):
    """A credential is missing, malformed, expired, revoked or not signed by a trusted key.

    `reason` is a short, stable word for clients and the security log (missing, malformed,
    unknown_token, revoked, expired, not_yet_valid, bad_signature, alg_not_allowed,
    unknown_kid, wrong_issuer, wrong_audience, no_subject, keys_unavailable; bad_nonce from
    the console's OIDC sign-in); the message says it for a person and never echoes the
    credential.
    """

    code = "unauthenticated"

    def __init__(self, reason: str, message: str) -> None:
        super().__init__(message)
        self.reason = reason
        self.message = message


class BadSubject(ValueError):
    """A subject or group name that cannot be normalised into a stable id."""


def normalise(value: Any, what: str = "subject") -> str:
    """The stable id of a subject or group: NFKC, case-folded, no surrounding spaces, no
    control or invisible characters, 1-200 characters. "Alice" and "ALICE" are one id."""
    if not isinstance(value, str):
        raise BadSubject(f"a {what} is a string")
    # The length is the sent id's: folding may lengthen it ("ß" is "ss").
    if not value.strip() or len(value) > MAX_SUBJECT:
        raise BadSubject(f"a {what} is 1-{MAX_SUBJECT} characters")
    folded = unicodedata.normalize("NFKC", value).casefold().strip()
    # The contract's control characters (schemas/rules.py CONTROLS): control, format,
    # surrogate and private-use.
    if not folded or any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in folded):
        raise BadSubject(f"a {what} has no control or invisible characters")
    return folded


@dataclass(frozen=True)
class Principal:
    """An authenticated subject: who it is, whether a person or a pipeline, its groups."""

    subject: str
    display_name: str
    kind: Kind = "user"
    groups: frozenset[str] = field(default_factory=frozenset)
    via: Via = "token"
    credential: str | None = None  # the token id, or the JWT's issuer; never a secret

    @property
    def is_service(self) -> bool:
        return self.kind == "service"
