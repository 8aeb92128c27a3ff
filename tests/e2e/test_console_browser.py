"""The web console in a real browser (Debian's chromium, driven by Playwright) against a
real `registrum serve`: a reviewer signs in with the keyboard, finds a model by a filter,
opens a version and approves its request; the requester's own approval is refused on the
page; a releaser promotes, and the timeline, the as-of answer and the live strip change.
Every page is screenshotted (tests/e2e/screenshots/, git-ignored) and checked with
axe-core: no serious or critical violation. A stored hostile description stays text."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import httpx
import pytest
from playwright.sync_api import Browser, Dialog, Page, expect

from tests.cards import full_card
from tests.e2e.browser import VIEWPORT, assert_accessible, screenshot
from tests.e2e.conftest import Server, admin_token, bearer, start_server, token
from tests.examples import POLICY

HOSTILE = '<script>alert("desc")</script><img src=x onerror="alert(\'img\')">'


@pytest.fixture(scope="module")
def registry(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    running = start_server(tmp_path_factory.mktemp("console") / "data")
    yield running
    running.stop()


def call(registry: Server, who: str, method: str, path: str, **kwargs: object) -> dict:
    answer = httpx.request(
        method,
        f"{registry.url}{path}",
        headers=bearer(who),
        timeout=30,
        **kwargs,  # type: ignore[arg-type]
    )
    assert answer.status_code < 300, answer.text
    return answer.json()  # type: ignore[no-any-return]


def person(registry: Server, name: str, role: str) -> str:
    """A token for name, who holds only role on the registry (not the testers' roles)."""
    granted = httpx.post(
        f"{registry.url}/api/v1/grants",
        json={"principal": f"user:{name}", "role": role, "scope": "registry"},
        headers=bearer(admin_token(registry.url)),
        timeout=30,
    )
    assert granted.status_code == 201, granted.text
    return token(registry.url, name, groups=())


@pytest.fixture(scope="module")
def story(registry: Server) -> dict[str, str]:
    """A model with a hostile description and two versions as a pipeline registers them
    (files, metrics, lineage, a model card); alice asks production for version 1 and
    staging for version 2."""
    alice = token(registry.url, "alice")
    name = "fraud-detector"
    call(registry, alice, "POST", "/api/v1/models", json={"name": name, "description": HOSTILE})
    data = b"gradient boosted trees " * 500
    digest = call(registry, alice, "POST", "/api/v1/artifacts", content=data)["sha256"]
    assert digest == hashlib.sha256(data).hexdigest()
    for number in (1, 2):
        call(
            registry,
            alice,
            "POST",
            f"/api/v1/models/{name}/versions",
            json={
                "manifest": [{"path": "model/weights.bin", "sha256": digest, "size": len(data)}],
                "metrics": {"auc": 0.9 + number / 100, "precision": 0.8},
                "hyperparameters": {"max_depth": 6 + number},
                "tags": {"team": "risk"},
                "lineage": [
                    {"kind": "dataset", "id": "s3://data/tx/2026-q3", "relation": "trained_on"},
                    {"kind": "code", "id": "git+https://git.example/risk@4f2a9c1"},
                    *(
                        [{"kind": "model_version", "id": f"{name}/1", "relation": "retrained"}]
                        if number == 2
                        else []
                    ),
                ],
                "description": HOSTILE if number == 1 else "retrained on October",
            },
        )
    versions = f"/api/v1/models/{name}/versions"
    # Production is gated: the promotion is evaluated, and the version page shows how.
    call(registry, admin_token(registry.url), "POST", "/api/v1/policies", json={"document": POLICY})
    call(registry, alice, "PUT", f"{versions}/1/model-card", json={"card": full_card()})
    asked = call(registry, alice, "POST", f"{versions}/1/approvals", json={"stage": "production"})
    call(registry, alice, "POST", f"{versions}/2/approvals", json={"stage": "staging"})
    # The pages read the views: wait until they show all of the above.
    call(registry, alice, "GET", f"/api/v1/models/{name}", params={"min_position": "head"})
    return {
        "name": name,
        "request": asked["version"]["approval_requests"][-1]["id"],
        "reviewer": person(registry, "rita", "reviewer"),
        "releaser": person(registry, "rene", "releaser:production"),
        "alice": alice,
    }


@pytest.fixture
def watched(page: Page) -> Iterator[tuple[Page, list[str]]]:
    """The page, and every dialog (alert, confirm) a script opened on it: none should."""
    dialogs: list[str] = []

    def seen(dialog: Dialog) -> None:
        dialogs.append(dialog.message)
        dialog.dismiss()

    page.on("dialog", seen)
    yield page, dialogs


def sign_in(page: Page, url: str, secret: str, path: str = "/") -> None:
    """Signs in from the sign-in page the console sends a stranger to, keyboard only."""
    page.goto(f"{url}{path}")
    expect(page).to_have_url(re.compile(r"/sign-in\?next="))
    page.keyboard.press("Tab")  # the first stop is the skip link
    expect(page.locator("a.skip")).to_be_focused()
    page.get_by_label("API token").focus()
    page.keyboard.type(secret)
    page.keyboard.press("Enter")
    expect(page).to_have_url(re.compile(re.escape(url + path) + r"$"))


def checked(page: Page, name: str) -> None:
    """A screenshot of the page, and axe-core finds nothing serious on it."""
    screenshot(page, name)
    assert_accessible(page)


def test_review_approve_refuse_promote_and_audit_in_a_browser(
    registry: Server, story: dict[str, str], watched: tuple[Page, list[str]], browser: Browser
) -> None:
    page, dialogs = watched
    name, url = story["name"], registry.url

    # The reviewer signs in, and finds the model by a filter on the catalogue.
    page.goto(f"{url}/sign-in")
    checked(page, "sign-in")
    sign_in(page, url, story["reviewer"])
    page.get_by_label("Filter").fill("name = 'fraud-detector' AND tags.team")
    page.get_by_role("button", name="Search").click()
    # A filter that does not parse is shown, marked where it went wrong.
    expect(page.get_by_role("alert")).to_contain_text("unexpected end")
    page.get_by_label("Filter").fill("name LIKE 'fraud%' AND description LIKE '%script%'")
    page.get_by_role("button", name="Search").click()
    expect(page.get_by_role("caption")).to_contain_text("1 model")
    checked(page, "catalogue")

    # The model page: versions with their metrics, the description as text.
    page.get_by_role("link", name=name, exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(name)
    expect(page.locator("main")).to_contain_text('<script>alert("desc")</script>')
    checked(page, "model")

    # Version 1: its files with digests, its card, its lineage, its request.
    page.get_by_role("link", name="1", exact=True).click()
    expect(page.get_by_role("heading", level=1)).to_contain_text(f"{name} version 1")
    expect(page.locator("#files-title + div")).to_contain_text("model/weights.bin")
    expect(page.locator(".card")).to_contain_text("Intended use")
    graph = page.locator("svg.lineage")
    expect(graph).to_contain_text("dataset")
    expect(page.locator(".lineage-list")).to_contain_text("s3://data/tx/2026-q3")
    # Version 2 was made from version 1: drawn to the right, linked.
    expect(graph.locator(f'a[href="/models/{name}/versions/2"]')).to_have_count(1)
    checked(page, "version")

    # The review queue holds alice's request; rita approves it with a comment.
    page.get_by_role("link", name="Review").click()
    request = page.locator(f"#request-{story['request']}")
    expect(request).to_contain_text("Requested by alice")
    checked(page, "review")
    request.get_by_label("Comment").fill("card and metrics checked")
    request.get_by_role("button", name="Approve").click()
    expect(page.locator(f"#request-{story['request']}")).to_have_count(0)

    # alice cannot approve her own request: the registry refuses, the page says why.
    context = browser.new_context(viewport=VIEWPORT)
    own = context.new_page()
    own.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(own, url, story["alice"], f"/models/{name}/versions/2")
    pending = own.locator("article.request", has_text="To staging: pending")
    pending.get_by_role("button", name="Approve").click()
    expect(own.get_by_role("alert")).to_contain_text("Refused:")
    expect(own.get_by_role("alert")).to_contain_text("cannot review their own request")
    checked(own, "refusal")
    context.close()

    # The releaser signs in; before the promotion, production was empty "as of now".
    releaser = browser.new_context(viewport=VIEWPORT)
    rel = releaser.new_page()
    rel.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    sign_in(rel, url, story["releaser"], f"/models/{name}")
    moment = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    rel.get_by_label("As of (UTC)").fill(moment)
    rel.get_by_role("button", name="Answer").click()
    expect(rel.locator("#asof-answer")).to_contain_text("no version of fraud-detector")

    # The approved request waits for the releaser on the review page; rene promotes.
    rel.get_by_role("link", name="Review").click()
    ready = rel.locator("article.request", has_text="to production")
    expect(ready).to_contain_text("approved by rita")
    ready.get_by_role("button", name="Promote to production").click()
    expect(rel.get_by_role("link", name="Review")).to_be_visible()

    # The timeline and the as-of answer now name the promotion and who approved it.
    rel.goto(f"{url}/models/{name}")
    expect(rel.locator("#stage-history")).to_contain_text("Version 1 to production by rene")
    expect(rel.locator("#stage-history")).to_contain_text("approved by rita")
    now = (datetime.now(UTC) + timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%S")
    rel.get_by_label("As of (UTC)").fill(now)
    rel.get_by_role("button", name="Answer").click()
    answer = rel.locator("#asof-answer")
    expect(answer).to_contain_text("version 1")
    expect(answer).to_contain_text("promoted by rene")
    expect(answer).to_contain_text("approved by rita")
    # The strip of recent promotions shows it too (filled by the page's script).
    expect(rel.locator(".live-items")).to_contain_text("fraud-detector 1")
    checked(rel, "model-after-promotion")

    # The promoted version shows the gates it passed, rule by rule, with what each saw.
    rel.get_by_role("link", name="version 1", exact=True).first.click()
    expect(rel.locator("#gates-verdict")).to_contain_text("passed policy fraud-gates version 1")
    expect(rel.get_by_role("region", name="Rules evaluated")).to_contain_text("auc-floor")
    checked(rel, "version-after-promotion")

    # Readable at a phone's width: nothing wider than the screen but scrollable tables.
    rel.set_viewport_size({"width": 390, "height": 844})
    rel.goto(f"{url}/models/{name}/versions/1")
    overflow = rel.evaluate("() => document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"the version page is {overflow}px wider than a phone"
    checked(rel, "version-phone")
    releaser.close()

    # Nothing stored ran as script anywhere: no alert was ever opened.
    assert dialogs == []


def test_a_missing_page_and_signing_out(
    registry: Server, story: dict[str, str], page: Page
) -> None:
    sign_in(page, registry.url, story["reviewer"])
    # A page that is not there is a page too, with its way back.
    missing = page.goto(f"{registry.url}/models/no-such-model")
    assert missing is not None and missing.status == 404
    expect(page.get_by_role("alert")).to_contain_text("no model named 'no-such-model'")
    checked(page, "not-found")
    page.get_by_role("button", name="Sign out").click()
    expect(page).to_have_url(re.compile(r"/sign-in$"))
    page.goto(f"{registry.url}/review")
    expect(page).to_have_url(re.compile(r"/sign-in\?next=/review"))
