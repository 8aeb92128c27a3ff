"""A card rendered as Markdown and HTML shows every section, and what was stored shows as
typed: read by a CommonMark renderer or a browser, hostile text makes no element, link,
image or script, and control characters are shown escaped. Also: what changed between
two cards, and which format a request asks for."""

from __future__ import annotations

from html.parser import HTMLParser

import pytest
from markdown_it import MarkdownIt

from schemas.model_card import ModelCard
from services.api.cards import negotiate
from services.catalogue.cards import render
from services.catalogue.cards.diff import diff
from services.catalogue.cards.document import document
from tests.cards import HOSTILE, full_card

MODEL = "fraud <img src=x onerror=alert(1)>"


class Page(HTMLParser):
    """The elements of an HTML page, their attributes, and its text."""

    def __init__(self, html: str) -> None:
        super().__init__(convert_charrefs=True)
        self.tags: set[str] = set()
        self.attributes: set[tuple[str, str | None]] = set()
        self.text = ""
        self.feed(html)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.add(tag)
        self.attributes.update((name, value) for name, value in attrs if name != "id")

    def handle_data(self, data: str) -> None:
        self.text += data


def hostile_card() -> ModelCard:
    """Hostile text in every kind of block: prose, lists, fields, tables and JSON."""
    card = full_card(
        intended_purpose=HOSTILE,
        intended_use={"primary_uses": [HOSTILE]},
        risk={"class": "high", "reason": HOSTILE},
        owners=[{"subject": "mallory", "role": HOSTILE}],
        legacy={"notes": HOSTILE, "`": "```"},
    )
    card["quantitative_analyses"]["slices"][0]["slice"] = HOSTILE
    return ModelCard.model_validate(card)


SHOWN_AS_TYPED = (
    "<script>alert(1)</script>",
    "[click](javascript:alert(3))",
    "**bold** `code` | cell | # heading",
    "\\x1b[31mred\\x1b[0m",  # the escape character, shown escaped
    "\\u202egnp.exe",  # a right-to-left override, shown escaped
    "&amp; &lt;b&gt;",
)


def test_markdown_holds_every_section_and_hostile_text_stays_text() -> None:
    text = render.markdown(document(MODEL, 3, hostile_card()))
    for title in ("## Model details", "## Risk classification", "## Earlier untyped card"):
        assert title in text
    assert "\x1b" not in text and "\u202e" not in text and "\r" not in text
    # What a CommonMark renderer (with tables) makes of it: our structure only.
    page = Page(MarkdownIt("commonmark").enable("table").render(text))
    assert page.tags <= {"h1", "h2", "h3", "p", "ul", "li", "strong", "em"} | {
        "table",
        "thead",
        "tbody",
        "tr",
        "th",
        "td",
        "pre",
        "code",
    }
    assert page.attributes <= {("class", "language-json")}
    assert "fraud <img src=x onerror=alert(1)>" in page.text
    for part in SHOWN_AS_TYPED:
        assert part in page.text
    assert page.text.count("<script>alert(1)</script>") >= 6


def test_html_escapes_every_stored_string_and_links_nothing() -> None:
    html = render.html(document(MODEL, 3, hostile_card()))
    assert "\x1b" not in html and "\u202e" not in html
    page = Page(html)
    assert "script" not in page.tags and "img" not in page.tags and "a" not in page.tags
    ours = {("lang", "en"), ("charset", "utf-8"), ("class", "summary"), ("class", "prose")}
    assert page.attributes <= ours | {("class", "missing")}
    for part in SHOWN_AS_TYPED:
        assert part in page.text
    assert "<title>Model card: fraud &lt;img src=x onerror=alert(1)&gt;, version 3" in html


def test_a_card_shows_what_it_misses() -> None:
    card = ModelCard.model_validate(full_card(factors=None, monitoring_plan=None))
    doc = document("fraud", 2, card)
    text = render.markdown(doc)
    assert "incomplete, missing: factors, monitoring_plan; risk class high." in text
    assert "## Factors\n\n*Not given.*" in text
    assert "| region\\=APAC | auc | 0\\.86 |" in text
    html = render.html(doc)
    assert '<section id="factors">\n<h2>Factors</h2>\n<p class="missing">Not given.</p>' in html


def test_the_diff_names_sections_added_removed_and_changed_with_their_fields() -> None:
    before = ModelCard.model_validate(full_card(fairness_tests=None))
    changed = full_card(robustness_tests=None, intended_use={"primary_uses": ["hold"]})
    changed["risk"] = {"class": "limited", "reason": "analysts decide"}
    after = ModelCard.model_validate(changed)
    found = diff(before, after)
    assert found["identical"] is False
    summary = [(c["section"], c["change"]) for c in found["changes"]]
    assert summary == [
        ("intended_use", "changed"),
        ("risk", "changed"),
        ("fairness_tests", "added"),
        ("robustness_tests", "removed"),
    ]
    risk = found["changes"][1]
    assert risk["before"]["class"] == "high" and risk["after"]["class"] == "limited"
    assert [f["path"] for f in risk["fields"]] == ["risk.class", "risk.reason"]
    uses = found["changes"][0]["fields"]
    # Fields a section no longer has are changes to nothing (lists compare whole).
    assert uses[0] == {
        "path": "intended_use.primary_uses",
        "before": ["hold a card payment for review"],
        "after": ["hold"],
    }
    assert {
        "path": "intended_use.out_of_scope",
        "before": ["credit decisions"],
        "after": None,
    } in uses
    assert found["changes"][2]["before"] is None
    assert diff(after, after) == {"identical": True, "changes": []}


@pytest.mark.parametrize(
    ("given", "accept", "chosen"),
    [
        (None, None, "json"),
        (None, "*/*", "json"),
        (None, "text/html,application/xhtml+xml,*/*;q=0.8", "html"),
        (None, "text/markdown", "markdown"),
        (None, "text/html;q=0.5, text/markdown", "markdown"),
        (None, "text/markdown;q=0, text/html;q=0.1", "html"),
        (None, "image/png", "json"),
        (None, "text/html;q=oops", "json"),
        ("markdown", "text/html", "markdown"),
    ],
)
def test_the_format_is_the_query_s_else_the_accept_header_s(
    given: str | None, accept: str | None, chosen: str
) -> None:
    assert negotiate(given, accept) == chosen  # type: ignore[arg-type]
