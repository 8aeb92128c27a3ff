"""POST /api/v1/artifacts/gc: find, and with apply remove, the stored objects that no
version references and that are older than the grace period.

References come from the event log, read a page of registrations at a time (every version
ever registered: deleted ones keep their objects). The store is listed after the log was
read, and before removing, the registrations that arrived meanwhile are read too: an
object a version has just come to reference is spared.
"""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

import asyncpg
from fastapi import APIRouter, Body, Request

from schemas.artifacts import GcApplied, GcDryRun, GcObject, GcReport, GcRequest
from services.api.caller import CALLER, require_admin
from services.api.errors import ApiError
from services.api.params import errors
from services.artifacts import gc
from services.artifacts.port import ArtifactStore, ObjectInfo
from services.eventlog.port import EventLog
from services.eventlog.postgres import PostgresEventLog
from services.mlflow import paths

router = APIRouter(prefix="/api/v1/artifacts", tags=["artifacts"], dependencies=[CALLER])

PAGE = 1000  # registrations read at once


async def referenced_digests(log: EventLog, after: int = 0) -> tuple[set[str], int]:
    """The digests named by the registrations after position `after`, and the position of
    the last one read (`after` when there were none)."""
    digests: set[str] = set()
    position = after
    while True:
        page = await log.registrations_after(position, PAGE)
        for event in page:
            digests.update(gc.references(event.data))
        if page:
            position = page[-1].position
        if len(page) < PAGE:
            return digests, position


def _objects(found: list[ObjectInfo]) -> list[GcObject]:
    return [GcObject(sha256=o.sha256, size=o.size, modified=o.modified) for o in found]


@router.post("/gc", responses=errors(401, 403, 409, 413, 422))
async def collect_garbage(request: Request, asked: GcRequest = Body(GcRequest())) -> GcReport:
    """Lists the stored objects that no version references, that no MLflow artefact path
    holds, and that are older than the grace period; with apply, removes them. Without a
    body: a dry run. Administrators only."""
    await require_admin(request, "collect garbage")
    store: ArtifactStore | None = request.app.state.artifacts
    if store is None:
        raise ApiError(409, "no_artifact_store", "this registry stores no artefacts")
    hours = asked.grace_hours
    grace = timedelta(hours=request.app.state.artifact_gc_grace_hours if hours is None else hours)
    conn = await asyncpg.connect(
        request.app.state.events_dsn, server_settings={"application_name": "registrum-gc"}
    )
    try:
        log = PostgresEventLog(conn)
        referenced, position = await referenced_digests(log)
        # Files MLflow's client uploaded to a path are kept while the path holds them.
        referenced |= await paths.digests(conn)
        now = datetime.now(UTC)
        planned = await asyncio.to_thread(gc.plan, store, referenced, grace, now)
        if not asked.apply:
            return GcDryRun(
                applied=False,
                would_remove=_objects(list(planned.remove)),
                kept_young=planned.kept_young,
                referenced=planned.referenced,
                bytes=planned.bytes,
            )
        since, _ = await referenced_digests(log, after=position)
        since |= await paths.digests(conn)  # uploaded since the plan
    finally:
        await conn.close()
    removed = await asyncio.to_thread(gc.sweep, store, planned, since)
    return GcApplied(
        applied=True,
        removed=_objects(removed),
        kept_young=planned.kept_young,
        referenced=planned.referenced + len(planned.remove) - len(removed),
        bytes=sum(o.size for o in removed),
    )
