"""The facts a promotion gate sees: one version's evidence at the moment it is promoted.

Rules read them as `facts.<name>`:

- metrics: map(string, double). `facts.metrics.auc >= 0.8`
- model_card: a JSON map, may be empty. `has(facts.model_card.intended_use)`
- risk_class: null or one of prohibited, high, limited, minimal. `facts.risk_class != null`
- lineage: lists of ids: datasets, code, runs, parents. `size(facts.lineage.datasets) > 0`
- approvals: list of {subject, roles (list of strings), at (timestamp)}.
  `facts.approvals.exists(a, 'ml-lead' in a.roles)`
- artifact: {digest (string or null), verified (bool), verified_at (timestamp or null)}.
  `facts.artifact.verified`
- stage_from, stage_to: strings. `facts.stage_from == 'staging'`
- tags: map(string, string). `facts.tags['team'] == 'fraud'`

Times are CEL timestamps (compare with `timestamp('2026-01-01T00:00:00Z')`); in JSON
they are RFC 3339 strings in UTC. Sizes are capped, so that evaluating a rule stays
cheap whatever a version holds: facts over the limits are refused when built.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import MappingProxyType
from typing import Any, TypeAlias, cast

from celpy.adapter import json_to_cel

from services.policy.errors import FactsInvalid

Json: TypeAlias = "bool | int | float | str | list[Json] | dict[str, Json] | None"

RISK_CLASSES = ("prohibited", "high", "limited", "minimal")
STAGES = ("development", "staging", "production", "archived")
PROMOTABLE = ("staging", "production")
NAMES = (
    "metrics",
    "model_card",
    "risk_class",
    "lineage",
    "approvals",
    "artifact",
    "stage_from",
    "stage_to",
    "tags",
)
"""Every fact, as rules name them after `facts.`."""

MAX_METRICS = 1000
MAX_TAGS = 100
MAX_APPROVALS = 100
MAX_ROLES = 32
MAX_LINEAGE = 1000
"""References in each lineage list."""
MAX_STRING = 5000
MAX_CARD_BYTES = 256 * 1024
"""The model card as compact JSON."""
MAX_CARD_DEPTH = 16
_INT64 = (-(2**63), 2**63 - 1)


@dataclass(frozen=True)
class Approval:
    """One approval that counts for this promotion, with the approver's roles then."""

    subject: str
    roles: tuple[str, ...]
    at: datetime

    def __post_init__(self) -> None:
        _text(self.subject, "approvals.subject")
        if not isinstance(self.roles, tuple) or len(self.roles) > MAX_ROLES:
            raise FactsInvalid(f"a tuple of at most {MAX_ROLES} roles", field="approvals.roles")
        for role in self.roles:
            _text(role, "approvals.roles")
        object.__setattr__(self, "at", _utc(self.at, "approvals.at"))


@dataclass(frozen=True)
class Artifact:
    """The version's artefact: its digest, and whether (and when) it was verified."""

    digest: str | None = None
    verified: bool = False
    verified_at: datetime | None = None

    def __post_init__(self) -> None:
        if self.digest is not None:
            _text(self.digest, "artifact.digest")
        if not isinstance(self.verified, bool):
            raise FactsInvalid("must be a bool", field="artifact.verified")
        if self.verified_at is not None:
            object.__setattr__(self, "verified_at", _utc(self.verified_at, "artifact.verified_at"))


@dataclass(frozen=True)
class Lineage:
    """Ids of what the version came from; parents are other model versions."""

    datasets: tuple[str, ...] = ()
    code: tuple[str, ...] = ()
    runs: tuple[str, ...] = ()
    parents: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in ("datasets", "code", "runs", "parents"):
            ids = getattr(self, name)
            if not isinstance(ids, tuple) or len(ids) > MAX_LINEAGE:
                raise FactsInvalid(f"a tuple of at most {MAX_LINEAGE} ids", field=f"lineage.{name}")
            for ref in ids:
                _text(ref, f"lineage.{name}")


@dataclass(frozen=True)
class Facts:
    """Everything a gate may read about one version. Build it from the version's state
    at promotion time; construction checks types and limits (FactsInvalid)."""

    stage_from: str
    stage_to: str
    metrics: Mapping[str, float] = field(default_factory=dict)
    model_card: Mapping[str, Json] = field(default_factory=dict)
    risk_class: str | None = None
    lineage: Lineage = field(default_factory=Lineage)
    approvals: tuple[Approval, ...] = ()
    artifact: Artifact = field(default_factory=Artifact)
    tags: Mapping[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.stage_from not in STAGES:
            raise FactsInvalid(f"one of {', '.join(STAGES)}", field="stage_from")
        if self.stage_to not in PROMOTABLE:
            raise FactsInvalid(f"one of {', '.join(PROMOTABLE)}", field="stage_to")
        if self.risk_class is not None and self.risk_class not in RISK_CLASSES:
            raise FactsInvalid(f"null or one of {', '.join(RISK_CLASSES)}", field="risk_class")
        object.__setattr__(self, "metrics", MappingProxyType(_metrics(self.metrics)))
        object.__setattr__(self, "tags", MappingProxyType(_tags(self.tags)))
        object.__setattr__(self, "model_card", MappingProxyType(_card(self.model_card)))
        if not isinstance(self.lineage, Lineage):
            raise FactsInvalid("a Lineage", field="lineage")
        if not isinstance(self.artifact, Artifact):
            raise FactsInvalid("an Artifact", field="artifact")
        if not isinstance(self.approvals, tuple) or len(self.approvals) > MAX_APPROVALS:
            raise FactsInvalid(f"a tuple of at most {MAX_APPROVALS}", field="approvals")
        if not all(isinstance(a, Approval) for a in self.approvals):
            raise FactsInvalid("Approval values", field="approvals")

    def to_json(self) -> dict[str, Json]:
        """The facts as plain JSON (times as RFC 3339 strings), map keys sorted."""
        return _plain(self, str_times=True)

    def to_cel(self) -> dict[str, Any]:
        """The activation for celpy: {"facts": the facts as CEL values}."""
        return {"facts": json_to_cel(_plain(self, str_times=False))}


def _plain(facts: Facts, *, str_times: bool) -> dict[str, Any]:
    def time(value: datetime | None) -> Any:
        if value is None or not str_times:
            return value
        return value.isoformat().replace("+00:00", "Z")

    return {
        "metrics": dict(sorted(facts.metrics.items())),
        "model_card": dict(facts.model_card),
        "risk_class": facts.risk_class,
        "lineage": {
            "datasets": list(facts.lineage.datasets),
            "code": list(facts.lineage.code),
            "runs": list(facts.lineage.runs),
            "parents": list(facts.lineage.parents),
        },
        "approvals": [
            {"subject": a.subject, "roles": list(a.roles), "at": time(a.at)}
            for a in facts.approvals
        ],
        "artifact": {
            "digest": facts.artifact.digest,
            "verified": facts.artifact.verified,
            "verified_at": time(facts.artifact.verified_at),
        },
        "stage_from": facts.stage_from,
        "stage_to": facts.stage_to,
        "tags": dict(sorted(facts.tags.items())),
    }


def _sorted(value: Json) -> Json:
    # Key order never changes what a rule sees: map iteration in CEL follows it.
    if isinstance(value, dict):
        return {k: _sorted(v) for k, v in sorted(value.items())}
    if isinstance(value, list):
        return [_sorted(v) for v in value]
    return value


def _text(value: Any, name: str) -> str:
    if not isinstance(value, str) or len(value) > MAX_STRING:
        raise FactsInvalid(f"a string of at most {MAX_STRING} characters", field=name)
    return value


def _utc(value: Any, name: str) -> datetime:
    if not isinstance(value, datetime) or value.utcoffset() is None:
        raise FactsInvalid("a datetime with a time zone", field=name)
    return value.astimezone(UTC)


def _metrics(metrics: Any) -> dict[str, float]:
    if not isinstance(metrics, Mapping) or len(metrics) > MAX_METRICS:
        raise FactsInvalid(f"a mapping of at most {MAX_METRICS} names", field="metrics")
    checked = {}
    for key, value in metrics.items():
        _text(key, "metrics")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise FactsInvalid("must be a number", field=f"metrics.{key}")
        if not math.isfinite(value):
            raise FactsInvalid("must be finite", field=f"metrics.{key}")
        # Doubles throughout: CEL has no equality between int and double.
        checked[key] = float(value)
    return checked


def _tags(tags: Any) -> dict[str, str]:
    if not isinstance(tags, Mapping) or len(tags) > MAX_TAGS:
        raise FactsInvalid(f"a mapping of at most {MAX_TAGS} tags", field="tags")
    return {_text(k, "tags"): _text(v, f"tags.{k}") for k, v in tags.items()}


def _card(card: Any) -> dict[str, Json]:
    if not isinstance(card, Mapping):
        raise FactsInvalid("a mapping", field="model_card")
    # Checked without recursion first, so that a deep or huge card is refused cheaply.
    items = 0
    stack: list[tuple[Any, int]] = [(card, 1)]
    while stack:
        value, depth = stack.pop()
        if depth > MAX_CARD_DEPTH:
            raise FactsInvalid(f"nests deeper than {MAX_CARD_DEPTH} levels", field="model_card")
        children: list[Any] = []
        if isinstance(value, Mapping):
            if not all(isinstance(k, str) for k in value):
                raise FactsInvalid("keys must be strings", field="model_card")
            children = list(value.values())
        elif isinstance(value, list | tuple):
            children = list(value)
        elif isinstance(value, float) and not math.isfinite(value):
            raise FactsInvalid("numbers must be finite", field="model_card")
        elif isinstance(value, int) and not isinstance(value, bool):
            if not _INT64[0] <= value <= _INT64[1]:
                raise FactsInvalid("integers must fit in 64 bits", field="model_card")
        elif not (value is None or isinstance(value, str | bool | float)):
            raise FactsInvalid(f"{type(value).__name__} is not JSON", field="model_card")
        # Every value takes at least a byte of JSON: past this count the card is too big.
        items += len(children)
        if items > MAX_CARD_BYTES:
            raise FactsInvalid(f"larger than {MAX_CARD_BYTES} bytes as JSON", field="model_card")
        stack.extend((child, depth + 1) for child in children)
    plain = _sorted(_copy(card))
    size = len(json.dumps(plain, ensure_ascii=False).encode("utf-8", "surrogatepass"))
    if size > MAX_CARD_BYTES:
        raise FactsInvalid(f"larger than {MAX_CARD_BYTES} bytes as JSON", field="model_card")
    return cast(dict[str, Json], plain)


def _copy(value: Any) -> Json:
    if isinstance(value, Mapping):
        return {k: _copy(v) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [_copy(v) for v in value]
    return cast(Json, value)
