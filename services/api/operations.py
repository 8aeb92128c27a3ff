"""The API process's operations routes beside /health: readiness (can it serve?) and the
Prometheus metrics of the process."""

from __future__ import annotations

import asyncio
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, Request, Response

from services.observability import metrics
from services.registry.application import Registry

router = APIRouter(tags=["operations"])

# A check that takes longer than this counts as failed: a probe must answer in time.
CHECK_SECONDS = 2.0


@router.get(
    "/health/ready",
    response_model=dict[str, Any],
    responses={503: {"description": "A database does not answer, or the followers are down"}},
)
async def ready(request: Request) -> Response:
    """Whether this process can serve: its read pool and the event store answer, and in
    `registrum serve` the followers' process runs. 503 with what failed otherwise."""
    checks = dict(
        zip(
            ("views", "events"),
            await asyncio.gather(
                _check(_read_pool(request)),
                _check(asyncio.to_thread(_event_store, request.app.state.registry)),
            ),
            strict=True,
        )
    )
    followers = getattr(request.app.state, "followers", None)
    if followers is not None:
        checks["followers"] = followers()
    ok = all(v in ("ok", "running") for v in checks.values())
    body = {"status": "ready" if ok else "not_ready", "checks": checks}
    return Response(orjson.dumps(body), 200 if ok else 503, media_type="application/json")


async def _check(probe: Any) -> str:
    try:
        await asyncio.wait_for(probe, CHECK_SECONDS)
    except Exception as exc:  # the check's answer is the failure, named
        return f"failed: {type(exc).__name__}"
    return "ok"


async def _read_pool(request: Request) -> None:
    pool: asyncpg.Pool = request.app.state.read_pool
    async with pool.acquire() as conn:
        await conn.fetchval("SELECT 1")


def _event_store(registry: Registry) -> None:
    with registry.recorder.datastore.get_connection() as conn:  # type: ignore[attr-defined]
        conn.execute("SELECT 1")


@router.get(
    "/metrics",
    response_class=Response,
    responses={200: {"content": {"text/plain": {}}, "description": "Prometheus text format"}},
)
async def prometheus(request: Request) -> Response:
    """The process's metrics in Prometheus' text format: HTTP latency per route, commands
    by type and outcome, database pools, artefact bytes."""
    _pools(request)
    body, content_type = metrics.render()
    return Response(body, media_type=content_type)


def _pools(request: Request) -> None:
    """The pools' state now (read at scrape time: requests pay nothing for it)."""
    gauge = metrics.POOL_CONNECTIONS
    pool: asyncpg.Pool | None = getattr(request.app.state, "read_pool", None)
    if pool is not None:
        size = pool.get_size()
        gauge.labels("read", "size").set(size)
        gauge.labels("read", "in_use").set(size - pool.get_idle_size())
        gauge.labels("read", "max").set(pool.get_max_size())
    datastore = getattr(request.app.state.registry.recorder, "datastore", None)
    events = getattr(datastore, "pool", None)
    if events is not None:
        stats = events.get_stats()
        gauge.labels("events", "size").set(stats.get("pool_size", 0))
        gauge.labels("events", "in_use").set(
            stats.get("pool_size", 0) - stats.get("pool_available", 0)
        )
        gauge.labels("events", "max").set(stats.get("pool_max", 0))
