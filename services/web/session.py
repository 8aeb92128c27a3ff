"""Who views: a signed-in browser sends the viewer's own credential (an API token, or
the OIDC token their sign-in produced) in an HttpOnly, SameSite=Strict cookie, and every
request authenticates it through the same Authenticator as the API. So a revoked or
expired token ends the session at once for writes and within the cache's milliseconds
for reads, exactly as it does for the API, and a page acts only with its viewer's rights.
Nothing about a session is kept on the server: any API process serves any page."""

from __future__ import annotations

from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.api.caller import READS
from services.auth.identity import Principal, Unauthenticated
from services.web.forms import SESSION_COOKIE

SESSION_SECONDS = 8 * 3600  # the cookie's life; the token's own may end sooner


class SignInNeeded(Exception):
    """The page needs a signed-in viewer; reason says why the last session ended."""

    def __init__(self, back_to: str, reason: str | None = None) -> None:
        super().__init__(reason or "sign in to see this page")
        self.back_to = back_to
        self.reason = reason


def _back_to(request: Request) -> str:
    """Where to come back to after signing in: this page, or for a form, its page."""
    if request.method in READS:
        query = f"?{request.url.query}" if request.url.query else ""
        return request.url.path + query
    return safe_next(urlsplit(request.headers.get("referer", "/")).path)


def safe_next(target: str | None) -> str:
    """A path on this site, never another site (an open redirect): /x but not //x, nor
    /<tab>/x (browsers drop tabs and newlines from a URL, which makes that //x)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in target):
        return "/"
    return target


async def viewer(request: Request) -> Principal:
    """The signed-in viewer, authenticated afresh for anything but a read."""
    credential = request.cookies.get(SESSION_COOKIE)
    if not credential:
        raise SignInNeeded(_back_to(request))
    try:
        principal = await request.app.state.authenticator.authenticate(
            credential, "web", fresh=request.method not in READS
        )
    except Unauthenticated as refused:
        raise SignInNeeded(_back_to(request), refused.message) from None
    request.state.caller = principal
    request.state.credential = credential
    return principal


VIEWER = Depends(viewer)


def sign_in_redirect(request: Request, needed: SignInNeeded) -> RedirectResponse:
    """To the sign-in page, coming back here after; a dead session's cookie is dropped."""
    target = f"/sign-in?next={quote(needed.back_to, safe='/')}"
    if needed.reason:
        target += f"&ended={quote(needed.reason)}"
    response = RedirectResponse(target, 303)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def over_tls(request: Request) -> bool:
    """Whether browsers reach this console over TLS: the request came by https, or the
    registry's public URL is https (a proxy in front ends TLS)."""
    return request.url.scheme == "https" or bool(getattr(request.app.state, "console_tls", False))


def start(response: Response, request: Request, credential: str) -> None:
    """Keeps credential as the browser's session: never readable by scripts, never sent
    by another site's request, only over TLS when the registry is served over TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        credential,
        max_age=SESSION_SECONDS,
        path="/",
        httponly=True,
        secure=over_tls(request),
        samesite="strict",
    )
