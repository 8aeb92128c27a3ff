"""Who calls: every route but health and the API document authenticates its caller.

The credential is `Authorization: Bearer <API token or OIDC JWT>`, checked by the one
Authenticator (services/auth/authenticate.py) that the Kafka intake uses too. Missing or
invalid: 401 `unauthenticated` with the reason. No header names who acts.
"""

from __future__ import annotations

from fastapi import Depends, Request, Security
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from services.api.errors import ApiError
from services.auth.authenticate import bearer
from services.auth.identity import Principal
from services.registry.permissions import principals

REMOVED_HEADER = "X-Registrum-Actor"

_BEARER = HTTPBearer(
    auto_error=False,
    scheme_name="bearer",
    description="An API token (rgm_..., `registrum tokens create`) or an OIDC bearer JWT "
    "from the organisation's identity provider. Missing or invalid: 401 unauthenticated.",
)


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
    credential = bearer(request.headers.get("authorization"))
    principal = await request.app.state.authenticator.authenticate(credential, "api")
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
