"""Who calls: every route but health and the API document authenticates its caller.

The credential is `Authorization: Bearer <API token or OIDC JWT>`, checked by the one
Authenticator (services/auth/authenticate.py) that the Kafka intake uses too. Missing or
invalid: 401 `unauthenticated` with the reason. No header names who acts.
"""

from __future__ import annotations

import asyncio
import base64

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.errors import ApiError
from services.auth import security_log
from services.auth.authenticate import bearer
from services.auth.identity import Principal, Unauthenticated
from services.registry.domain.access import Permission, Target
from services.registry.domain.errors import Forbidden
from services.registry.permissions import principals

REMOVED_HEADER = "X-Registrum-Actor"

_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token (rgm_..., `registrum tokens create`) or an OIDC bearer JWT "
    "from the organisation's identity provider. Missing or invalid: 401 unauthenticated.",
)


def presented(authorization: str | None) -> tuple[str | None, str | None]:
    """The credential in the Authorization header, and the user named with it: `Bearer
    <token>`, or `Basic base64(user:token)` as MLflow clients send it with
    MLFLOW_TRACKING_USERNAME and MLFLOW_TRACKING_PASSWORD."""
    if authorization is not None and authorization.strip().lower().startswith("basic "):
        try:
            decoded = base64.b64decode(authorization.strip()[6:], validate=True).decode()
        except (ValueError, UnicodeDecodeError):
            raise Unauthenticated("malformed", "the Basic credentials are not base64") from None
        user, colon, password = decoded.partition(":")
        if not colon or not password:
            raise Unauthenticated("malformed", "Basic credentials are user:token")
        return password, user
    return bearer(authorization), None


READS = frozenset({"GET", "HEAD", "OPTIONS"})  # the rest may write: their token read afresh


async def authenticated(
    request: Request,
    _: HTTPAuthorizationCredentials | None = Security(_BEARER),
) -> Principal:
    """The caller's principal (kept on request.state), or 401."""
    known: Principal | None = getattr(request.state, "caller", None)
    if known is not None:
        return known
    if REMOVED_HEADER in request.headers:
        raise ApiError(
            400,
            "actor_header_removed",
            f"{REMOVED_HEADER} no longer names who acts; send Authorization: Bearer <token>",
            header=REMOVED_HEADER,
        )
    credential, claimed = presented(request.headers.get("authorization"))
    principal = await request.app.state.authenticator.authenticate(
        credential, "api", fresh=request.method not in READS
    )
    if claimed is not None and claimed.strip().casefold() != principal.subject:
        # MLflow's MLFLOW_TRACKING_USERNAME/PASSWORD: the password is the API token, and
        # the user named must be the token's own subject, never someone else's name.
        security_log.record("unauthenticated", entrypoint="api", reason="user_mismatch")
        raise Unauthenticated(
            "user_mismatch", "the basic-auth user name is not the token's subject"
        )
    request.state.caller = principal
    return principal


# A dependency of every route that reads or writes the registry.
CALLER = Depends(authenticated)


def caller(request: Request) -> Principal:
    """The principal CALLER authenticated for this request."""
    principal: Principal = request.state.caller
    return principal


def readers(request: Request) -> list[str]:
    """The principal ids (user:..., group:...) whose grants decide what caller reads."""
    return principals(caller(request))


async def is_admin(request: Request, who: Principal) -> bool:
    """Whether who owns the registry (its administrators)."""
    registry = request.app.state.registry
    return bool(
        await asyncio.to_thread(registry.allowed, who, Permission.ADMINISTER, Target(registry=True))
    )


async def require_admin(request: Request, what: str) -> Principal:
    """The caller, when an administrator; else 403 forbidden (and the security log)."""
    me = caller(request)
    if not await is_admin(request, me):
        security_log.record("forbidden", subject=me.subject, action=what)
        raise Forbidden(
            f"{me.subject} may not {what}: administer on the registry is needed",
            permission=str(Permission.ADMINISTER),
            on="the registry",
            subject=me.subject,
        )
    return me
