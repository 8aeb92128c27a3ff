"""Signing in with the organisation's identity provider: OIDC's authorization code flow
with PKCE (S256), the console being the provider's client.

/sign-in/oidc sends the browser to the provider with a fresh state, nonce and code
challenge, kept for ten minutes in an HttpOnly cookie scoped to /sign-in/oidc. It is
SameSite=Lax, not Strict: the provider's redirect back is a top-level cross-site GET,
and a Strict cookie would not come with it. The callback checks the state, exchanges the
code (with the verifier, and the client secret when there is one) and keeps as the
session's credential the token the registry's own Authenticator accepts: the id_token,
or the access token when that one names the registry's audience. So the session is
exactly what the API would let that token do, and it ends when the token expires
(usually within an hour): the provider's refresh tokens are not kept."""

from __future__ import annotations

import hmac
import time
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, HTTPException, Request, Response

from services.auth import security_log
from services.auth.identity import Principal, Unauthenticated
from services.auth.oidc import looks_like_jwt
from services.web import session
from services.web.oidc_client import IdentityProvider, IdpError, LoginConfig, describe
from services.web.oidc_flow import (
    ATTEMPT_COOKIE,
    ATTEMPT_PATH,
    ATTEMPT_SECONDS,
    Attempt,
    AttemptRefused,
    audiences,
    challenge,
    claims,
)
from services.web.render import page, redirect
from services.web.sign_in import sign_in_page

router = APIRouter(include_in_schema=False, tags=["console"])

CALLBACK = ATTEMPT_PATH + "/callback"


def _provider(request: Request) -> IdentityProvider:
    provider: IdentityProvider | None = getattr(request.app.state, "oidc_login", None)
    if provider is None:
        raise HTTPException(404, "signing in with an identity provider is not set up here")
    return provider


def redirect_uri(request: Request, config: LoginConfig) -> str:
    """Where the provider sends the browser back: under REGISTRUM_PUBLIC_URL when set
    (behind a proxy the request's own address is the proxy's view, not the browser's)."""
    base = config.public_url or str(request.base_url).rstrip("/")
    return base + CALLBACK


@router.get(ATTEMPT_PATH)
async def start(request: Request, next: str | None = None) -> Response:
    provider = _provider(request)
    back_to = session.safe_next(next)
    try:
        endpoints = await provider.endpoints()
    except IdpError as failed:
        return _refused(request, 503, back_to, failed.message, "idp_unavailable")
    attempt = Attempt.new(back_to, time.time())
    config = provider.config
    query = urlencode(
        {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri(request, config),
            "scope": config.scopes,
            "state": attempt.state,
            "nonce": attempt.nonce,
            "code_challenge": challenge(attempt.verifier),
            "code_challenge_method": "S256",
        }
    )
    separator = "&" if "?" in endpoints.authorization else "?"
    response = redirect(endpoints.authorization + separator + query)
    response.set_cookie(
        ATTEMPT_COOKIE,
        attempt.cookie(),
        max_age=ATTEMPT_SECONDS,
        path=ATTEMPT_PATH,
        httponly=True,
        secure=session.over_tls(request),
        samesite="lax",
    )
    return response


@router.get(CALLBACK)
async def callback(
    request: Request,
    state: str | None = None,
    code: str | None = None,
    error: str | None = None,
    error_description: str | None = None,
) -> Response:
    provider = _provider(request)
    try:
        attempt = Attempt.from_cookie(request.cookies.get(ATTEMPT_COOKIE), time.time())
        attempt.check_state(state)
    except AttemptRefused as refused:
        # The cookie stays: a forged callback must not spoil the sign-in under way.
        return _refused(request, 400, "/", str(refused), "bad_state")
    # Checked again: the cookie came back from the browser, and may have been planted.
    back_to = session.safe_next(attempt.next)
    if error:
        answer = {"error": error, "error_description": error_description}
        message = "the identity provider did not sign you in: " + describe(answer)
        return _done(_refused(request, 401, back_to, message, "idp_refused"))
    if not code:
        message = "the identity provider sent no authorization code"
        return _done(_refused(request, 400, back_to, message, "no_code"))
    try:
        tokens = await provider.exchange(
            code, attempt.verifier, redirect_uri(request, provider.config)
        )
    except IdpError as failed:
        status, reason = (401, "exchange_refused") if failed.refused else (503, "idp_unavailable")
        return _done(_refused(request, status, back_to, failed.message, reason))
    try:
        credential, viewer = await _credential(request, tokens, attempt.nonce, provider.config)
    except Unauthenticated as refused:
        return _done(_refused(request, 401, back_to, refused.message, None))
    # A page, not a redirect: the browser arrived here from the provider's site, and a
    # redirect would carry that cross-site navigation on, without the new SameSite=Strict
    # session cookie. The page's own (meta refresh) navigation is same-site.
    request.state.caller = viewer
    request.state.credential = credential
    signed_in = page(request, "signed_in.html", back_to=back_to)
    session.start(signed_in, request, credential)
    return _done(signed_in)


async def _credential(
    request: Request, tokens: dict[str, Any], nonce: str, config: LoginConfig
) -> tuple[str, Principal]:
    """The token to keep, and whom it names, judged by the same Authenticator as every
    API request."""
    id_token = tokens.get("id_token")
    if not isinstance(id_token, str) or not looks_like_jwt(id_token):
        raise Unauthenticated(
            "malformed", "the identity provider sent no id_token (is the openid scope allowed?)"
        )
    access = tokens.get("access_token")
    candidates = [id_token]
    if isinstance(access, str) and looks_like_jwt(access):
        candidates.append(access)
    # The id_token's audience is the console's client id; some providers put the API's
    # audience in the access token instead. When neither names it, the id_token goes to
    # the Authenticator anyway, which then says why it is refused.
    credential = next((t for t in candidates if config.audience in audiences(t)), id_token)
    viewer: Principal = await request.app.state.authenticator.authenticate(
        credential, "web", fresh=True
    )
    # Read after verification (or, for an id_token that is not the credential, as it came
    # straight from the token endpoint): it must answer this browser's own request.
    sent = claims(id_token).get("nonce")
    if not isinstance(sent, str) or not hmac.compare_digest(sent.encode(), nonce.encode()):
        raise Unauthenticated(
            "bad_nonce", "the identity provider's id_token is not for this sign-in"
        )
    return credential, viewer


def _refused(
    request: Request, status: int, back_to: str, message: str, reason: str | None
) -> Response:
    if reason is not None:  # the Authenticator logs its own refusals
        security_log.record("unauthenticated", entrypoint="web", reason=reason)
    return sign_in_page(request, status, back_to=back_to, refused=message)


def _done(response: Response) -> Response:
    """The attempt is used up, whatever came of it: its code and verifier never serve
    twice."""
    response.delete_cookie(ATTEMPT_COOKIE, path=ATTEMPT_PATH)
    return response
