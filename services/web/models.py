"""A model's page: who holds production, its versions (filtered, ordered, paged), its
stage history as a timeline, and "what was in production on this date, and who
approved it"."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from fastapi import APIRouter, Query, Request, Response

from services.api.caller import readers
from services.api.params import ModelName, in_range
from services.api.reads import search_filter
from services.catalogue import decisions, queries
from services.catalogue.filters import MAX_FILTER, FilterError
from services.catalogue.search import search_versions
from services.web.catalogue import where
from services.web.reading import After, reading
from services.web.render import page
from services.web.session import VIEWER

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[VIEWER])

VERSIONS_PAGE = 100
METRIC_COLUMNS = 6


@router.get("/models/{name}")
async def model_page(
    name: ModelName,
    request: Request,
    filter: str | None = Query(None, max_length=MAX_FILTER),
    order_by: str | None = Query(None, max_length=MAX_FILTER),
    page_token: str | None = Query(None, max_length=MAX_FILTER),
    as_of: str | None = Query(None, max_length=40),
    after: str | None = After,
) -> Response:
    refused: FilterError | None = None
    found: dict[str, Any] = {"versions": [], "next_page_token": None}
    moment, moment_refused = _moment(as_of)
    then: dict[str, Any] | None = None
    async with reading(request, after) as (conn, s):
        model = await queries.get_model(conn, s, name, readers(request))
        try:
            found = await search_versions(
                conn,
                s.catalogue,
                model=name,
                filter_text=filter or None,
                order_by=order_by or "number DESC",
                limit=VERSIONS_PAGE,
                page_token=page_token or None,
                **search_filter(request, s),
            )
        except FilterError as error:
            refused = error
        history = await decisions.stage_changes(conn, s, model["id"])
        if moment is not None:
            then = await queries.stage_as_of(conn, s, name, "production", moment, readers(request))
    metrics = _metric_names(found["versions"])
    return page(
        request,
        "model.html",
        422 if refused else 200,
        model=model,
        found=found,
        metrics=metrics,
        filter=filter or "",
        order_by=order_by or "",
        refused=where(refused, filter or "", order_by or ""),
        history=history,
        as_of=as_of or "",
        as_of_refused=moment_refused,
        then=then,
    )


def _moment(text: str | None) -> tuple[datetime | None, str | None]:
    """The as-of time asked for (a date, or a date and time; UTC unless it says), or why
    it is not one."""
    if not text:
        return None, None
    try:
        return in_range(datetime.fromisoformat(text.strip())), None
    except ValueError:
        return None, f"{text!r} is not a date and time in the years 1-9999 (e.g. 2026-11-28T09:30)"


def _metric_names(versions: list[dict[str, Any]]) -> list[str]:
    """The metrics most versions on the page have, for columns."""
    counts: dict[str, int] = {}
    for v in versions:
        for key in v["metrics"]:
            counts[key] = counts.get(key, 0) + 1
    ranked = sorted(counts, key=lambda k: (-counts[k], k))
    return sorted(ranked[:METRIC_COLUMNS])
