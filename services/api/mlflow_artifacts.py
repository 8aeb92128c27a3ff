"""MLflow's artefact proxy API (/api/2.0/mlflow-artifacts/artifacts), on our
content-addressed store: an experiment whose artefact location is this registry
(`http(s)://<registry>/api/2.0/mlflow-artifacts/artifacts/<folder>`) has MLflow's client
upload its models' files here, and a version registered from there records every file's
digest (services/mlflow/paths.py). Downloads are re-hashed while they stream, so a
client loading models:/NAME@ALIAS gets the bytes the version recorded or a broken
transfer, never altered bytes.

Uploading, listing and deleting upload paths need what /api/v1/artifacts needs
(contribute on some model); downloading a file needs that, or read access to a version
that names its object; a version's pinned path needs read access to the version.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import anyio
from fastapi import APIRouter, Request, Response
from fastapi.responses import StreamingResponse

from services.api import artifacts as native
from services.api.caller import CALLER, caller, readers
from services.api.reads import fast, views
from services.artifacts.port import ArtifactNotFound, verified
from services.mlflow import paths, versions
from services.mlflow.errors import MlflowError
from services.observability import metrics

PREFIXES = ("/api/2.0/mlflow-artifacts", "/ajax-api/2.0/mlflow-artifacts")

router = APIRouter(dependencies=[CALLER], include_in_schema=False)


@asynccontextmanager
async def index(request: Request) -> AsyncIterator[Any]:
    async with request.app.state.events_pool.acquire() as conn:
        yield conn


def upload_path(path: str) -> str:
    where = paths.checked(path)
    if paths.pinned_version(where) is not None or where == paths.PINNED:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"{paths.PINNED}/ holds registered versions' files"
        )
    return where


async def pinned(request: Request, version_id: str) -> list[paths.Entry]:
    """A version's files under its pinned path, if the caller may read the version."""
    async with views(request, None, 5.0) as (conn, s):
        manifest = await versions.manifest_of(conn, s, version_id, readers(request))
    return paths.pinned_entries(version_id, manifest)


async def entries_at(request: Request, where: str) -> list[paths.Entry]:
    """The files at or beneath where: a version's (pinned), or uploads (contributors)."""
    if (version_id := paths.pinned_version(where)) is not None:
        return [
            e
            for e in await pinned(request, version_id)
            if e.path == where or e.path.startswith(where + "/")
        ]
    await native.may_contribute(request)
    async with index(request) as conn:
        return await paths.under(conn, where)


async def file_at(request: Request, where: str) -> paths.Entry | None:
    if (version_id := paths.pinned_version(where)) is not None:
        return next((e for e in await pinned(request, version_id) if e.path == where), None)
    async with index(request) as conn:
        entry = await paths.find(conn, where)
    if entry is not None:
        await native.may_read(request, entry.sha256)
    return entry


@router.put("/artifacts/{path:path}")
async def upload(path: str, request: Request) -> Response:
    where = upload_path(path)
    await native.may_contribute(request)
    limit: int = request.app.state.max_artifact_bytes
    store = request.app.state.artifacts
    body = request.stream().__aiter__()
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: store.put(native.at_most(native.sync_chunks(body), limit))
        )
    except native.TooLarge:
        raise native.too_large(limit) from None
    metrics.ARTIFACT_BYTES.labels("in").inc(stored.size)
    entry = paths.Entry(where, stored.sha256, stored.size)
    async with index(request) as conn:
        await paths.record(conn, entry, caller(request).subject)
    return fast({})


@router.get("/artifacts")
async def list_artifacts(request: Request, path: str | None = None) -> Response:
    where = paths.checked(path) if path else None
    if where is None:
        await native.may_contribute(request)
        async with index(request) as conn:
            return fast({"files": paths.listed(await paths.everything(conn), None)})
    return fast({"files": paths.listed(await entries_at(request, where), where)})


@router.get("/artifacts/{path:path}")
async def download(path: str, request: Request) -> StreamingResponse:
    where = paths.checked(path)
    entry = await file_at(request, where)
    if entry is None:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No such artifact: {where}")
    store = request.app.state.artifacts
    try:
        size = await asyncio.to_thread(store.size, entry.sha256)
    except ArtifactNotFound:
        raise MlflowError("RESOURCE_DOES_NOT_EXIST", f"No such artifact: {where}") from None
    # Re-hashed while it streams: altered bytes end the transfer short.
    return StreamingResponse(
        native.counted(verified(store.get(entry.sha256), entry.sha256)),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size), "X-Registrum-Sha256": entry.sha256},
    )


@router.delete("/artifacts/{path:path}")
async def delete(path: str, request: Request) -> Response:
    where = upload_path(path)
    await native.may_contribute(request)
    async with index(request) as conn:
        await paths.forget(conn, where)
    return fast({})
