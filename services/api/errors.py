"""One error body everywhere: {"error": {"code", "message", "details"}}.

Domain errors map to a status here and nowhere else.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

import asyncpg
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import BaseRoute, Match, Mount

from services.auth.identity import Unauthenticated
from services.mlflow import errors as mlflow_errors
from services.registry.domain.errors import (
    Conflict,
    DomainError,
    InvalidInput,
    NotFound,
    RuleBroken,
)

log = logging.getLogger(__name__)

STATUS: list[tuple[type[DomainError], int]] = [
    (InvalidInput, 422),
    (NotFound, 404),
    (Conflict, 409),
    (RuleBroken, 403),
]


class ApiError(Exception):
    """An HTTP-level refusal that is not a domain rule (a body too large, a removed
    header)."""

    def __init__(self, status: int, code: str, message: str, **details: Any) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.details = status, code, message, details


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def status_for(error: DomainError) -> int:
    for cls, status in STATUS:
        if isinstance(error, cls):
            return status
    return 400


def validation_details(errors: Sequence[Any]) -> list[dict[str, Any]]:
    """Where and what, never the input itself: it may be megabytes, or a secret."""
    return [
        {
            "loc": [str(part) for part in err.get("loc", ())],
            "msg": err.get("msg", ""),
            "type": err.get("type", ""),
        }
        for err in errors[:20]
    ]


METHODS = ("GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS")


def allowed_methods(request: Request) -> list[str]:
    """Every method some route takes at this path (Starlette's own Allow names only the
    methods of the first route whose path matched)."""
    # From the application's root: a mount (the MLflow API's) has moved root_path.
    root = request.scope.get("app_root_path", request.scope.get("root_path", ""))
    scope = {**request.scope, "root_path": root}
    return [m for m in METHODS if _takes(request.app.routes, {**scope, "method": m})]


def _takes(routes: list[BaseRoute], scope: dict[str, Any]) -> bool:
    """Whether a route among routes, or behind a mount among them, fully matches scope."""
    for route in routes:
        match, child = route.matches(scope)
        if match != Match.FULL:
            continue
        if not isinstance(route, Mount):
            return True
        if _takes(route.routes, {**scope, **child}):
            return True
    return False


def refusal(
    request: Request,
    code: str,
    message: str,
    details: Any,
    status: int,
    headers: dict[str, str] | None = None,
) -> JSONResponse:
    """One refusal, in our shape, or in MLflow's on the MLflow API's paths."""
    if mlflow_errors.speaks_mlflow(request):
        mlflow_code = mlflow_errors.translated(code, status)
        shaped, mlflow_status = mlflow_errors.body(mlflow_code, message, details)
        # A wrong method stays 405 (with Allow), whatever the code's usual status.
        return JSONResponse(shaped, 405 if status == 405 else mlflow_status, headers=headers)
    return JSONResponse(error_body(code, message, details), status, headers=headers)


def install(app: FastAPI) -> None:
    @app.exception_handler(DomainError)
    async def domain_error(request: Request, exc: DomainError) -> JSONResponse:
        return refusal(request, exc.code, exc.message, exc.details, status_for(exc))

    @app.exception_handler(mlflow_errors.MlflowError)
    async def mlflow_error(_: Request, exc: mlflow_errors.MlflowError) -> JSONResponse:
        shaped, status = mlflow_errors.body(exc.error_code, exc.message)
        return JSONResponse(shaped, status)

    @app.exception_handler(Unauthenticated)
    async def unauthenticated(request: Request, exc: Unauthenticated) -> JSONResponse:
        challenge = 'Bearer error="invalid_token"' if exc.reason != "missing" else "Bearer"
        return refusal(
            request,
            exc.code,
            exc.message,
            {"reason": exc.reason},
            401,
            headers={"WWW-Authenticate": challenge},
        )

    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> JSONResponse:
        return refusal(request, exc.code, exc.message, exc.details, exc.status)

    @app.exception_handler(asyncpg.UndefinedTableError)
    async def views_swapped(request: Request, exc: Exception) -> JSONResponse:
        # A view generation this process named a moment ago was dropped under the read
        # (two rebuilds within services/catalogue/recent.FRESH): forget it, ask again.
        # Logged whole, should a table be missing for another reason.
        log.warning("a view's table is gone under a read: %s", exc)
        recent = getattr(request.app.state, "recent_schemas", None)
        if recent is not None:
            recent.forget()
        message = "the views were rebuilt during the read; ask again"
        return refusal(request, "views_swapped", message, None, 503, {"Retry-After": "1"})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        details = validation_details(exc.errors())
        malformed = any(d["type"] == "json_invalid" for d in details)
        code = "malformed_json" if malformed else "invalid_input"
        message = "the body is not valid JSON" if malformed else "the request is invalid"
        body: dict[str, Any] = {"errors": details}
        where = [d["loc"] for d in details if len(d["loc"]) > 1]
        if where and where[0][0] in ("query", "path", "header"):
            # Names the parameter, as the search's own refusals do.
            body["parameter"] = where[0][1]
            message = f"{where[0][0]} parameter {where[0][1]}: {details[0]['msg']}"
        return refusal(request, code, message, body, 422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        if exc.status_code == 400:
            # FastAPI's only 400: a body it could not parse at all (nested too deep, ...).
            return refusal(
                request, "malformed_json", "the body could not be read as JSON", None, 422
            )
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            headers["Allow"] = ", ".join(allowed_methods(request))
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        if exc.status_code == 404 and mlflow_errors.speaks_mlflow(request):
            shaped, status = mlflow_errors.body(
                "ENDPOINT_NOT_FOUND", f"no MLflow endpoint {request.url.path}"
            )
            return JSONResponse(shaped, status)
        return refusal(request, code, str(exc.detail), None, exc.status_code, headers=headers)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unexpected error", exc_info=exc)
        return refusal(request, "internal", "an unexpected error; it was logged", None, 500)
