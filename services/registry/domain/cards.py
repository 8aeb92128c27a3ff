"""Model cards as the log keeps them: plain JSON objects, typed since schema version 1.

The card's shape is the public contract's (schemas/model_card.py, which checks every
field on the way in); the domain keeps what decides between events: the card's top-level
sections, its size, how an amendment merges into it, and how a card written before cards
were typed is read. Pure functions on dicts, shared with the read side and the relay so
that all three read an old event the same way.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from typing import Any

from services.registry.domain.errors import InvalidInput

SCHEMA_VERSION = 1
LEGACY = "legacy"
MAX_CARD_BYTES = 256 * 1024
SECTIONS = (
    "model_details",
    "intended_use",
    "intended_purpose",
    "factors",
    "metrics",
    "evaluation_data",
    "training_data",
    "quantitative_analyses",
    "ethical_considerations",
    "caveats_and_recommendations",
    "risk",
    "owners",
    "monitoring_plan",
    "fairness_tests",
    "robustness_tests",
    LEGACY,
)


def from_untyped(card: Mapping[str, Any]) -> dict[str, Any]:
    """A card written before cards were typed (free JSON), as a typed card: its content
    kept whole under `legacy`. An empty one is no card."""
    return {"schema_version": SCHEMA_VERSION, LEGACY: dict(card)} if card else {}


def is_typed(card: Mapping[str, Any]) -> bool:
    return not card or "schema_version" in card


def typed(card: Mapping[str, Any]) -> dict[str, Any]:
    """card as a typed card, whatever its age (for stores that may hold either)."""
    return dict(card) if is_typed(card) else from_untyped(card)


def stored_card(data: Mapping[str, Any]) -> dict[str, Any]:
    """The card of a stored ModelCardUpdated event's fields, old or new: class_version 1
    events held free JSON."""
    card: dict[str, Any] = data["card"]
    return card if data.get("class_version", 1) >= 2 else from_untyped(card)


def amended(
    card: Mapping[str, Any], sections: Mapping[str, Any], removed: Iterable[str]
) -> dict[str, Any]:
    """card with sections replaced and removed ones emptied; a card begun by an
    amendment is typed. The read side does the same in SQL (views/catalogue.py)."""
    gone = set(removed)
    kept = {k: v for k, v in typed(card).items() if k not in gone}
    return {"schema_version": SCHEMA_VERSION, **kept, **sections}


def check_sections(names: Iterable[str]) -> None:
    unknown = sorted(set(names) - set(SECTIONS))
    if unknown:
        raise InvalidInput(f"unknown card sections: {', '.join(unknown)}", field="card")


def check_card(card: Mapping[str, Any]) -> None:
    """A card as a whole: typed (or empty), known sections, within MAX_CARD_BYTES."""
    if not card:
        return
    if card.get("schema_version") != SCHEMA_VERSION:
        raise InvalidInput(f"a card has schema_version {SCHEMA_VERSION}", field="card")
    check_sections(k for k in card if k != "schema_version")
    size = len(json.dumps(card, separators=(",", ":"), ensure_ascii=False).encode())
    if size > MAX_CARD_BYTES:
        raise InvalidInput(
            f"the model card is larger than {MAX_CARD_BYTES} bytes",
            field="card",
            limit=MAX_CARD_BYTES,
        )
