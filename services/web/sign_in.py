"""Signing in with an API token, and out."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from fastapi.responses import RedirectResponse

from services.auth.identity import Unauthenticated
from services.web import forms, session
from services.web.render import page

router = APIRouter(include_in_schema=False, tags=["console"])


@router.get("/sign-in")
async def sign_in_form(
    request: Request, next: str | None = None, ended: str | None = None
) -> Response:
    response = page(
        request, "sign_in.html", back_to=session.safe_next(next), ended=ended, refused=None
    )
    _keep_nonce(request, response)
    return response


@router.post("/sign-in")
async def sign_in(request: Request) -> Response:
    fields = await forms.fields(request)
    forms.check(request, fields.get(forms.FIELD))
    back_to = session.safe_next(fields.get("next"))
    credential = fields.get("token", "").strip()
    try:
        await request.app.state.authenticator.authenticate(credential, "web", fresh=True)
    except Unauthenticated as refused:
        response = page(
            request,
            "sign_in.html",
            401,
            back_to=back_to,
            ended=None,
            refused=refused.message,
        )
        _keep_nonce(request, response)
        return response
    signed_in = RedirectResponse(back_to, 303)
    session.start(signed_in, request, credential)
    signed_in.delete_cookie(forms.SIGN_IN_COOKIE, path="/sign-in")
    return signed_in


@router.post("/sign-out")
async def sign_out(request: Request) -> Response:
    await session.viewer(request)
    forms.check(request, (await forms.fields(request)).get(forms.FIELD))
    response = RedirectResponse("/sign-in", 303)
    response.delete_cookie(forms.SESSION_COOKIE, path="/")
    return response


def _keep_nonce(request: Request, response: Response) -> None:
    response.set_cookie(
        forms.SIGN_IN_COOKIE,
        forms.form_token(request),
        max_age=3600,
        path="/sign-in",
        httponly=True,
        secure=request.url.scheme == "https",
        samesite="strict",
    )
