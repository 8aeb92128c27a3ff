"""A card laid out as a document: titled sections of blocks (prose, lists, label/value
pairs, tables, JSON), the same for every output format. The strings here are raw; each
renderer makes them inert its own way."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from schemas import model_card as mc

Kind = Literal["text", "items", "fields", "table", "json"]


@dataclass(frozen=True)
class Block:
    """One block: `title` is ours (a sub-heading, may be empty); the content is stored text.

    text: `text`; items: `items`; fields: `pairs` of (our label, stored value);
    table: `headers` (ours) and `rows`; json: `text`, a JSON document.
    """

    kind: Kind
    title: str = ""
    text: str = ""
    items: list[str] = field(default_factory=list)
    pairs: list[tuple[str, str]] = field(default_factory=list)
    headers: list[str] = field(default_factory=list)
    rows: list[list[str]] = field(default_factory=list)


@dataclass(frozen=True)
class Section:
    key: str
    title: str
    blocks: list[Block]


@dataclass(frozen=True)
class Document:
    model: str
    number: int
    schema_version: int
    completeness: mc.Completeness
    risk: str | None
    sections: list[Section]


TITLES = {
    "model_details": "Model details",
    "intended_use": "Intended use",
    "intended_purpose": "Intended purpose",
    "factors": "Factors",
    "metrics": "Metrics",
    "evaluation_data": "Evaluation data",
    "training_data": "Training data",
    "quantitative_analyses": "Quantitative analyses",
    "ethical_considerations": "Ethical considerations",
    "caveats_and_recommendations": "Caveats and recommendations",
    "risk": "Risk classification",
    "owners": "Responsible owners",
    "monitoring_plan": "Monitoring plan",
    "fairness_tests": "Fairness tests",
    "robustness_tests": "Robustness tests",
    "legacy": "Earlier untyped card",
}


def value(v: Any) -> str:
    """A stored value as text: numbers as Python writes them back exactly."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "no"
    if isinstance(v, list):
        return ", ".join(value(x) for x in v)
    return str(v)


def _label(name: str) -> str:
    return name.replace("_", " ").capitalize()


def _fields(part: mc.Part, title: str = "") -> list[Block]:
    """Scalar fields as label/value pairs, lists of statements as titled lists."""
    pairs, lists = [], []
    for name in type(part).model_fields:
        v = getattr(part, name)
        if v is None or v == []:
            continue
        if isinstance(v, list) and all(isinstance(x, str) for x in v):
            lists.append(Block("items", title=_label(name), items=list(v)))
        elif not isinstance(v, list):
            pairs.append((_label(name), value(v)))
    return ([Block("fields", title=title, pairs=pairs)] if pairs else []) + lists


def _table(headers: list[str], rows: list[list[Any]], title: str = "") -> Block:
    return Block("table", title=title, headers=headers, rows=[[value(c) for c in r] for r in rows])


def _data(d: mc.Data) -> list[Block]:
    blocks = []
    if d.datasets:
        rows = [[s.name, s.uri, s.description] for s in d.datasets]
        blocks.append(_table(["Dataset", "URI", "Description"], rows, "Datasets"))
    return blocks + _fields(d)


def _interval(s: mc.SliceResult) -> str:
    if s.lower is None and s.upper is None:
        return ""
    return f"[{value(s.lower)}, {value(s.upper)}]"


def _analyses(q: mc.QuantitativeAnalyses) -> list[Block]:
    blocks = []
    if q.slices:
        rows = [[s.slice, s.metric, s.value, _interval(s), s.dataset] for s in q.slices]
        blocks.append(_table(["Slice", "Metric", "Value", "Interval", "Dataset"], rows))
    return blocks + _fields(q)


def _checks(tests: list[mc.CheckResult]) -> list[Block]:
    rows = [
        [
            t.name,
            t.metric,
            t.slice,
            t.value,
            t.threshold,
            "passed" if t.passed else "FAILED",
            t.notes,
        ]
        for t in tests
    ]
    headers = ["Test", "Metric", "Slice", "Value", "Threshold", "Result", "Notes"]
    return [_table(headers, rows)]


def _monitoring(m: mc.MonitoringPlan) -> list[Block]:
    blocks = _fields(m)
    if m.alerts:
        rows = [[a.metric, a.condition, a.action] for a in m.alerts]
        blocks.append(_table(["Metric", "Condition", "Action"], rows, "Alerts"))
    return blocks


def _blocks(key: str, v: Any) -> list[Block]:
    layouts: dict[str, Callable[[Any], list[Block]]] = {
        "intended_purpose": lambda t: [Block("text", text=t)],
        "evaluation_data": _data,
        "training_data": _data,
        "quantitative_analyses": _analyses,
        "risk": lambda r: [Block("fields", pairs=[("Class", r.class_), ("Reason", r.reason)])],
        "owners": lambda os: [_table(["Subject", "Role"], [[o.subject, o.role] for o in os])],
        "monitoring_plan": _monitoring,
        "fairness_tests": _checks,
        "robustness_tests": _checks,
        "legacy": lambda d: [Block("json", text=json.dumps(d, indent=2, sort_keys=True))],
    }
    return layouts.get(key, _fields)(v)


def document(model: str, number: int, card: mc.ModelCard) -> Document:
    """The card of version number of model, as a document. Expected sections that are
    empty are kept (with no blocks), so a reader sees what is missing."""
    sections = []
    for key in mc.SECTIONS:
        v = getattr(card, key)
        if key == "legacy" and v is None:
            continue
        empty = v is None or v == [] or v == ""
        sections.append(Section(key, TITLES[key], [] if empty else _blocks(key, v)))
    return Document(
        model=model,
        number=number,
        schema_version=card.schema_version,
        completeness=mc.completeness(card),
        risk=card.risk.class_ if card.risk else None,
        sections=sections,
    )
