"""The strip of recent promotions: a fragment the pages' script fetches every few
seconds (pages work without it)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.api.caller import readers
from services.catalogue import decisions
from services.web.reading import reading
from services.web.render import page
from services.web.session import VIEWER

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[VIEWER])


@router.get("/live")
async def recent_promotions(request: Request) -> Response:
    async with reading(request, None) as (conn, s):
        recent = await decisions.recent_promotions(conn, s, readers(request))
    return page(request, "live.html", recent=recent)
