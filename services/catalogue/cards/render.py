"""A card document as Markdown or HTML. Whatever was stored renders inert: it is shown as
typed and never becomes markup, a link, a script or a terminal escape.

- Control and invisible formatting characters (ANSI escapes, carriage returns, bidi
  overrides, line separators) are shown escaped, e.g. `\\x1b`, in both formats.
- Markdown: every ASCII punctuation character of stored text is backslash-escaped
  (CommonMark lets any be), so no stored text opens emphasis, a link, an HTML tag, a
  heading, a list or a table cell; JSON goes in a code fence longer than any run of
  backticks it holds.
- HTML: Jinja2 with autoescape; stored URIs are text, never links.
"""

from __future__ import annotations

import re
import string
import unicodedata
from typing import Any

import jinja2

from services.catalogue.cards.document import Block, Document

# Control, format, surrogate, private-use, and line/paragraph separators.
_UNSAFE = ("Cc", "Cf", "Cs", "Co", "Zl", "Zp")
_PUNCTUATION = frozenset(string.punctuation)


def visible(text: str, keep: str = "") -> str:
    """text with unsafe characters (but those in keep) written as escapes (\\x1b)."""
    if text.isprintable() and not keep:
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii")
        if ch not in keep and unicodedata.category(ch) in _UNSAFE
        else ch
        for ch in text
    )


def md(text: str) -> str:
    """Stored text for one line of Markdown: escaped, its line breaks made spaces."""
    flat = " ".join(text.splitlines())
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in visible(flat))


def _md_prose(text: str) -> str:
    """Stored text as Markdown paragraphs: its blank lines part them."""
    lines = [md(line.strip()) for line in visible(text, keep="\n").split("\n")]
    return "\n".join(lines).strip("\n")


def _fence(text: str) -> str:
    longest = max((len(run) for run in re.findall("`+", text)), default=0)
    return "`" * max(3, longest + 1)


def _md_block(block: Block) -> list[str]:
    out = [f"### {block.title}", ""] if block.title else []
    if block.kind == "text":
        out.append(_md_prose(block.text))
    elif block.kind == "items":
        out += [f"- {md(item)}" for item in block.items]
    elif block.kind == "fields":
        out += [f"- **{label}:** {md(v)}" for label, v in block.pairs]
    elif block.kind == "table":
        out.append("| " + " | ".join(block.headers) + " |")
        out.append("|" + " --- |" * len(block.headers))
        out += ["| " + " | ".join(md(cell) for cell in row) + " |" for row in block.rows]
    else:  # json: escaped to ASCII by json.dumps, fenced
        text = visible(block.text, keep="\n")
        fence = _fence(text)
        out += [f"{fence}json", text, fence]
    return [*out, ""]


def summary(doc: Document) -> str:
    c = doc.completeness
    state = "complete" if c.complete else f"incomplete, missing: {', '.join(c.missing)}"
    risk = f"risk class {doc.risk}" if doc.risk else "no risk class"
    return f"Schema version {doc.schema_version}; {state}; {risk}."


def markdown(doc: Document) -> str:
    lines = [f"# Model card: {md(doc.model)}, version {doc.number}", "", summary(doc), ""]
    for section in doc.sections:
        lines += [f"## {section.title}", ""]
        if not section.blocks:
            lines += ["*Not given.*", ""]
        for block in section.blocks:
            lines += _md_block(block)
    return "\n".join(lines).rstrip("\n") + "\n"


_HTML = """\
<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<title>Model card: {{ doc.model }}, version {{ doc.number }}</title>
<style>
body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
table { border-collapse: collapse; } td, th { border: 1px solid #ccc; padding: .2rem .5rem; }
.prose, td, dd { white-space: pre-wrap; } .missing { color: #a00; }
</style>
</head>
<body>
<h1>Model card: {{ doc.model }}, version {{ doc.number }}</h1>
<p class="summary">{{ summary }}</p>
{% for section in doc.sections %}
<section id="{{ section.key }}">
<h2>{{ section.title }}</h2>
{% if not section.blocks %}<p class="missing">Not given.</p>{% endif %}
{% for block in section.blocks %}
{% if block.title %}<h3>{{ block.title }}</h3>{% endif %}
{% if block.kind == "text" %}<p class="prose">{{ block.text }}</p>
{% elif block.kind == "items" %}<ul>
{% for item in block.items %}<li>{{ item }}</li>
{% endfor %}</ul>
{% elif block.kind == "fields" %}<dl>
{% for label, v in block.pairs %}<dt>{{ label }}</dt><dd>{{ v }}</dd>
{% endfor %}</dl>
{% elif block.kind == "table" %}<table>
<tr>{% for h in block.headers %}<th>{{ h }}</th>{% endfor %}</tr>
{% for row in block.rows %}<tr>{% for cell in row %}<td>{{ cell }}</td>{% endfor %}</tr>
{% endfor %}</table>
{% else %}<pre>{{ block.text }}</pre>
{% endif %}
{% endfor %}
</section>
{% endfor %}
</body>
</html>
"""


def _finalize(v: Any) -> Any:
    # Every {{ expression }} passes here before autoescape: controls become escapes.
    return visible(v, keep="\n") if isinstance(v, str) else v


_ENV = jinja2.Environment(
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    finalize=_finalize,
    trim_blocks=True,
    lstrip_blocks=True,
)
_TEMPLATE = _ENV.from_string(_HTML)


def html(doc: Document) -> str:
    return _TEMPLATE.render(doc=doc, summary=summary(doc))
