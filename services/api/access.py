"""/api/v1: who am I, API tokens, and grants.

Grants are commands (GrantRole, RevokeRole) like any other: the dispatcher checks that the
caller owns the scope. Tokens are credentials, not registry state: an administrator (owner
of the registry) issues and lists them; a subject lists and revokes its own. Issuing and
revoking are written to the security log.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any

from fastapi import APIRouter, Path, Query, Request, Response

from schemas import bodies as b
from schemas import commands as c
from schemas import rules as r
from services.api.caller import CALLER, caller, is_admin, readers, require_admin
from services.api.dispatch import dispatch, sends
from services.api.errors import ApiError
from services.api.params import COMMAND_ERRORS, READ_ERRORS, Moment, errors
from services.api.reads import fast, views
from services.auth import security_log, tokens
from services.auth.identity import BadSubject, normalise

router = APIRouter(prefix="/api/v1", tags=["access"], dependencies=[CALLER])

TokenId = Annotated[str, Path(min_length=1, max_length=40, pattern="^(?:rgm_)?[a-z2-7]{12}$")]


@router.get("/whoami", responses=errors(401))
async def whoami(request: Request) -> dict[str, Any]:
    """The authenticated caller: its stable subject, display name, kind, groups and the
    grants it holds (directly or through a group)."""
    me = caller(request)
    grants = await asyncio.to_thread(request.app.state.registry.grants_of, me)
    return {
        "subject": me.subject,
        "display_name": me.display_name,
        "kind": me.kind,
        "groups": sorted(me.groups),
        "via": me.via,
        "credential": me.credential,
        "grants": [
            {"principal": g["principal"], "role": g["role"], "scope": g["scope"]} for g in grants
        ],
    }


# -- grants ------------------------------------------------------------------------------


@router.post("/grants", status_code=201, responses=COMMAND_ERRORS, **sends(c.GrantRole))
def grant_role(body: b.GrantBody, request: Request) -> Response:
    """Gives a role to user:ID or group:NAME on the registry, a model or a name prefix."""
    return dispatch(request, c.GrantRole, body)


@router.post("/grants/revoke", responses=COMMAND_ERRORS, **sends(c.RevokeRole))
def revoke_role(body: b.GrantBody, request: Request) -> Response:
    return dispatch(request, c.RevokeRole, body)


@router.get("/grants", responses=READ_ERRORS)
async def list_grants(
    request: Request,
    principal: r.Principal | None = Query(None, description="Only this principal's"),
    as_of: Moment | None = Query(None, description="The grants in force at this time"),
) -> Response:
    """Grants in force (now, or at as_of): every grant for the registry's owners, one's
    own (and one's groups') for anyone else."""
    me = caller(request)
    admin = await is_admin(request, me)
    mine = readers(request)
    async with views(request, None, 5.0) as (conn, s):
        rows = await conn.fetch(
            f"SELECT principal, role, scope, granted_by, valid_from, valid_to, revoked_by"
            f" FROM {s.access}.grants WHERE ($1::text IS NULL OR principal = $1)"
            " AND ($2 OR principal = ANY($3::text[]))"
            " AND valid_from <= coalesce($4, now())"
            " AND (valid_to IS NULL OR valid_to > coalesce($4, now()))"
            " ORDER BY principal, role, scope",
            _principal(principal),
            admin,
            mine,
            as_of.astimezone(UTC) if as_of and as_of.tzinfo else as_of,
        )
    return fast(
        {
            "grants": [
                {
                    **dict(row),
                    "valid_from": row["valid_from"].isoformat(),
                    "valid_to": row["valid_to"].isoformat() if row["valid_to"] else None,
                }
                for row in rows
            ]
        }
    )


def _principal(value: str | None) -> str | None:
    if value is None:
        return None
    kind, _, name = value.partition(":")
    try:
        return f"{kind}:{normalise(name)}"
    except BadSubject as error:
        raise ApiError(422, "invalid_input", str(error), parameter="principal") from None


# -- tokens ------------------------------------------------------------------------------


@router.post("/tokens", status_code=201, responses=errors(401, 403, 422))
async def create_token(body: b.TokenRequest, request: Request) -> dict[str, Any]:
    """Issues an API token; the secret is in this answer and nowhere else, ever."""
    me = await require_admin(request, "issue tokens")
    try:
        subject = normalise(body.subject)
        groups = [normalise(g, "group") for g in body.groups]
    except BadSubject as error:
        raise ApiError(422, "invalid_input", str(error), field="subject") from None
    issued = tokens.issue(
        subject,
        display_name=body.display_name or body.subject,
        kind=body.kind,
        lifetime=timedelta(days=body.expires_in_days),
        created_by=me.subject,
        groups=groups,
        description=body.description,
    )
    await request.app.state.authenticator.store.add(issued.record)
    security_log.record(
        "token_issued",
        level=logging.INFO,
        subject=me.subject,
        token=issued.record.shown_id,
        owner=subject,
        kind=body.kind,
    )
    return {"token": issued.secret, **issued.record.public()}


@router.get("/tokens", responses=errors(401, 422))
async def list_tokens(
    request: Request,
    subject: r.Subject | None = Query(None, description="Only this subject's (owners)"),
) -> dict[str, Any]:
    """Tokens without their secrets: all of them for the registry's owners, one's own for
    anyone else."""
    me = caller(request)
    wanted = normalise(subject) if subject else None
    if not await is_admin(request, me):
        wanted = me.subject
    found = await request.app.state.authenticator.store.listed(wanted)
    return {"tokens": [record.public() for record in found]}


@router.delete("/tokens/{token_id}", responses=errors(401, 403, 404))
async def revoke_token(token_id: TokenId, request: Request) -> dict[str, Any]:
    """Revokes a token: every API process and the intake refuse its next command at once,
    and its next read as soon as they hear the revocation (milliseconds)."""
    me = caller(request)
    store = request.app.state.authenticator.store
    record = await store.find(tokens.token_id_of(token_id))
    if record is None or (record.subject != me.subject and not await is_admin(request, me)):
        # A token that is not one's own is "not found" to all but administrators.
        raise ApiError(404, "not_found", f"no token {token_id}", token=token_id)
    revoked = await store.revoke(record.token_id, me.subject, datetime.now(UTC))
    security_log.record(
        "token_revoked", level=logging.INFO, subject=me.subject, token=record.shown_id
    )
    return revoked.public() if revoked else record.public()
