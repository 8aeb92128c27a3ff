"""A dossier as one self-contained HTML page (no script, no outside resource): every value
escaped by Jinja2's autoescape, stored text shown as text, never as markup or links."""

from __future__ import annotations

import unicodedata
from typing import Any

from jinja2 import Environment, select_autoescape

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>Dossier: {{ general.model|inert }} version {{ general.version }}</title>
<style>
body{font:15px/1.45 system-ui,sans-serif;max-width:60rem;margin:2rem auto;padding:0 1rem;color:#222}
h1{font-size:1.6rem}h2{font-size:1.2rem;border-bottom:1px solid #ccc;margin-top:2rem}
.map{color:#555;font-size:.85rem}table{border-collapse:collapse;width:100%}
td,th{border:1px solid #ddd;padding:.25rem .4rem;vertical-align:top;text-align:left}
th{background:#f5f5f5;width:14rem}code{word-break:break-all}
.ok{color:#075;font-weight:bold}.bad{color:#a00;font-weight:bold}
</style></head><body>
<h1>Dossier: {{ general.model|inert }} version {{ general.version }}</h1>
<p>Generated {{ doc.generated_at }} ({{ doc.format }}). Proof:
{% if proof.verified %}<span class="ok">the log verifies and the checkpoint's signature holds</span>
{% else %}<span class="bad">{{ proof.status }}</span>{% endif %}</p>
{% for m in doc.mapping %}
<h2 id="{{ m.section }}">{{ loop.index }}. {{ m.title }}</h2>
<p class="map">EU AI Act: {{ m.eu_ai_act }} · NIST AI RMF: {{ m.nist_ai_rmf }} ·
ISO/IEC 42001: {{ m.iso_42001 }}</p>
{{ show(doc.sections[m.section]) }}
{% endfor %}
<h2>Controls</h2>
<table><tr><th>Section</th><th>EU AI Act</th><th>NIST AI RMF 1.0</th>
<th>ISO/IEC 42001 Annex A</th></tr>
{% for m in doc.mapping %}<tr><td>{{ m.title }}</td><td>{{ m.eu_ai_act }}</td>
<td>{{ m.nist_ai_rmf }}</td><td>{{ m.iso_42001 }}</td></tr>{% endfor %}
</table></body></html>
"""

_SHOW = """{% macro show(value) -%}
{%- if value is mapping -%}
{%- if value -%}<table>{% for k, v in value.items() %}
<tr><th>{{ k }}</th><td>{{ show(v) }}</td></tr>{% endfor %}</table>
{%- else %}<em>none</em>{% endif -%}
{%- elif value is iterable and value is not string -%}
{%- if value -%}<ol>{% for v in value %}<li>{{ show(v) }}</li>{% endfor %}</ol>
{%- else %}<em>none</em>{% endif -%}
{%- elif value is none -%}<em>not stated</em>
{%- else -%}<code>{{ value|inert }}</code>{%- endif -%}
{%- endmacro %}"""


# Control, format (bidi overrides, zero-width), surrogate and line/paragraph separators.
_UNSAFE = ("Cc", "Cf", "Cs", "Zl", "Zp")


def inert(value: Any) -> str:
    """value as text with invisible and control characters shown escaped (\\x1b)."""
    text = str(value)
    if text.isprintable():
        return text
    return "".join(
        ch.encode("unicode_escape").decode("ascii") if unicodedata.category(ch) in _UNSAFE else ch
        for ch in text
    )


def html(doc: dict[str, Any]) -> str:
    env = Environment(autoescape=select_autoescape(default=True, default_for_string=True))
    env.filters["inert"] = inert
    template = env.from_string(_SHOW + _PAGE)
    sections = doc["sections"]
    return template.render(doc=doc, general=sections["general"], proof=sections["proof"] or {})
