"""The console's form checks and where it sends a browser back to, without a server."""

from __future__ import annotations

import pytest
from starlette.requests import Request

from services.web import forms
from services.web.render import size, when
from services.web.session import safe_next


def request(headers: dict[str, str] | None = None, credential: str | None = None) -> Request:
    scope = {
        "type": "http",
        "method": "POST",
        "path": "/x",
        "headers": [(k.lower().encode(), v.encode()) for k, v in (headers or {}).items()],
    }
    made = Request(scope)
    if credential:
        made.state.credential = credential
    return made


def test_a_signed_in_form_token_is_tied_to_the_session() -> None:
    mine = request({"host": "registry"}, credential="rgm_a_secret")
    token = forms.form_token(mine)
    forms.check(mine, token)
    # Another session's token, or none, is refused.
    other = request({"host": "registry"}, credential="rgm_b_secret")
    with pytest.raises(forms.FormRefused):
        forms.check(other, token)
    with pytest.raises(forms.FormRefused):
        forms.check(mine, None)


def test_a_form_sent_from_another_origin_is_refused_even_with_its_token() -> None:
    foreign = request({"host": "registry", "origin": "https://evil.example"}, "rgm_a_secret")
    with pytest.raises(forms.FormRefused, match=r"evil\.example"):
        forms.check(foreign, forms.form_token(foreign))
    ours = request({"host": "registry:8080", "origin": "http://registry:8080"}, "rgm_a_secret")
    forms.check(ours, forms.form_token(ours))


def test_the_sign_in_form_is_checked_against_its_own_cookie() -> None:
    browser = request({"host": "registry", "cookie": f"{forms.SIGN_IN_COOKIE}=n0nce"})
    assert forms.form_token(browser) == "n0nce"
    forms.check(browser, "n0nce")
    with pytest.raises(forms.FormRefused):
        forms.check(browser, "guess")
    # Without the cookie (another site's post), nothing is accepted.
    with pytest.raises(forms.FormRefused):
        forms.check(request({"host": "registry"}), "anything")


@pytest.mark.parametrize(
    ("asked", "sent_to"),
    [
        ("/models/x?filter=a", "/models/x?filter=a"),
        ("//evil.example/x", "/"),
        ("https://evil.example", "/"),
        ("/\\evil.example", "/"),
        ("", "/"),
        (None, "/"),
    ],
)
def test_after_sign_in_the_browser_stays_on_this_site(asked: str | None, sent_to: str) -> None:
    assert safe_next(asked) == sent_to


def test_times_and_sizes_read_as_people_read_them() -> None:
    assert when("2026-11-28T09:30:12.5+00:00") == "2026-11-28 09:30:12 UTC"
    assert when("2026-11-28T10:30:12+01:00") == "2026-11-28 09:30:12 UTC"
    assert when(None) == ""
    assert [size(5), size(8000), size(1_500_000), size(None)] == ["5 B", "8.0 kB", "1.5 MB", ""]


def test_cookies_are_secure_over_tls_or_behind_a_proxy_that_ends_it() -> None:
    from types import SimpleNamespace

    from services.web.session import over_tls

    def arriving(scheme: str, tls: bool) -> Request:
        app = SimpleNamespace(state=SimpleNamespace(console_tls=tls))
        scope = {
            "type": "http",
            "scheme": scheme,
            "server": ("registry", 443),
            "path": "/",
            "headers": [],
            "app": app,
        }
        return Request(scope)

    assert over_tls(arriving("https", tls=False))
    # REGISTRUM_PUBLIC_URL=https://...: the proxy speaks TLS, the request came by http.
    assert over_tls(arriving("http", tls=True))
    assert not over_tls(arriving("http", tls=False))


def test_the_unforeseen_on_a_console_page_is_a_page_with_the_consoles_headers() -> None:
    from fastapi import APIRouter
    from fastapi.testclient import TestClient

    from services.api.app import build_fastapi
    from services.web.console import install

    app = build_fastapi()
    install(app)
    broken = APIRouter(tags=["console"])

    @broken.get("/broken")
    async def fails() -> None:
        raise RuntimeError("a bug, with a secret: hunter2")

    app.include_router(broken)
    with TestClient(app, raise_server_exceptions=False) as client:
        answer = client.get("/broken")
        api = client.get("/api/v1/nothing-here")
    assert answer.status_code == 500 and "text/html" in answer.headers["content-type"]
    assert "script-src 'self'" in answer.headers["content-security-policy"]
    assert "it was logged" in answer.text and "hunter2" not in answer.text
    # The API's own paths keep their JSON.
    assert api.headers["content-type"] == "application/json"


def test_a_browser_asking_for_a_missing_address_gets_a_page_an_api_client_json() -> None:
    from fastapi.testclient import TestClient

    from services.api.app import build_fastapi
    from services.web.console import install

    app = build_fastapi()
    install(app)
    html = {"Accept": "text/html,application/xhtml+xml"}
    with TestClient(app) as client:
        typo = client.get("/modles/fraud", headers=html)
        api = client.get("/api/v1/nothing-here", headers=html)
        script = client.get("/modles/fraud")
    assert typo.status_code == 404 and "text/html" in typo.headers["content-type"]
    assert "script-src 'self'" in typo.headers["content-security-policy"]
    assert api.status_code == 404 and api.headers["content-type"] == "application/json"
    assert script.status_code == 404 and script.headers["content-type"] == "application/json"
