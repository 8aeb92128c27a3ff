"""The browser harness itself (tests/e2e/browser.py), on small pages served locally with the
web console's Content-Security-Policy: chromium renders, screenshots are PNGs, axe-core runs
under the CSP and finds what is wrong, and the CSP refuses inline script."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from playwright.sync_api import ConsoleMessage, Page

from services.web.render import POLICY
from tests.e2e.browser import (
    assert_accessible,
    axe,
    blocking,
    describe,
    screenshot,
)

# The web console's own header, so the harness is proven under the policy its pages get.
CSP = POLICY

STYLE = "body { font-family: sans-serif; color: #111; background: #fff; margin: 2rem; }\n"

# Served from 'self', so the CSP allows it; it marks the document, and tries eval, which the
# CSP refuses (no 'unsafe-eval').
SCRIPT = """\
const marks = document.documentElement.dataset;
marks.external = "ran";
try {
  eval("1");
  marks.eval = "ran";
} catch (refused) {
  marks.eval = "refused";
}
"""


def _document(title: str, main: str) -> str:
    return (
        '<!doctype html><html lang="en"><head><meta charset="utf-8">'
        f"<title>{title}</title>"
        '<link rel="stylesheet" href="/site.css"><script src="/site.js"></script>'
        f"</head><body><main><h1>{title}</h1>{main}</main></body></html>"
    )


GOOD = _document(
    "Models",
    '<form method="get" action="/good"><label for="q">Search</label>'
    '<input id="q" name="q" type="search"><button type="submit">Search</button></form>'
    "<p>Three models.</p>",
)

# An image without alt text (axe: image-alt, critical) and an input without a label
# (axe: label, critical).
BAD = _document(
    "Broken",
    '<img src="/site.png"><form method="get" action="/bad"><input name="q" type="text"></form>',
)

# Inline script (and an inline handler): the CSP must refuse both.
INLINE = _document(
    "Inline",
    "<script>document.documentElement.dataset.inline = 'ran';</script>"
    '<img src="/missing.png" alt="" onerror="document.documentElement.dataset.handler = \'ran\'">',
)

PAGES = {"/good": GOOD, "/bad": BAD, "/inline": INLINE}

# A 1x1 PNG, so the bad page's image loads (axe judges the alt text, not the file).
PNG_1X1 = bytes.fromhex(
    "89504e470d0a1a0a0000000d4948445200000001000000010806000000"
    "1f15c4890000000d49444154789c6360f8ffff3f0005fe02fea7d6a4b60000000049454e44ae426082"
)


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        path, _, query = self.path.partition("?")
        if path in PAGES:
            body, kind = PAGES[path].encode(), "text/html; charset=utf-8"
        elif path == "/site.css":
            body, kind = STYLE.encode(), "text/css"
        elif path == "/site.js":
            body, kind = SCRIPT.encode(), "text/javascript"
        elif path == "/site.png":
            body, kind = PNG_1X1, "image/png"
        else:
            self.send_error(404)
            return
        self.send_response(200)
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(body)))
        if "csp=off" not in query:  # the control the CSP checks are measured against
            self.send_header("Content-Security-Policy", CSP)
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The pages above on 127.0.0.1, each with the console's CSP (unless ?csp=off)."""
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=10)


def _marks(page: Page) -> dict[str, str]:
    marks: dict[str, str] = page.evaluate("() => ({...document.documentElement.dataset})")
    return marks


def test_a_page_renders_and_its_screenshot_is_a_png(page: Page, site: str) -> None:
    response = page.goto(f"{site}/good")
    assert response is not None
    assert response.status == 200
    assert response.headers["content-security-policy"] == CSP
    assert page.title() == "Models"
    assert page.get_by_role("heading", name="Models").is_visible()
    assert page.get_by_label("Search").is_visible()
    # Its stylesheet and script came from 'self', which the CSP allows.
    assert page.evaluate("() => getComputedStyle(document.body).marginTop") == "32px"
    assert _marks(page) == {"external": "ran", "eval": "refused"}

    shot = screenshot(page, "harness-good")
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert (width, height) == (1280, 800)


def test_axe_finds_the_violations_of_a_bad_page(page: Page, site: str) -> None:
    page.goto(f"{site}/bad")
    screenshot(page, "harness-bad")
    found = {v["id"]: v for v in blocking(axe(page))}
    assert {"image-alt", "label"} <= found.keys(), describe(list(found.values()))
    assert found["image-alt"]["impact"] == "critical"
    assert [node["target"] for node in found["image-alt"]["nodes"]] == [["img"]]

    with pytest.raises(pytest.fail.Exception) as failed:
        assert_accessible(page)
    message = str(failed.value)
    assert "serious or critical accessibility violations on " + site + "/bad" in message
    assert "image-alt (critical): Images must have alternative text" in message
    assert "    at img" in message
    assert "label (critical)" in message


def test_a_good_page_has_no_serious_or_critical_violation(page: Page, site: str) -> None:
    page.goto(f"{site}/good")
    violations = assert_accessible(page)
    assert blocking(violations) == []
    # axe ran in the page, under its CSP (nothing of it came from the page itself).
    assert page.evaluate("() => typeof window.axe.version") == "string"


def test_the_csp_refuses_inline_script(page: Page, site: str) -> None:
    refused: list[str] = []

    def on_console(message: ConsoleMessage) -> None:
        if "Content Security Policy" in message.text:
            refused.append(message.text)

    page.on("console", on_console)
    page.goto(f"{site}/inline")
    page.wait_for_load_state("load")
    # The external script ran, the inline script and the inline handler did not.
    assert _marks(page) == {"external": "ran", "eval": "refused"}
    assert any("inline script" in text for text in refused), refused
    assert any("inline event handler" in text for text in refused), refused
    # axe still runs on it: page.evaluate is not subject to the page's CSP. Nor is eval
    # inside it, so a CSP check must read what the page's own scripts did (as above),
    # never try the forbidden thing through page.evaluate.
    assert blocking(axe(page)) == []
    assert page.evaluate("() => eval('1 + 1')") == 2
    assert page.evaluate("() => document.documentElement.dataset.eval") == "refused"


def test_without_the_csp_the_same_inline_script_runs(page: Page, site: str) -> None:
    """The control: the checks above fail when the page has no CSP."""
    response = page.goto(f"{site}/inline?csp=off")
    assert response is not None
    assert "content-security-policy" not in response.headers
    page.wait_for_load_state("load")
    assert _marks(page) == {"external": "ran", "eval": "ran", "inline": "ran", "handler": "ran"}
