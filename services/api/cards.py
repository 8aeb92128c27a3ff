"""A version's model card, read from the catalogue: as JSON (typed, with which sections are
filled), Markdown or HTML, and what changed between two versions' cards. Reads see what
the caller may read (else 404), like every other read."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request, Response
from pydantic import BeforeValidator

from schemas.model_card import completeness, read_card
from schemas.rules import MAX_INT
from services.api.caller import CALLER, readers
from services.api.params import READ_ERRORS, ModelName, VersionNumber, digits
from services.api.reads import MinPosition, Wait, fast, views
from services.catalogue import queries
from services.catalogue.cards import render
from services.catalogue.cards.diff import diff
from services.catalogue.cards.document import document

router = APIRouter(
    prefix="/api/v1/models/{name}/versions/{number}/card",
    tags=["reads"],
    responses=READ_ERRORS,
    dependencies=[CALLER],
)

Format = Literal["json", "markdown", "html"]
MEDIA = {"json": "application/json", "markdown": "text/markdown", "html": "text/html"}
_BY_MEDIA = {"application/json": "json", "text/markdown": "markdown", "text/html": "html"}
# The page is a document, not an application: nothing in it may run or load.
HTML_HEADERS = {
    "Content-Security-Policy": "default-src 'none'; style-src 'unsafe-inline'",
    "X-Content-Type-Options": "nosniff",
    "Vary": "Accept",
}


def negotiate(chosen: Format | None, accept: str | None) -> Format:
    """format= if given; else the Accept header's most wanted of our formats; else JSON."""
    if chosen:
        return chosen
    ranked = []
    for i, item in enumerate((accept or "").split(",")):
        media, *params = (p.strip() for p in item.split(";"))
        q = next((p[2:] for p in params if p.startswith("q=")), "1")
        try:
            weight = float(q)
        except ValueError:
            continue
        if media.lower() in _BY_MEDIA and weight > 0:
            ranked.append((-weight, i, _BY_MEDIA[media.lower()]))
    return min(ranked)[2] if ranked else "json"  # type: ignore[return-value]


CARD_RESPONSES: dict[int | str, dict[str, Any]] = {
    200: {
        "description": "The card: JSON (`card`, `completeness`), Markdown or HTML",
        "content": {
            "application/json": {"schema": {"type": "object"}},
            "text/markdown": {"schema": {"type": "string"}},
            "text/html": {"schema": {"type": "string"}},
        },
    }
}


@router.get("", responses=CARD_RESPONSES, response_class=Response)
async def get_card(
    name: ModelName,
    number: VersionNumber,
    request: Request,
    format: Format | None = Query(
        None, description="json, markdown or html; without it, the Accept header decides"
    ),
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    async with views(request, min_position, wait) as (conn, s):
        version = await queries.get_version(conn, s, name, number, readers(request))
    card = read_card(version["model_card"])
    chosen = negotiate(format, request.headers.get("accept"))
    if chosen == "json":
        response = fast(
            {
                "model": version["model"],
                "version": number,
                "card": card.stored(),
                "completeness": completeness(card).model_dump(),
            }
        )
        response.headers["Vary"] = "Accept"
        return response
    doc = document(version["model"], number, card)
    if chosen == "markdown":
        markdown = render.markdown(doc)
        return Response(markdown, media_type=MEDIA["markdown"], headers={"Vary": "Accept"})
    return Response(render.html(doc), media_type=MEDIA["html"], headers=HTML_HEADERS)


@router.get("/diff")
async def card_diff(
    name: ModelName,
    number: VersionNumber,
    request: Request,
    against: Annotated[
        int,
        # Inside Annotated, with Query: a Query() default would drop the validator.
        Query(ge=1, le=MAX_INT, description="The version compared with: its card is 'before'"),
        BeforeValidator(digits),
    ],
    min_position: str | None = MinPosition,
    wait: float = Wait,
) -> Response:
    """What changed from version `against`'s card to this version's."""
    who = readers(request)
    async with views(request, min_position, wait) as (conn, s):
        after = await queries.get_version(conn, s, name, number, who)
        before = await queries.get_version(conn, s, name, against, who)
    changes = diff(read_card(before["model_card"]), read_card(after["model_card"]))
    return fast({"model": after["model"], "version": number, "against": against, **changes})
