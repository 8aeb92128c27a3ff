"""The catalogue: models, or versions across models, found with the filter language,
paged; a filter that does not parse is shown with where it went wrong."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Query, Request, Response

from services.api.reads import search_filter
from services.catalogue.filters import MAX_FILTER, FilterError
from services.catalogue.search import search_models, search_versions
from services.web.reading import After, reading
from services.web.render import page
from services.web.session import VIEWER

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[VIEWER])

PAGE = 50


@router.get("/")
async def catalogue(
    request: Request,
    of: Literal["models", "versions"] = "models",
    filter: str | None = Query(None, max_length=MAX_FILTER),
    order_by: str | None = Query(None, max_length=MAX_FILTER),
    page_token: str | None = Query(None, max_length=MAX_FILTER),
    after: str | None = After,
) -> Response:
    search: dict[str, Any] = {
        "filter_text": filter or None,
        "order_by": order_by or None,
        "page_token": page_token or None,
        "limit": PAGE,
    }
    found: dict[str, Any] = {"models": [], "versions": [], "next_page_token": None}
    refused: FilterError | None = None
    async with reading(request, after) as (conn, s):
        try:
            if of == "models":
                found = await search_models(
                    conn, s.catalogue, **search, **search_filter(request, s)
                )
            else:
                found = await search_versions(
                    conn, s.catalogue, model=None, **search, **search_filter(request, s)
                )
        except FilterError as error:
            refused = error
    return page(
        request,
        "catalogue.html",
        422 if refused else 200,
        of=of,
        filter=filter or "",
        order_by=order_by or "",
        found=found,
        refused=where(refused, filter or "", order_by or ""),
    )


def where(error: FilterError | None, filter: str, order_by: str) -> dict[str, Any] | None:
    """The refusal, and the text it is about split at the fault, to point at it."""
    if error is None:
        return None
    position = error.details.get("position")
    text = order_by if error.details.get("parameter") == "order_by" else filter
    refused: dict[str, Any] = {"message": error.message, "text": text, "at": None}
    if isinstance(position, int) and 1 <= position <= len(text) + 1:
        refused["at"] = (text[: position - 1], text[position - 1 :])
    return refused
