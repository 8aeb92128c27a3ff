"""The HTTP entry point: FastAPI app over the registry application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from services.api import errors, models, versions
from services.api.limits import BodyLimit
from services.registry.application import Registry


def create_app(registry: Registry, *, max_body_bytes: int = 2 * 1024 * 1024) -> ASGIApp:
    """The API over registry, refusing bodies over max_body_bytes."""
    app = build_fastapi()
    app.state.registry = registry
    return BodyLimit(app, max_body_bytes)


def build_fastapi() -> FastAPI:
    """The routes and error handlers, without a registry (enough for the OpenAPI document)."""
    app = FastAPI(
        title="Registrum",
        version="0.1.0",
        description="An event-sourced model registry: the system of record for trained models.",
    )
    errors.install(app)
    app.include_router(models.router)
    app.include_router(versions.router)

    @app.get("/health", tags=["operations"])
    def health(request: Request) -> dict[str, Any]:
        registry: Registry = request.app.state.registry
        return {"status": "ok", "position": registry.head_position()}

    return app
