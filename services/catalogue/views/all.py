"""All views of the read side, by name."""

from __future__ import annotations

from services.catalogue.views import View, access, catalogue, history, lineage, timeline

VIEWS: dict[str, View] = {
    v.name: v for v in (catalogue.view, history.view, lineage.view, timeline.view, access.view)
}
