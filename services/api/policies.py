"""The promotion policy over REST: publish a new version (owners of the registry), and read
every version published, or the one in force at a time."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter, Request, Response

from schemas import bodies as b
from schemas import commands as c
from services.api.caller import CALLER
from services.api.dispatch import dispatch, registry, sends
from services.api.params import COMMAND_ERRORS, Moment, errors

router = APIRouter(prefix="/api/v1/policies", tags=["policies"], dependencies=[CALLER])


@router.post("", status_code=201, **sends(c.PublishPolicy), responses=COMMAND_ERRORS)
def publish(body: b.PublishPolicyBody, request: Request) -> Response:
    """Makes the document the policy in force: a new version, unless it is the same text."""
    return dispatch(request, c.PublishPolicy, body)


@router.get("", responses=errors(401, 422))
async def published(request: Request, as_of: Moment | None = None) -> dict[str, Any]:
    """Every version published, newest first, and the one in force now (or at as_of)."""
    versions: list[dict[str, Any]] = await asyncio.to_thread(registry(request).policies)
    moment = as_of if as_of is None or as_of.tzinfo else as_of.replace(tzinfo=UTC)
    at = (moment or datetime.now(UTC)).isoformat()
    in_force = [v for v in versions if v["published_at"] <= at]
    return {
        "in_force": in_force[-1] if in_force else None,
        "as_of": at,
        "versions": list(reversed(versions)),
    }
