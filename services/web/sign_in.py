"""Signing in with an API token, and out; the sign-in page (services/web/oidc_login.py
adds signing in with the organisation's identity provider)."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response

from services.auth.identity import Unauthenticated
from services.web import forms, session
from services.web.render import page, redirect

router = APIRouter(include_in_schema=False, tags=["console"])


@router.get("/sign-in")
async def sign_in_form(
    request: Request, next: str | None = None, ended: str | None = None
) -> Response:
    return sign_in_page(
        request, 200, back_to=session.safe_next(next), ended=session.ended_because(ended)
    )


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await forms.fields(request)
    forms.check(request, fields.get(forms.FIELD))
    back_to = session.safe_next(fields.get("next"))
    credential = fields.get("token", "").strip()
    try:
        await request.app.state.authenticator.authenticate(credential, "web", fresh=True)
    except Unauthenticated as refused:
        return sign_in_page(request, 401, back_to=back_to, refused=refused.message)
    kept, seconds = await session.open_session(request, credential)
    signed_in = redirect(back_to)
    session.start(signed_in, request, kept, seconds)
    signed_in.delete_cookie(forms.SIGN_IN_COOKIE, path="/sign-in")
    return signed_in


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await session.viewer(request)
    forms.check(request, (await forms.fields(request)).get(forms.FIELD))
    await session.close_session(request, request.cookies.get(forms.SESSION_COOKIE))
    response = redirect("/sign-in")
    response.delete_cookie(forms.SESSION_COOKIE, path="/")
    return response


def sign_in_page(
    request: Request,
    status: int,
    *,
    back_to: str,
    ended: str | None = None,
    refused: str | None = None,
) -> Response:
    """The sign-in page (with why the last attempt failed, when it did), its form's
    nonce kept in its cookie, and the organisation's sign-in offered when it is set up."""
    response = page(
        request,
        "sign_in.html",
        status,
        back_to=back_to,
        ended=ended,
        refused=refused,
        organisation=getattr(request.app.state, "oidc_login", None) is not None,
    )
    _keep_nonce(request, response)
    return response


def _keep_nonce(request: Request, response: Response) -> None:
    response.set_cookie(
        forms.SIGN_IN_COOKIE,
        forms.form_token(request),
        max_age=3600,
        path="/sign-in",
        httponly=True,
        secure=session.over_tls(request),
        samesite="strict",
    )
