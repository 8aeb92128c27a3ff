"""What changed between two cards: sections added, removed or changed, each with its
value before and after; for a changed section, also the fields that differ (by path)."""

from __future__ import annotations

from typing import Any

from schemas.model_card import SECTIONS, ModelCard


def _fields(before: Any, after: Any, path: str) -> list[dict[str, Any]]:
    """The leaves that differ; lists are compared whole."""
    if before == after:
        return []
    if isinstance(before, dict) and isinstance(after, dict):
        found = []
        for key in [*before, *(k for k in after if k not in before)]:
            found += _fields(before.get(key), after.get(key), f"{path}.{key}")
        return found
    return [{"path": path, "before": before, "after": after}]


def diff(before: ModelCard, after: ModelCard) -> dict[str, Any]:
    """From before to after, section by section, in the card's order."""
    old, new = before.stored(), after.stored()
    changes = []
    for section in SECTIONS:
        was, now = old.get(section), new.get(section)
        if was == now:
            continue
        change: dict[str, Any] = {"section": section, "before": was, "after": now}
        if was is None:
            change["change"] = "added"
        elif now is None:
            change["change"] = "removed"
        else:
            change["change"] = "changed"
            change["fields"] = _fields(was, now, section)
        changes.append(change)
    return {"identical": not changes, "changes": changes}
