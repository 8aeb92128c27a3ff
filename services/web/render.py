"""Pages from templates: one Jinja2 environment that escapes everything it prints, and
the headers every console response carries (a Content-Security-Policy without inline
script or style, no framing, no sniffing, nothing cached)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from urllib.parse import quote

import jinja2
from fastapi import Request
from fastapi.responses import HTMLResponse, RedirectResponse
from markupsafe import Markup

from services.catalogue.cards.render import visible
from services.web.forms import form_token

TEMPLATES = Path(__file__).parent / "templates"
STATIC = Path(__file__).parent / "static"

POLICY = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:;"
    " connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = {
    "Content-Security-Policy": POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    # Pages show what one viewer may read: no shared cache keeps them.
    "Cache-Control": "no-store",
}


def _finalize(value: Any) -> Any:
    # Every {{ expression }} passes here before autoescape: control and bidi characters
    # in a stored name or description are shown as escapes, never acted on. Markup (a
    # macro's output, already escaped and made of our own markup) passes as it is.
    if isinstance(value, str) and not isinstance(value, Markup):
        return visible(value)
    return value


def when(value: str | datetime | None) -> str:
    """A stored time as people read it: 2026-11-28 09:30:12 UTC."""
    if value is None:
        return ""
    moment = datetime.fromisoformat(value) if isinstance(value, str) else value
    if moment.tzinfo is not None:
        moment = moment.astimezone(UTC)
    return moment.strftime("%Y-%m-%d %H:%M:%S UTC")


def size(value: int | None) -> str:
    """Bytes as people read them: 1.2 MB."""
    if value is None:
        return ""
    amount = float(value)
    for unit in ("B", "kB", "MB", "GB", "TB"):
        if amount < 1000 or unit == "TB":
            return f"{int(amount)} {unit}" if unit == "B" else f"{amount:.1f} {unit}"
        amount /= 1000
    return f"{value} B"  # pragma: no cover - the loop returns


def path(value: Any) -> str:
    """One URL path segment: a model name may hold / or ?."""
    return quote(str(value), safe="")


ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(TEMPLATES),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
ENV.filters.update(when=when, size=size, path=path)


def redirect(target: str) -> RedirectResponse:
    """A 303 to target, with the console's headers like every other answer of its."""
    return RedirectResponse(target, 303, headers=HEADERS)


def page(request: Request, template: str, status: int = 200, **context: Any) -> HTMLResponse:
    """The template rendered for the request's viewer (when signed in), with the
    console's headers."""
    viewer = getattr(request.state, "caller", None)
    body = ENV.get_template(template).render(
        viewer=viewer,
        lagging=getattr(request.state, "lagging", None),
        csrf=form_token(request),
        here=request.url.path,
        **context,
    )
    return HTMLResponse(body, status, headers=HEADERS)
