"""Forms a browser posts are checked to come from our own pages (CSRF).

Signed in, a form carries a token derived from the session's credential (HMAC-SHA256,
the credential as key): another site cannot compute it, and it needs no state on the
server. Before sign-in, the sign-in form carries a random nonce that must equal the one
in a cookie of its own (double submit). Both come on top of SameSite=Strict cookies and
a check that a browser's Origin header, when sent, is our own."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from urllib.parse import parse_qsl, urlsplit

from fastapi import Request

SESSION_COOKIE = "registrum_session"
SIGN_IN_COOKIE = "registrum_sign_in"
FIELD = "csrf"
URLENCODED = "application/x-www-form-urlencoded"
_PURPOSE = b"registrum web console form"


class FormRefused(Exception):
    """A form that did not come from one of our pages: stale, or from another site."""


def _mac(credential: str) -> str:
    return hmac.new(credential.encode(), _PURPOSE, hashlib.sha256).hexdigest()


def form_token(request: Request) -> str:
    """The token this request's pages put in their forms."""
    credential = getattr(request.state, "credential", None)
    if credential:
        return _mac(credential)
    nonce = getattr(request.state, "sign_in_nonce", None)
    if nonce is None:
        nonce = request.cookies.get(SIGN_IN_COOKIE) or secrets.token_urlsafe(24)
        request.state.sign_in_nonce = nonce
    return str(nonce)


def check(request: Request, submitted: str | None) -> None:
    """Raises FormRefused unless the form came from our page in this browser."""
    credential = getattr(request.state, "credential", None)
    origin = request.headers.get("origin")
    if origin == "null" and credential:
        # An opaque origin (a sandboxed frame, a data: page) never posts a signed-in form.
        raise FormRefused("the form was sent from an opaque origin, not from this registry")
    if origin and origin != "null" and not _ours(request, origin):
        raise FormRefused(f"the form was sent from {origin}, not from this registry")
    expected = _mac(credential) if credential else request.cookies.get(SIGN_IN_COOKIE)
    if not expected or not submitted or not hmac.compare_digest(expected, submitted):
        raise FormRefused("the form has expired or did not come from this registry's pages")


def _ours(request: Request, origin: str) -> bool:
    """Whether origin is this registry's: its public URL's origin when one is set (behind
    a proxy, Host may be rewritten), else the address the request came to."""
    public = getattr(request.app.state, "public_origin", None) if "app" in request.scope else None
    if public:
        return origin.rstrip("/") == public
    return urlsplit(origin).netloc == request.headers.get("host")


async def fields(request: Request) -> dict[str, str]:
    """A posted urlencoded form's fields (the last value of each); the body's size is
    already capped by the API's limit."""
    if request.headers.get("content-type", "").split(";")[0].strip() != URLENCODED:
        raise FormRefused("a console form is sent as application/x-www-form-urlencoded")
    try:
        text = (await request.body()).decode()
    except UnicodeDecodeError:
        raise FormRefused("the form is not UTF-8") from None
    try:
        # errors="strict": a value that is not UTF-8 once decoded (%ff) is refused, not
        # recorded with U+FFFD in its place.
        return dict(parse_qsl(text, keep_blank_values=True, max_num_fields=64, errors="strict"))
    except UnicodeDecodeError:
        raise FormRefused("the form is not UTF-8") from None
    except ValueError:
        raise FormRefused("the form has too many fields") from None
