"""Reads, served from the catalogue views (asyncpg), with read-your-writes.

Every read accepts a minimum position — the `min_position` query parameter or the
X-Registrum-Min-Position header, a number or "head" — and waits (bounded by `wait`
seconds) until the views have reached it.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BeforeValidator

from schemas.rules import MAX_URI, NO_NUL, LineageKind, StageName
from services.api.caller import CALLER, readers
from services.api.errors import ApiError
from services.api.params import (
    READ_ERRORS,
    AliasName,
    ModelName,
    Moment,
    PageOffset,
    VersionNumber,
    digits,
)
from services.catalogue import queries
from services.catalogue.filters import MAX_FILTER
from services.catalogue.queries import Schemas
from services.catalogue.search import MAX_PAGE, search_models, search_versions
from services.registry.domain.errors import Conflict, InvalidInput
from services.registry.domain.values import is_number

router = APIRouter(prefix="/api/v1", tags=["reads"], responses=READ_ERRORS, dependencies=[CALLER])


def fast(payload: Any) -> Response:
    """JSON by orjson, skipping FastAPI's generic encoder: a page of 1,000 versions is
    several times faster to send this way."""
    return Response(orjson.dumps(payload), media_type="application/json")


MIN_POSITION_HEADER = "X-Registrum-Min-Position"
MAX_WAIT = 30.0
POSITION = "^(?:head|[0-9]{1,18})$"
# Integers in a query are plain digits (pydantic alone would take " 3", "+3", "3.0").
Count = Annotated[int, BeforeValidator(digits)]


@asynccontextmanager
async def views(
    request: Request, min_position: str | None, wait: float
) -> AsyncIterator[tuple[Any, Schemas]]:
    wanted = min_position or request.headers.get(MIN_POSITION_HEADER)
    async with request.app.state.read_pool.acquire() as conn:
        if not wanted:
            yield conn, await request.app.state.recent_schemas.at_least(conn)
            return
        head = await asyncio.to_thread(request.app.state.registry.head_position)
        if wanted == "head":
            position = head
        elif is_number(wanted):
            position = int(wanted)
            if position > head:
                raise Conflict(
                    f"position {position} is not in the log (head {head})",
                    field="min_position",
                    head=head,
                )
        else:
            raise InvalidInput("min_position is a number or 'head'", field="min_position")
        try:
            schemas = await queries.wait_for(conn, position, wait)
        except queries.ViewsLagging as lag:
            raise ApiError(
                503, "views_lagging", str(lag), wanted=lag.wanted, reached=lag.reached
            ) from None
        yield conn, schemas


def search_filter(request: Request, s: Schemas) -> dict[str, Any]:
    """What a search needs to keep to what the caller may read."""
    return {"access": s.access, "who": readers(request)}


def _aware(moment: datetime) -> datetime:
    """A time without a zone is UTC."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


MinPosition = Query(
    None,
    pattern=POSITION,
    description="Wait until the views reach this log position (or 'head'); also the "
    "X-Registrum-Min-Position header. A position beyond the log's head is 409.",
)
Wait = Query(
    5.0,
    ge=0,
    le=MAX_WAIT,
    allow_inf_nan=False,
    description="How long to wait for min_position, in seconds",
)


Direction = Literal["upstream", "downstream"]
Depth = Query(3, ge=1, le=20, description="How many edges to follow")


class Page:
    """The filter, order and page of a search (query parameters)."""

    def __init__(
        self,
        filter: str | None = Query(
            None,
            max_length=MAX_FILTER,
            description="e.g. metrics.auc >= 0.9 AND tags.team = 'x' (a language: a filter "
            "that does not parse is 422 invalid_filter, naming where)",
        ),
        order_by: str | None = Query(
            None, max_length=MAX_FILTER, description="e.g. metrics.auc DESC"
        ),
        page_token: str | None = Query(
            None, max_length=MAX_FILTER, description="next_page_token of the previous page"
        ),
        limit: Count = Query(100, ge=1, le=MAX_PAGE),
    ) -> None:
        self.search: dict[str, Any] = {
            "filter_text": filter,
            "order_by": order_by,
            "page_token": page_token,
            "limit": limit,
        }


@router.get("/models")
async def list_models(
    request: Request,
    page: Page = Depends(),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast(
            await search_models(conn, s.catalogue, **page.search, **search_filter(request, s))
        )


@router.get("/versions")
async def search_all_versions(
    request: Request,
    page: Page = Depends(),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast(
            await search_versions(
                conn, s.catalogue, model=None, **page.search, **search_filter(request, s)
            )
        )


@router.get("/models/{name}")
async def get_model(
    name: ModelName, request: Request, min_position: str | None = MinPosition, wait: float = Wait
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast({"model": await queries.get_model(conn, s, name, readers(request))})


@router.get("/models/{name}/versions")
async def list_versions(
    name: ModelName,
    request: Request,
    stage: StageName | None = None,
    page: Page = Depends(),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        await queries.model_id(conn, s, name, readers(request))
        return fast(
            await search_versions(
                conn,
                s.catalogue,
                model=name,
                stage=stage,
                **page.search,
                **search_filter(request, s),
            )
        )


@router.get("/models/{name}/versions/{number}")
async def get_version(
    name: ModelName,
    number: VersionNumber,
    request: Request,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast({"version": await queries.get_version(conn, s, name, number, readers(request))})


@router.get("/models/{name}/aliases/{alias}")
async def resolve_alias(
    name: ModelName,
    alias: AliasName,
    request: Request,
    as_of: Moment | None = None,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        if as_of:
            return fast(
                await queries.alias_as_of(conn, s, name, alias, _aware(as_of), readers(request))
            )
        return fast(
            {"version": await queries.resolve_alias(conn, s, name, alias, readers(request))}
        )


@router.get("/models/{name}/stages/{stage}")
async def stage_holders(
    name: ModelName,
    stage: StageName,
    request: Request,
    as_of: Moment | None = None,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    """Which version(s) held stage at as_of, who promoted them and who approved."""
    moment = _aware(as_of) if as_of else datetime.now(UTC)
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.stage_as_of(conn, s, name, stage, moment, readers(request)))


@router.get("/models/{name}/timeline")
async def timeline(
    name: ModelName,
    request: Request,
    limit: Count = Query(100, ge=1, le=1000),
    page_token: PageOffset | None = None,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.timeline(conn, s, name, limit, page_token, readers(request)))


@router.get("/models/{name}/versions/{number}/lineage")
async def version_lineage(
    name: ModelName,
    number: VersionNumber,
    request: Request,
    direction: Direction = "upstream",
    depth: Count = Depth,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        version = await queries.get_version(conn, s, name, number, readers(request))
        return fast(
            await queries.lineage(
                conn, s, "model_version", version["id"], direction, depth, readers(request)
            )
        )


@router.get("/lineage")
async def lineage(
    request: Request,
    kind: LineageKind,
    id: str = Query(min_length=1, max_length=MAX_URI, pattern=NO_NUL),
    direction: Direction = "downstream",
    depth: Count = Depth,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    """Lineage from any node: e.g. kind=dataset&id=s3://data/2026-10&direction=downstream."""
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.lineage(conn, s, kind, id, direction, depth, readers(request)))
