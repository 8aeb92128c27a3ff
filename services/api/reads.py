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
from typing import Any

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response

from services.api.errors import ApiError
from services.catalogue import queries
from services.catalogue.queries import Schemas
from services.catalogue.search import search_models, search_versions
from services.registry.domain.errors import InvalidInput
from services.registry.domain.values import check_alias, is_number, parse_stage

router = APIRouter(prefix="/api/v1", tags=["reads"])


def fast(payload: Any) -> Response:
    """JSON by orjson, skipping FastAPI's generic encoder: a page of 1,000 versions is
    several times faster to send this way."""
    return Response(orjson.dumps(payload), media_type="application/json")


MIN_POSITION_HEADER = "X-Registrum-Min-Position"
MAX_WAIT = 30.0


@asynccontextmanager
async def views(
    request: Request, min_position: str | None, wait: float
) -> AsyncIterator[tuple[Any, Schemas]]:
    wanted = min_position or request.headers.get(MIN_POSITION_HEADER)
    async with request.app.state.read_pool.acquire() as conn:
        if not wanted:
            yield conn, await queries.schemas(conn)
            return
        head = await asyncio.to_thread(request.app.state.registry.head_position)
        if wanted == "head":
            position = head
        elif is_number(wanted):
            position = int(wanted)
            if position > head:
                raise InvalidInput(
                    f"position {position} is not in the log (head {head})",
                    field="min_position",
                    head=head,
                )
        else:
            raise InvalidInput("min_position is a number or 'head'", field="min_position")
        if not 0 <= wait <= MAX_WAIT:
            raise InvalidInput(f"wait is between 0 and {MAX_WAIT} seconds", field="wait")
        try:
            schemas = await queries.wait_for(conn, position, wait)
        except queries.ViewsLagging as lag:
            raise ApiError(
                503, "views_lagging", str(lag), wanted=lag.wanted, reached=lag.reached
            ) from None
        yield conn, schemas


def _as_of(value: str) -> datetime:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput("as_of is an ISO 8601 time", field="as_of") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


MinPosition = Query(None, description="Wait until the views reach this position, or 'head'.")
Wait = Query(5.0, description="How long to wait for min_position, in seconds.")


class Page:
    """The filter, order and page of a search (query parameters)."""

    def __init__(
        self,
        filter: str | None = Query(None, description="e.g. metrics.auc >= 0.9 AND tags.team = 'x'"),
        order_by: str | None = Query(None, description="e.g. metrics.auc DESC"),
        page_token: str | None = None,
        limit: int = 100,
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
        return fast(await search_models(conn, s.catalogue, **page.search))


@router.get("/versions")
async def search_all_versions(
    request: Request,
    page: Page = Depends(),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast(await search_versions(conn, s.catalogue, model=None, **page.search))


@router.get("/models/{name}")
async def get_model(
    name: str, request: Request, min_position: str | None = MinPosition, wait: float = Wait
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast({"model": await queries.get_model(conn, s, name)})


@router.get("/models/{name}/versions")
async def list_versions(
    name: str,
    request: Request,
    stage: str | None = None,
    page: Page = Depends(),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    wanted = parse_stage(stage).value if stage else None
    async with views(request, min_position, wait) as (conn, s):
        await queries.model_id(conn, s, name)
        return fast(
            await search_versions(conn, s.catalogue, model=name, stage=wanted, **page.search)
        )


@router.get("/models/{name}/versions/{number}")
async def get_version(
    name: str,
    number: int,
    request: Request,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast({"version": await queries.get_version(conn, s, name, number)})


@router.get("/models/{name}/aliases/{alias}")
async def resolve_alias(
    name: str,
    alias: str,
    request: Request,
    as_of: str | None = Query(None, description="ISO 8601 time"),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    check_alias(alias)
    async with views(request, min_position, wait) as (conn, s):
        if as_of:
            return fast(await queries.alias_as_of(conn, s, name, alias, _as_of(as_of)))
        return fast({"version": await queries.resolve_alias(conn, s, name, alias)})


@router.get("/models/{name}/stages/{stage}")
async def stage_holders(
    name: str,
    stage: str,
    request: Request,
    as_of: str | None = Query(None, description="ISO 8601 time; now if unset"),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    """Which version(s) held stage at as_of, who promoted them and who approved."""
    wanted = parse_stage(stage)
    moment = _as_of(as_of) if as_of else datetime.now(UTC)
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.stage_as_of(conn, s, name, wanted.value, moment))


@router.get("/models/{name}/timeline")
async def timeline(
    name: str,
    request: Request,
    limit: int = Query(100, ge=1, le=1000),
    page_token: int | None = Query(None, ge=1),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.timeline(conn, s, name, limit, page_token))


@router.get("/models/{name}/versions/{number}/lineage")
async def version_lineage(
    name: str,
    number: int,
    request: Request,
    direction: str = "upstream",
    depth: int = 3,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        version = await queries.get_version(conn, s, name, number)
        return fast(
            await queries.lineage(conn, s, "model_version", version["id"], direction, depth)
        )


@router.get("/lineage")
async def lineage(
    request: Request,
    kind: str,
    id: str,
    direction: str = "downstream",
    depth: int = 3,
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    """Lineage from any node: e.g. kind=dataset&id=s3://data/2026-10&direction=downstream."""
    async with views(request, min_position, wait) as (conn, s):
        return fast(await queries.lineage(conn, s, kind, id, direction, depth))
