"""Who views: a signed-in browser sends a credential in an HttpOnly, SameSite=Strict
cookie, and every request authenticates it through the same Authenticator as the API.

Signed in with an API token, the cookie holds a session token of its own: issued for the
same person, groups and kind, living 8 hours at most (never past the token it came
from), recorded with that token (parent_id). So the browser never holds the long-lived
credential, signing out revokes the session on the server, and revoking the token
revokes its sessions at once. Signed in at the organisation's identity provider, the
cookie holds the provider's token, which ends when it expires (services/web/oidc_login).
A revoked or expired credential ends the session at once for writes and within the
cache's milliseconds for reads, exactly as for the API; a page acts only with its
viewer's rights. Sessions are token rows: any API process serves any page."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from urllib.parse import quote, urlsplit

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response

from services.api.caller import READS
from services.auth import security_log, tokens
from services.auth.identity import Principal, Unauthenticated
from services.web.forms import SESSION_COOKIE
from services.web.render import redirect

SESSION_SECONDS = 8 * 3600  # a session's longest life; the token's own may end sooner
SESSIONS_KEPT = timedelta(days=30)  # how long an expired session's row is kept


class SignInNeeded(Exception):
    """The page needs a signed-in viewer; reason (Unauthenticated's short word) says why
    the last session ended."""

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
        raise SignInNeeded(_back_to(request), refused.reason) from None
    request.state.caller = principal
    request.state.credential = credential
    return principal


VIEWER = Depends(viewer)


# What the sign-in page says for each reason a session ended: our words only, so that a
# link cannot make the registry's own page say something else (?ended=... is a code).
ENDED = {
    "revoked": "the token it was opened with, or the session itself, was revoked",
    "expired": "it expired",
    "unknown_token": "its token is not known",
}


def ended_because(reason: str | None) -> str | None:
    if not reason:
        return None
    return ENDED.get(reason, "its credential is no longer accepted")


def sign_in_redirect(request: Request, needed: SignInNeeded) -> RedirectResponse:
    """To the sign-in page, coming back here after; a dead session's cookie is dropped."""
    target = f"/sign-in?next={quote(needed.back_to, safe='/')}"
    if needed.reason:
        target += f"&ended={quote(needed.reason)}"
    response = redirect(target)
    response.delete_cookie(SESSION_COOKIE, path="/")
    return response


def over_tls(request: Request) -> bool:
    """Whether browsers reach this console over TLS: the request came by https, or the
    registry's public URL is https (a proxy in front ends TLS)."""
    return request.url.scheme == "https" or bool(getattr(request.app.state, "console_tls", False))


async def open_session(request: Request, credential: str) -> tuple[str, int]:
    """What the browser keeps for credential (authenticated just now), and for how many
    seconds: for an API token, a session token issued for its owner and recorded with it;
    for a provider's token, that token."""
    if not tokens.looks_like_token(credential):
        return credential, SESSION_SECONDS
    store = request.app.state.authenticator.store
    record = await store.find(tokens.split(credential)[0], fresh=True)
    if record is None or record.parent_id is not None:
        return credential, SESSION_SECONDS  # a session's own token: it is one already
    now = datetime.now(UTC)
    lifetime = min(timedelta(seconds=SESSION_SECONDS), record.expires_at - now)
    lifetime = max(lifetime, timedelta(seconds=1))
    opened = tokens.issue(
        record.subject,
        display_name=record.display_name,
        kind=record.kind,
        lifetime=lifetime,
        created_by=record.subject,
        groups=record.groups,
        description=f"web console session (signed in with {record.shown_id})",
        now=now,
        parent_id=record.token_id,
    )
    await store.add(opened.record)
    # Sessions long expired go, a sign-in at a time (the security log keeps them).
    await store.prune_sessions(now - SESSIONS_KEPT)
    security_log.record(
        "session_opened",
        level=logging.INFO,
        subject=record.subject,
        token=opened.record.shown_id,
        parent=record.shown_id,
    )
    return opened.secret, int(lifetime.total_seconds())


async def close_session(request: Request, credential: str | None) -> None:
    """Revokes the browser's session token (never the token it was opened with)."""
    if not credential or not tokens.looks_like_token(credential):
        return
    store = request.app.state.authenticator.store
    try:
        record = await store.find(tokens.split(credential)[0], fresh=True)
    except Unauthenticated:
        return
    if record is not None and record.parent_id is not None:
        await store.revoke(record.token_id, record.subject, datetime.now(UTC))
        security_log.record(
            "session_closed", level=logging.INFO, subject=record.subject, token=record.shown_id
        )


def start(
    response: Response, request: Request, credential: str, seconds: int = SESSION_SECONDS
) -> None:
    """Keeps credential as the browser's session: never readable by scripts, never sent
    by another site's request, only over TLS when the registry is served over TLS."""
    response.set_cookie(
        SESSION_COOKIE,
        credential,
        max_age=seconds,
        path="/",
        httponly=True,
        secure=over_tls(request),
        samesite="strict",
    )
