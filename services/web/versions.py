"""A version's page: its facts, files (sizes, digests, downloads), model card, lineage
graph, approval requests with the decisions the viewer may take, gate evaluations and
its events."""

from __future__ import annotations

import asyncio
import uuid
from typing import Any
from urllib.parse import quote
from uuid import UUID

from fastapi import APIRouter, Request, Response

from schemas.model_card import ModelCard, read_card
from services.api.artifacts import version_file
from services.api.caller import readers
from services.api.params import ModelName, VersionNumber
from services.catalogue import decisions, queries
from services.catalogue.cards.document import document
from services.registry.domain.access import RELEASE, Permission, Target
from services.web import lineage
from services.web.reading import After, reading
from services.web.render import HEADERS, page
from services.web.session import VIEWER

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[VIEWER])

LINEAGE_DEPTH = 3


@router.get("/models/{name}/versions/{number}")
async def version_page(
    name: ModelName, number: VersionNumber, request: Request, after: str | None = After
) -> Response:
    return await show(request, name, number, after)


@router.get("/models/{name}/versions/{number}/files/{path:path}")
async def download(name: ModelName, number: VersionNumber, path: str, request: Request) -> Any:
    """A file of the version, streamed from the store and re-hashed as it goes (the API's
    own download, for a browser that holds a session rather than a bearer header). Always
    an attachment with the console's headers: a stored file is never a page of ours (an
    uploaded index.html must not run with the viewer's session)."""
    answer = await version_file(name, number, path, request)
    if isinstance(answer, Response):
        answer.headers.update(HEADERS)
        filename = quote(path.rsplit("/", 1)[-1], safe="")
        answer.headers["Content-Disposition"] = f"attachment; filename*=UTF-8''{filename}"
    return answer


async def show(
    request: Request,
    name: str,
    number: int,
    after: str | None = None,
    refusal: str | None = None,
    status: int = 200,
) -> Response:
    """The page; refusal (a command of this page the registry refused) shown on top."""
    async with reading(request, after) as (conn, s):
        version = await queries.get_version(conn, s, name, number, readers(request))
        events = await decisions.activity(conn, s, UUID(version["model_id"]), number)
        upstream = await queries.lineage(
            conn, s, "model_version", version["id"], "upstream", LINEAGE_DEPTH, readers(request)
        )
        downstream = await queries.lineage(
            conn, s, "model_version", version["id"], "downstream", LINEAGE_DEPTH, readers(request)
        )
    card = read_card(version["model_card"])
    rights = await _rights(request, version)
    return page(
        request,
        "version.html",
        status,
        v=version,
        card=_card(version, card),
        lineage=lineage.layout(upstream, downstream),
        depth=LINEAGE_DEPTH,
        events=events,
        rights=rights,
        refusal=refusal,
        form_id=uuid.uuid4().hex,
    )


def _card(version: dict[str, Any], card: ModelCard) -> Any:
    """The card as a document of sections, or None when nothing was written."""
    doc = document(version["model"], version["number"], card)
    return doc if doc.sections else None


async def _rights(request: Request, version: dict[str, Any]) -> dict[str, bool]:
    """Which forms to offer the viewer; the registry still decides each command."""
    registry = request.app.state.registry
    viewer = request.state.caller
    target = Target(model_id=UUID(version["model_id"]), name=version["model"])

    def holds() -> dict[str, bool]:
        wanted = {"review": Permission.REVIEW, **RELEASE}
        return {key: registry.allowed(viewer, needed, target) for key, needed in wanted.items()}

    return await asyncio.to_thread(holds)
