"""The console's place in the API: its pages at /, its static files, and refusals on its
pages shown as pages (the API's own paths keep their JSON)."""

from __future__ import annotations

import functools
import inspect
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.responses import Response
from starlette.staticfiles import StaticFiles
from starlette.types import Receive, Scope, Send

from services.api.errors import ApiError, status_for
from services.auth.identity import Unauthenticated
from services.registry.domain.errors import DomainError
from services.web import (
    actions,
    catalogue,
    forms,
    live,
    models,
    oidc_login,
    review,
    session,
    sign_in,
    versions,
)
from services.web.oidc_client import IdentityProvider, LoginConfig
from services.web.reading import WAIT_SECONDS
from services.web.render import HEADERS, STATIC, page

TAG = "console"
Handler = Callable[[Request, Any], Response | Awaitable[Response]]


class _Static(StaticFiles):
    """The package's CSS and JavaScript, with the console's headers."""

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        async def with_headers(message: Any) -> None:
            if message["type"] == "http.response.start":
                message["headers"] = [
                    *message["headers"],
                    *(
                        (k.lower().encode(), v.encode())
                        for k, v in HEADERS.items()
                        if k != "Cache-Control"
                    ),
                    (b"cache-control", b"public, max-age=3600"),
                ]
            await send(message)

        await super().__call__(scope, receive, with_headers)


def console(
    login: LoginConfig | None = None,
    *,
    public_url: str | None = None,
    views_wait: float = WAIT_SECONDS,
) -> Callable[[FastAPI], None]:
    """What adds the console to an app (create_app's pages), with signing in at the
    organisation's identity provider when login is given; public_url: the registry's
    address as browsers reach it (REGISTRUM_PUBLIC_URL), when set; views_wait: how long a
    page after a form waits for the views before it is shown without its change."""
    return functools.partial(install, login=login, public_url=public_url, views_wait=views_wait)


def install(
    app: FastAPI,
    login: LoginConfig | None = None,
    *,
    public_url: str | None = None,
    views_wait: float = WAIT_SECONDS,
) -> None:
    """Adds the console to app (built by services.api.app.build_fastapi); login: the
    console as a client of the organisation's identity provider (None: tokens only);
    public_url: forms must come from its origin, and an https one makes the console's
    cookies Secure whatever scheme a request arrived by (a proxy ends TLS)."""
    app.state.oidc_login = IdentityProvider(login) if login is not None else None
    parts = urlsplit(public_url) if public_url else None
    app.state.public_origin = f"{parts.scheme}://{parts.netloc}" if parts else None
    app.state.console_tls = parts is not None and parts.scheme == "https"
    app.state.console_wait = views_wait
    for router in (
        sign_in.router,
        oidc_login.router,
        catalogue.router,
        models.router,
        versions.router,
        actions.router,
        review.router,
        live.router,
    ):
        app.include_router(router)
    app.mount("/static", _Static(directory=STATIC), name="static")

    app.add_exception_handler(session.SignInNeeded, _sign_in)  # type: ignore[arg-type]
    app.add_exception_handler(forms.FormRefused, _form_refused)  # type: ignore[arg-type]
    for kind, status, title in (
        (DomainError, None, None),
        (ApiError, None, "The registry cannot answer this now"),
        (Unauthenticated, 401, "Not signed in"),
        (RequestValidationError, 400, "This address is not valid"),
        (StarletteHTTPException, None, None),
        # Anything unforeseen: still a page with the console's headers (and still logged).
        (Exception, 500, "Something went wrong"),
    ):
        _on_pages(app, kind, status, title)


async def _answered(answer: Response | Awaitable[Response]) -> Response:
    return await answer if inspect.isawaitable(answer) else answer


# Paths that are the API's, whatever a client accepts: their refusals stay JSON.
API_PATHS = ("/api/", "/ajax-api/", "/health", "/metrics", "/openapi.json", "/docs", "/redoc")


def _is_console(request: Request) -> bool:
    """A console route's request, or a browser's (it asks for HTML) for a path no route
    has outside the API's: a mistyped address gets a page, not the API's JSON."""
    if TAG in getattr(request.scope.get("route"), "tags", ()):
        return True
    return (
        request.scope.get("route") is None
        and "text/html" in request.headers.get("accept", "")
        and not request.url.path.startswith(API_PATHS)
    )


async def _sign_in(request: Request, needed: session.SignInNeeded) -> Response:
    return session.sign_in_redirect(request, needed)


async def _form_refused(request: Request, refused: forms.FormRefused) -> Response:
    return page(request, "problem.html", 403, title="This form was refused", message=str(refused))


def _on_pages(app: FastAPI, kind: type[Exception], status: int | None, title: str | None) -> None:
    """Refusals of kind on a console page become a page; elsewhere the API's handler
    answers as before."""
    api: Handler = app.exception_handlers[kind]

    async def handle(request: Request, exc: Any) -> Response:
        if not _is_console(request):
            return await _answered(api(request, exc))
        code = status or _status(exc)
        if code >= 500 and not isinstance(exc, ApiError):
            await _answered(api(request, exc))  # the API's handler logs it
        return page(
            request,
            "problem.html",
            code,
            title=title or _TITLES.get(code, "This was refused"),
            message=_said(exc, code),
        )

    app.add_exception_handler(kind, handle)


_TITLES = {
    403: "Not allowed",
    404: "Not found",
    409: "This clashes with the registry's state",
    422: "Not valid",
    503: "The registry cannot answer this now",
}


def _said(exc: Any, code: int) -> str:
    """What a person is told: the refusal's own message, the first thing wrong in an
    address (never pydantic's raw dump), or for the unforeseen only that it was logged."""
    if isinstance(exc, RequestValidationError):
        first = exc.errors()[0] if exc.errors() else {}
        where = " ".join(str(part) for part in first.get("loc", ()))
        return f"{where}: {first.get('msg', 'not valid')}"
    if code >= 500 and not isinstance(exc, ApiError):
        return "an unexpected error; it was logged"
    return str(getattr(exc, "message", None) or getattr(exc, "detail", None) or exc)


def _status(exc: Any) -> int:
    if isinstance(exc, DomainError):
        return status_for(exc)
    status = getattr(exc, "status", None) or getattr(exc, "status_code", None)
    return int(status) if status else 400
