"""The HTTP entry point: FastAPI over the registry (writes) and the catalogue (reads)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine, Sequence
from contextlib import asynccontextmanager
from typing import Any

import asyncpg
import orjson
from fastapi import APIRouter, FastAPI, Request
from starlette.routing import Mount
from starlette.types import ASGIApp

from services.api import (
    access,
    cards,
    errors,
    health,
    mlflow_artifacts,
    mlflow_registry,
    models,
    operations,
    policies,
    reads,
    versions,
    webhooks,
)
from services.api import artifacts as artifacts_api
from services.api import audit as audit_api
from services.api import gc as gc_api
from services.api.limits import BodyLimit
from services.artifacts.port import ArtifactStore
from services.auth.authenticate import Authenticator
from services.catalogue import store
from services.catalogue.recent import RecentSchemas
from services.catalogue.views.all import VIEWS
from services.observability.requests import Observed
from services.registry.application import Registry
from services.webhooks.secrets import Cipher


def create_app(
    registry: Registry,
    read_dsn: str,
    *,
    authenticator: Authenticator,
    artifacts: ArtifactStore | None = None,
    background: Sequence[Callable[[asyncio.Event], Coroutine[Any, Any, None]]] = (),
    max_body_bytes: int = 2 * 1024 * 1024,
    max_artifact_bytes: int = 50 * 1024**3,
    artifact_gc_grace_hours: float = 24,
    events_dsn: str | None = None,
    followers: Callable[[], str] | None = None,
    expected_leases: tuple[str, ...] = (),
    max_lag_seconds: float = 30.0,
    access_log: bool = True,
    webhook_cipher: Cipher | None = None,
    webhook_allow_private_urls: bool = False,
    webhook_timeout_seconds: float = 5.0,
    pages: Callable[[FastAPI], None] | None = None,
) -> ASGIApp:
    """The API over registry and the views in read_dsn, its callers authenticated by
    authenticator. It runs the background runners it is given (serve passes the one that
    runs the followers' process) for as long as it serves; followers, when given, says
    how that process is ("running" or not), and /health answers 503 while it is not, or
    while nobody holds one of expected_leases, or a view lags more than max_lag_seconds.
    Every request is observed (services/observability/requests.py): request id, latency,
    an access log line unless access_log is off, a span when tracing is on.
    Artefact garbage collection reads the event log at events_dsn (default: read_dsn).
    Webhook secrets are sealed with webhook_cipher (without one, webhooks can be read and
    deleted, not created or tested). pages, when given, adds the web console (the
    composition root passes services.web.console.install: the API imports no page)."""

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        pool = await asyncpg.create_pool(
            read_dsn, min_size=1, max_size=10, init=_json_codec, reset=_keep_session
        )
        async with pool.acquire() as conn:
            await store.ensure(conn, list(VIEWS.values()))
        app.state.read_pool = pool
        app.state.recent_schemas = RecentSchemas()
        # The events database, for what the API keeps there itself (MLflow's artefact
        # paths); no connection until one is needed.
        app.state.events_pool = await asyncpg.create_pool(
            events_dsn or read_dsn, min_size=0, max_size=4
        )
        await authenticator.start()
        stop = asyncio.Event()
        runners = list(background)
        tasks = [asyncio.create_task(run(stop)) for run in runners]
        try:
            yield
        finally:
            stop.set()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, TimeoutError):
                    await asyncio.wait_for(task, timeout=10)
            await authenticator.aclose()
            await app.state.events_pool.close()
            await pool.close()

    app = build_fastapi(lifespan)
    if pages is not None:
        pages(app)
    app.state.registry = registry
    app.state.authenticator = authenticator
    app.state.artifacts = artifacts
    app.state.max_artifact_bytes = max_artifact_bytes
    app.state.artifact_gc_grace_hours = artifact_gc_grace_hours
    app.state.events_dsn = events_dsn or read_dsn
    app.state.followers = followers
    app.state.expected_leases = expected_leases
    app.state.max_lag_seconds = max_lag_seconds
    app.state.webhook_cipher = webhook_cipher
    app.state.webhook_allow_private_urls = webhook_allow_private_urls
    app.state.webhook_timeout_seconds = webhook_timeout_seconds
    return Observed(
        BodyLimit(
            app,
            max_body_bytes,
            unlimited=(artifacts_api.PREFIX,),
            puts_below=tuple(f"{p}/artifacts/" for p in mlflow_artifacts.PREFIXES),
        ),
        access=access_log,
    )


async def _relays(request: Request, head: int) -> dict[str, Any]:
    """How far each relay (to Kafka) lags behind the log; none before one ever ran."""
    async with request.app.state.read_pool.acquire() as conn:
        try:
            rows = await conn.fetch("SELECT name, position, updated_at FROM relay_positions")
        except asyncpg.UndefinedTableError:
            return {}
    return {
        r["name"]: {"position": r["position"], "events": max(head - r["position"], 0)} for r in rows
    }


async def _keep_session(conn: asyncpg.Connection) -> None:
    """What a read connection needs on its way back to the pool: nothing. The API's reads
    leave no session state (no LISTEN, session advisory lock or SET), so the round trip of
    asyncpg's default reset is saved on every request; an open transaction is still rolled
    back by asyncpg itself."""


async def _json_codec(conn: asyncpg.Connection) -> None:
    # jsonb columns arrive parsed by orjson: a page of versions has thousands of them.
    for kind in ("json", "jsonb"):
        await conn.set_type_codec(
            kind,
            schema="pg_catalog",
            decoder=orjson.loads,
            encoder=lambda v: v if isinstance(v, str) else orjson.dumps(v).decode(),
        )


def _mount_first(app: FastAPI, prefixes: Sequence[str], *routers: APIRouter) -> None:
    """routers' routes under each prefix, ahead of every other route. FastAPI matches an
    included router candidate by candidate, twice per request: an MLflow path behind the
    native API's routes cost ~120 us each time on this machine (issue 14's notes). A
    prefix is one regex, and the routes behind it are few. The routes keep the
    dependencies their routers give them (the caller's authentication)."""
    behind = APIRouter(routes=[route for router in routers for route in router.routes])
    for prefix in prefixes:
        app.router.routes.insert(0, Mount(prefix, app=behind))


def build_fastapi(lifespan: Any = None) -> FastAPI:
    """The routes and error handlers, without a registry (enough for the OpenAPI document)."""
    app = FastAPI(
        title="Registrum",
        version="0.1.0",
        description="An event-sourced model registry: the system of record for trained models.",
        lifespan=lifespan,
    )
    errors.install(app)
    app.include_router(models.router)
    app.include_router(versions.router)
    app.include_router(reads.router)
    app.include_router(cards.router)
    app.include_router(gc_api.router)
    app.include_router(artifacts_api.router)
    app.include_router(artifacts_api.versions_router)
    app.include_router(access.router)
    app.include_router(audit_api.router)
    app.include_router(policies.router)
    app.include_router(health.router)
    app.include_router(operations.router)
    app.include_router(webhooks.deliveries_router)
    _mount_first(app, mlflow_registry.PREFIXES, mlflow_registry.router, webhooks.router)
    _mount_first(app, mlflow_artifacts.PREFIXES, mlflow_artifacts.router)

    @app.get("/health/live", tags=["operations"])
    async def live() -> dict[str, str]:
        """Whether the process answers at all: no database, no work (a liveness probe,
        and the floor a read's round trip is measured against)."""
        return {"status": "ok"}

    return app
