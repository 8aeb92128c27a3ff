"""The HTTP entry point: FastAPI app over the registry application."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp

from services.api import errors, models, versions
from services.api.limits import BodyLimit
from services.registry.application import Registry


def create_app(registry: Registry, *, max_body_bytes: int = 2 * 1024 * 1024) -> ASGIApp:
    app = FastAPI(
        title="Registrum",
        version="0.1.0",
        description="An event-sourced model registry: the system of record for trained models.",
    )
    app.state.registry = registry
    errors.install(app)
    app.include_router(models.router)
    app.include_router(versions.router)

    @app.get("/health", tags=["operations"])
    def health(request: Request) -> dict[str, Any]:
        registry: Registry = request.app.state.registry
        return {"status": "ok", "position": registry.head_position()}

    return BodyLimit(app, max_body_bytes)
