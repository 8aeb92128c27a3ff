"""What the routes take from paths, queries and headers, with the contract's value rules
(schemas/rules.py), and the error statuses each kind of route declares. FastAPI checks
these before a route runs (422) and puts them in the OpenAPI document."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Path, Query
from pydantic import AfterValidator, BeforeValidator

from schemas import rules as r
from schemas.errors import ErrorBody

# -- path ------------------------------------------------------------------------------

ModelName = Annotated[
    str,
    Path(
        min_length=1,
        max_length=r.MAX_NAME,
        pattern=r.NAME,
        description="The model's name: 1-256 characters; no '/', '@', control characters "
        "or outer spaces",
    ),
]


def digits(value: object) -> object:
    """Text from a path or query is a number only as plain ASCII digits (pydantic would
    also take " 3", "+3", "3.0" and "3_000")."""
    if isinstance(value, str):
        if not (value.isascii() and value.isdigit()):
            raise ValueError("a number is written in plain digits")
        return int(value)
    return value


VersionNumber = Annotated[
    int,
    Path(ge=1, le=r.MAX_INT, description="The version's number (1, 2, 3...)"),
    BeforeValidator(digits),
]
TagKey = Annotated[
    str,
    Path(
        min_length=1,
        max_length=r.MAX_TAG_KEY,
        pattern=r.PRINTABLE,
        description="1-250 characters without control characters; not '_type_'",
        json_schema_extra={"not": {"const": r.RESERVED_KEY}},
    ),
    AfterValidator(r.not_reserved),
]
AliasName = Annotated[
    str,
    Path(
        pattern=r.ALIAS,
        description="A letter, then up to 63 letters, digits, '_' or '-'; 'latest' and 'vN' "
        "are reserved",
        json_schema_extra={"not": {"pattern": r.RESERVED_ALIAS}},
    ),
    AfterValidator(r.not_reserved_alias),
]
RequestId = Annotated[
    str, Path(min_length=1, max_length=200, description="The approval request's id")
]
Digest = Annotated[str, Path(pattern=r.SHA256, description="sha256: 64 lowercase hex digits")]

# -- query ------------------------------------------------------------------------------

RFC3339 = (
    "^[0-9]{4}-[0-9]{2}-[0-9]{2}[Tt][0-9]{2}:[0-9]{2}:[0-9]{2}(?:[.][0-9]+)?"
    "(?:[Zz]|[+-][0-9]{2}:[0-9]{2})$"
)


def moment(value: object) -> object:
    """An RFC 3339 time (a leap second counts as the second before it); pydantic alone
    would also take a bare date or seconds since 1970."""
    if not isinstance(value, str) or not re.fullmatch(RFC3339, value):
        raise ValueError("an RFC 3339 time, e.g. 2026-11-01T12:00:00Z")
    text = value.replace("z", "Z").replace("t", "T").replace(":60", ":59", 1)
    try:
        return in_range(datetime.fromisoformat(text))
    except ValueError:
        raise ValueError("an RFC 3339 time, e.g. 2026-11-01T12:00:00Z") from None


def in_range(moment: datetime) -> datetime:
    """moment in UTC (a time without a zone is UTC), or ValueError when it falls outside
    the years 1-9999 once there (9999-12-31T23:59:59-01:00 does): PostgreSQL would refuse
    it mid-query."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    try:
        return moment.astimezone(UTC)
    except (OverflowError, ValueError):
        raise ValueError(f"{moment.isoformat()} is outside the years 1-9999 in UTC") from None


Moment = Annotated[
    datetime,
    Query(description="A moment, RFC 3339 (e.g. 2026-11-01T12:00:00Z)"),
    BeforeValidator(moment),
]
# Integers in a query are plain digits (pydantic alone would take " 3", "+3", "3.0").
PageOffset = Annotated[int, Query(ge=1, le=r.MAX_SAFE_INT), BeforeValidator(digits)]

# -- errors ----------------------------------------------------------------------------

_MEANINGS = {
    401: "Not authenticated: no credential, or one that is malformed, unknown, expired, "
    "revoked or not signed by a trusted key (details.reason says which)",
    403: "Forbidden: the caller's grants lack the permission (details.permission), or a "
    "rule refuses it: self-approval, promotion without an approved request...",
    404: "No such model, version, alias, request or artefact",
    409: "It conflicts with the current state: a taken name, an archived version, a "
    "reused command id, a position the log has not reached...",
    413: "The request body is too large",
    422: "The request is invalid: see details.errors or details.field",
    503: "The views did not reach the requested position in time",
}


def errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    """OpenAPI responses for these error statuses, each with the one error body."""
    return {status: {"model": ErrorBody, "description": _MEANINGS[status]} for status in statuses}


COMMAND_ERRORS = errors(401, 403, 404, 409, 413, 422)
READ_ERRORS = errors(401, 404, 409, 422, 503)
