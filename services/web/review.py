"""The review queue: the approval requests the viewer may decide (reviewer on the model,
and not their own: the registry refuses self-approval), their own requests still open,
and approved requests the viewer may promote."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any

from fastapi import APIRouter, Request, Response

from services.api.caller import readers
from services.catalogue import decisions
from services.registry.domain.access import RELEASE, Permission, Target
from services.web.reading import After, reading
from services.web.render import page
from services.web.session import VIEWER

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[VIEWER])


@router.get("/review")
async def review_queue(request: Request, after: str | None = After) -> Response:
    async with reading(request, after) as (conn, s):
        pending = await decisions.open_requests(conn, s, readers(request))
        approved = await decisions.approved_unpromoted(conn, s, readers(request))
    me = request.state.caller.subject
    registry = request.app.state.registry
    viewer = request.state.caller

    def sort() -> dict[str, list[dict[str, Any]]]:
        def holds(permission: Permission, r: dict[str, Any]) -> bool:
            target = Target(model_id=r["model_id"], name=r["model"])
            return bool(registry.allowed(viewer, permission, target))

        return {
            "to_decide": [
                r
                for r in pending
                if r["requested_by"] != me
                and me not in [a["actor"] for a in r["approvals"]]
                and holds(Permission.REVIEW, r)
            ],
            "mine": [r for r in pending if r["requested_by"] == me],
            "to_promote": [
                r for r in approved if r["stage"] in RELEASE and holds(RELEASE[r["stage"]], r)
            ],
        }

    lists = await asyncio.to_thread(sort)
    return page(request, "review.html", 200, form_id=uuid.uuid4().hex, **lists)
