"""Browser tests' harness: Debian's chromium driven by Playwright, screenshots, and axe-core.

`make browser` (a prerequisite of `make test`) installs both: chromium with apt when
/usr/bin/chromium is missing, axe-core with `npm ci` from tests/e2e/axe/package-lock.json.
Playwright's own browser download (`playwright install`) is never used.

Playwright's sync API: the tests are plain functions (no asyncio plugin in the suite), and the
sync API runs its own event loop in a greenlet, so a test drives the page line by line. It
refuses to run inside a running asyncio loop, which only an `async def` test would have.
The browser is module-scoped: under `--dist loadfile` a test file runs whole on one worker,
so each file that uses it starts one chromium and stops it before the worker's next file.
Each test gets a fresh context (its own cookies and storage) and page.

axe-core is run by `page.evaluate` of its source, through the DevTools protocol, as Playwright
evaluates anything: that is not subject to the page's Content-Security-Policy, whereas
`page.add_script_tag` (an inline <script>) would be refused under `script-src 'self'`.
The context never sets bypass_csp, so the pages' CSP still holds for their own markup
(tests/e2e/test_browser_harness.py checks both).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
AXE = Path(__file__).parent / "axe" / "node_modules" / "axe-core" / "axe.min.js"
SCREENSHOTS = Path(__file__).parent / "screenshots"  # git-ignored

# Headless, and quiet on a closed network: without the networking switches chromium keeps
# trying Google's services (component updates, sync, QUIC probes), each a refused connection.
# --disable-dev-shm-usage: Docker gives /dev/shm 64 MB, too little for chromium; Debian's
# launcher means to add the switch then, but its check fails when /dev/shm is mounted twice.
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]

VIEWPORT: ViewportSize = {"width": 1280, "height": 800}

# What fails a page: axe's two highest impacts (the others are "moderate" and "minor").
BLOCKING_IMPACTS = ("serious", "critical")

_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*")


def _require(path: Path, what: str) -> None:
    if not path.exists():
        pytest.fail(f"{path} is missing ({what}): run `make browser`", pytrace=False)


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Debian's chromium, headless, with a fresh profile (Playwright's temporary user data
    directory); one per test file."""
    _require(CHROMIUM, "Debian's chromium")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    """A page in a context of its own: no cookies or storage shared between tests, and the
    pages' Content-Security-Policy in force (bypass_csp stays False)."""
    context = browser.new_context(viewport=VIEWPORT, bypass_csp=False)
    try:
        yield context.new_page()
    finally:
        context.close()


def screenshot(page: Page, name: str) -> Path:
    """The whole page as tests/e2e/screenshots/<name>.png (git-ignored); returns the path."""
    if not _NAME.fullmatch(name):
        raise ValueError(f"screenshot name {name!r}: letters, digits, '.', '_', '-' only")
    SCREENSHOTS.mkdir(exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path


def axe(page: Page) -> list[dict[str, Any]]:
    """axe-core's violations on the page as it is now (axe's own result objects: id, impact,
    help, helpUrl, nodes with their targets)."""
    _require(AXE, "axe-core from npm")
    if not page.evaluate("() => typeof window.axe === 'object'"):
        # Evaluated as a script by the DevTools protocol: not subject to the page's CSP.
        page.evaluate(AXE.read_text(encoding="utf-8"))
    violations: list[dict[str, Any]] = page.evaluate(
        "() => window.axe.run(document, {resultTypes: ['violations']})"
        ".then(results => results.violations)"
    )
    return violations


def describe(violations: list[dict[str, Any]]) -> str:
    """One line per violation, then one per element it was found on."""
    lines = []
    for violation in violations:
        lines.append(
            f"{violation['id']} ({violation['impact']}): {violation['help']}"
            f" <{violation['helpUrl']}>"
        )
        lines.extend(f"    at {_selector(node['target'])}" for node in violation["nodes"])
    return "\n".join(lines)


def _selector(target: list[Any]) -> str:
    # A target is a list of CSS selectors, one per frame; inside a shadow root an item is
    # itself a list (host, then inside it).
    return " -> ".join(
        " >>> ".join(part) if isinstance(part, list) else str(part) for part in target
    )


def blocking(violations: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [v for v in violations if v["impact"] in BLOCKING_IMPACTS]


def assert_accessible(page: Page) -> list[dict[str, Any]]:
    """Fails on any serious or critical axe-core violation, naming each rule, its impact and
    the elements; returns the violations (moderate and minor ones pass)."""
    violations = axe(page)
    found = blocking(violations)
    if found:
        pytest.fail(
            f"{len(found)} serious or critical accessibility violations on {page.url}:\n"
            + describe(found),
            pytrace=False,
        )
    return violations
