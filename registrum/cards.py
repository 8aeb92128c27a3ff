"""The Client's model card methods: set or amend a card, read it (JSON, Markdown, HTML),
and compare two versions' cards."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from registrum.transfers import seg

if TYPE_CHECKING:
    from registrum.transport import Transport

MEDIA = {"markdown": "text/markdown", "html": "text/html"}


def _version(name: str, number: int) -> str:
    return f"/api/v1/models/{seg(name)}/versions/{seg(number)}"


class CardMethods:
    """Mixed into Client; relies on its transport."""

    if TYPE_CHECKING:
        _t: Transport

        def _call(
            self, method: str, path: str, body: dict[str, Any] | None = None, **kw: Any
        ) -> Any: ...

    def update_model_card(
        self, name: str, number: int, card: dict[str, Any], **fields: Any
    ) -> dict[str, Any]:
        """Sets the whole model card of a version (sections left out are emptied)."""
        path = f"{_version(name, number)}/model-card"
        return self._call("PUT", path, {"card": card, **fields})

    def amend_model_card(
        self,
        name: str,
        number: int,
        sections: dict[str, Any] | None = None,
        remove: list[str] | None = None,
        **fields: Any,
    ) -> dict[str, Any]:
        """Sets some sections of a version's model card (each replaced whole) and empties
        those in remove; the others are kept."""
        path = f"{_version(name, number)}/model-card"
        body = {"sections": sections or {}, "remove": remove or [], **fields}
        return self._call("PATCH", path, body)

    def get_card(self, name: str, number: int) -> dict[str, Any]:
        """A version's model card: {"card", "completeness": {"complete", "filled",
        "missing"}, "model", "version"}."""
        return self._call("GET", f"{_version(name, number)}/card", params={"format": "json"})

    def render_card(self, name: str, number: int, format: str = "markdown") -> str:
        """A version's model card as a document: format is markdown or html."""
        if format not in MEDIA:
            raise ValueError("format is markdown or html")
        path = f"{_version(name, number)}/card"
        return self._t.text(path, {"format": format}, MEDIA[format])

    def card_diff(self, name: str, number: int, against: int) -> dict[str, Any]:
        """What changed from version against's card to version number's:
        {"identical", "changes": [{"section", "change", "before", "after", "fields"}]}."""
        path = f"{_version(name, number)}/card/diff"
        return self._call("GET", path, params={"against": against})
