"""Signing in to the console at the organisation's identity provider, in a real browser
(Debian's chromium) against a real `registrum serve` configured as the provider's client:
the provider (tests/idp.py, real HTTP) signs the user in and sends the browser back; the
console exchanges the code with its PKCE verifier, keeps the verified token as the
session and lands the browser where it was going, signed in as the token's subject."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from playwright.sync_api import Page, expect

from tests.e2e.browser import assert_accessible, screenshot
from tests.e2e.conftest import Server, start_server
from tests.idp import CLIENT_ID, CLIENT_SECRET, PretendIdp


@pytest.fixture(scope="module")
def idp() -> Iterator[PretendIdp]:
    provider = PretendIdp()
    yield provider
    provider.stop()


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory, idp: PretendIdp) -> Iterator[Server]:
    running = start_server(
        tmp_path_factory.mktemp("console-oidc") / "data",
        oidc_issuer=idp.issuer,
        oidc_audience=CLIENT_ID,
        oidc_jwks_url=idp.jwks_url,
        oidc_algorithms="RS256",
        oidc_client_id=CLIENT_ID,
        oidc_client_secret=CLIENT_SECRET,
    )
    yield running
    running.stop()


def test_signing_in_at_the_organisations_provider(
    registry: Server, idp: PretendIdp, page: Page
) -> None:
    # A stranger opening the review page is sent to sign in, and picks the organisation's.
    page.goto(f"{registry.url}/review")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/review"))
    page.get_by_role("link", name="Sign in with your organisation").click()
    # The provider signs Alice in at once and sends the browser back; the console lands
    # it on the review page, signed in as the token's subject.
    expect(page).to_have_url(f"{registry.url}/review")
    expect(page.locator(".who")).to_contain_text("Signed in as alice")
    # The code was exchanged with its PKCE verifier, by the confidential client.
    exchange = idp.token_requests[-1]
    assert exchange["code_verifier"] and exchange["authorization"].startswith("Basic ")
    screenshot(page, "review-after-oidc")
    assert_accessible(page)

    # A provider that refuses: the sign-in page says so, and nobody is signed in.
    page.get_by_role("button", name="Sign out").click()
    idp.behaviour.deny = "access_denied"
    try:
        page.get_by_role("link", name="Sign in with your organisation").click()
        expect(page.get_by_role("alert")).to_contain_text("access_denied")
        screenshot(page, "sign-in-refused")
        assert_accessible(page)
    finally:
        idp.reset()
    page.goto(f"{registry.url}/review")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/review"))
