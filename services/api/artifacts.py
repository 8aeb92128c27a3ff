"""/api/v1/artifacts: streamed, content-addressed uploads and verified downloads.

POST /api/v1/artifacts                body = the bytes (streamed, up to max_artifact_bytes)
     X-Registrum-Sha256: <hex>        optional: refuse the upload if it differs
GET  /api/v1/artifacts/{sha256}       the bytes, re-hashed while streaming
GET  /api/v1/artifacts/{sha256}/url   a presigned URL (S3) for deployers
POST /api/v1/artifacts/{sha256}/verify  re-hash what is stored, report the result
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from datetime import timedelta
from typing import Annotated, Any

import anyio
import anyio.from_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse
from fastapi.routing import APIRoute
from pydantic import BeforeValidator
from starlette.routing import Match
from starlette.types import Scope

from schemas.rules import SHA256
from services.api.caller import CALLER, caller, readers
from services.api.errors import ApiError
from services.api.params import READ_ERRORS, Digest, ModelName, VersionNumber, digits, errors
from services.api.reads import views
from services.artifacts.port import (
    ArtifactNotFound,
    ArtifactStore,
    DigestMismatch,
    rehash,
    verified,
)
from services.artifacts.verify import CannotVerify, status_of
from services.artifacts.verify import verify_version as check
from services.catalogue import queries
from services.observability import metrics
from services.registry.domain.errors import Forbidden
from services.registry.domain.values import check_digest

# Paths beside /{sha256} that other routes own (gc.py); none of them is a digest.
SIBLINGS = frozenset({"gc"})


class _DigestRoute(APIRoute):
    """Leaves /api/v1/artifacts/gc to its own route: GET there is 405 (Allow: POST), not
    a malformed digest."""

    def matches(self, scope: Scope) -> tuple[Match, Scope]:
        match, child = super().matches(scope)
        if child.get("path_params", {}).get("sha256") in SIBLINGS:
            return Match.NONE, {}
        return match, child


router = APIRouter(
    prefix="/api/v1/artifacts",
    tags=["artifacts"],
    responses=errors(401, 403, 404, 422),
    dependencies=[CALLER],
    route_class=_DigestRoute,
)
PREFIX = router.prefix


DIGEST_HEADER = "X-Registrum-Sha256"
_BYTES: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {"application/octet-stream": {"schema": {"type": "string"}}},
        "description": "The bytes, re-hashed as they stream: altered bytes end it early",
    }
}
_BYTES_OR_URL: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "application/octet-stream": {"schema": {"type": "string"}},
            "application/json": {"schema": {"type": "object"}},
        },
        "description": "The file's bytes, or with url=true a presigned URL (JSON)",
    },
    **errors(409),
}


def _store(request: Request) -> ArtifactStore:
    return request.app.state.artifacts


class TooLarge(Exception):
    """The body ran past the upload limit: the store's put stops and keeps nothing."""


def too_large(limit: int) -> ApiError:
    return ApiError(
        413, "payload_too_large", f"the artefact is larger than {limit} bytes", limit=limit
    )


def at_most(chunks: Iterator[bytes], limit: int) -> Iterator[bytes]:
    """chunks, until they add up to more than limit bytes: then TooLarge, before the
    chunk that crosses it reaches the store."""
    seen = 0
    for chunk in chunks:
        seen += len(chunk)
        if seen > limit:
            raise TooLarge
        yield chunk


def sync_chunks(stream: AsyncIterator[bytes]) -> Iterator[bytes]:
    """The request body as a plain iterator, for the store's blocking put in a thread."""

    async def following() -> bytes:
        return await stream.__anext__()

    while True:
        try:
            chunk: bytes = anyio.from_thread.run(following)
        except StopAsyncIteration:
            return
        if chunk:
            yield chunk


@router.post(
    "",
    status_code=201,
    responses=errors(413),
    openapi_extra={
        "requestBody": {
            "required": True,
            "content": {"application/octet-stream": {"schema": {"type": "string"}}},
            "description": "The bytes, streamed; up to the registry's artefact limit "
            "(REGISTRUM_MAX_ARTIFACT_BYTES; 413 beyond), not the JSON body limit",
        },
        # Read from the request itself (the body must stream), so declared here.
        "parameters": [
            {
                "name": DIGEST_HEADER,
                "in": "header",
                "required": False,
                "description": "The digest the bytes must have; refused (422) if they do not",
                "schema": {"type": "string", "pattern": SHA256},
            }
        ],
    },
)
async def upload(request: Request) -> dict[str, Any]:
    """Stores the bytes; the caller must hold contributor (or owner) somewhere."""
    await may_contribute(request)
    declared = request.headers.get(DIGEST_HEADER)
    expected = None if declared is None else check_digest(declared)
    limit: int = request.app.state.max_artifact_bytes
    length = request.headers.get("content-length", "")
    if length.isascii() and length.isdigit() and int(length) > limit:
        raise too_large(limit)  # before reading a byte of it
    store = _store(request)
    body = request.stream().__aiter__()
    try:
        stored = await anyio.to_thread.run_sync(
            lambda: store.put(at_most(sync_chunks(body), limit), expected_sha256=expected)
        )
    except DigestMismatch as exc:
        raise ApiError(
            422, "digest_mismatch", str(exc), expected=exc.expected, actual=exc.actual
        ) from None
    except TooLarge:
        raise too_large(limit) from None
    metrics.ARTIFACT_BYTES.labels("in").inc(stored.size)
    return {"sha256": stored.sha256, "size": stored.size, "created": stored.created}


async def may_contribute(request: Request) -> None:
    registry = request.app.state.registry
    if not await asyncio.to_thread(registry.may_contribute, caller(request)):
        raise Forbidden(
            f"{caller(request).subject} may not upload: contribute on some model is needed",
            permission="contribute",
            on="any model",
            subject=caller(request).subject,
        )


async def may_read(request: Request, digest: str) -> None:
    """A version the caller may read refers to the object; or none does yet and the
    caller may upload (to check what they uploaded before registering it)."""
    async with views(request, None, 5.0) as (conn, s):
        referenced, readable = await queries.digest_access(conn, s, digest, readers(request))
    if readable:
        return
    if not referenced:
        await may_contribute(request)
        return
    raise ApiError(404, "not_found", f"no artefact {digest}", sha256=digest)


@router.get("/{sha256}", response_class=StreamingResponse, responses=_BYTES)
async def download(sha256: Digest, request: Request) -> StreamingResponse:
    digest = check_digest(sha256)
    await may_read(request, digest)
    store = _store(request)
    try:
        size = await asyncio.to_thread(store.size, digest)
    except ArtifactNotFound:
        raise ApiError(404, "not_found", f"no artefact {digest}", sha256=digest) from None
    # Re-hashed while it streams: altered bytes end the response early, so the client
    # sees a short body instead of a corrupted model.
    return StreamingResponse(
        counted(verified(store.get(digest), digest)),
        media_type="application/octet-stream",
        headers={"Content-Length": str(size), "X-Registrum-Sha256": digest, "ETag": f'"{digest}"'},
    )


def counted(chunks: Iterator[bytes]) -> Iterator[bytes]:
    """chunks, each counted as artefact bytes out once it is handed on."""
    out = metrics.ARTIFACT_BYTES.labels("out")
    for chunk in chunks:
        yield chunk
        out.inc(len(chunk))


@router.get("/{sha256}/url", responses=errors(409))
async def presigned(
    sha256: Digest,
    request: Request,
    expires: Annotated[int, BeforeValidator(digits)] = Query(3600, ge=60, le=7 * 24 * 3600),
) -> dict[str, Any]:
    digest = check_digest(sha256)
    await may_read(request, digest)
    store = _store(request)
    if not await asyncio.to_thread(store.exists, digest):
        raise ApiError(404, "not_found", f"no artefact {digest}", sha256=digest)
    url = await asyncio.to_thread(store.presigned_url, digest, timedelta(seconds=expires))
    if url is None:
        raise ApiError(
            409,
            "no_presigned_urls",
            "this store has no presigned URLs; download through the API",
            download=f"{PREFIX}/{digest}",
        )
    return {"sha256": digest, "url": url, "expires_in": expires}


@router.post("/{sha256}/verify")
async def verify(sha256: Digest, request: Request) -> dict[str, Any]:
    digest = check_digest(sha256)
    await may_read(request, digest)
    try:
        actual = await asyncio.to_thread(rehash, _store(request), digest)
    except ArtifactNotFound:
        raise ApiError(404, "not_found", f"no artefact {digest}", sha256=digest) from None
    # A missing object is 404 above: what is stored either hashes to its name or was altered.
    return {
        "sha256": digest,
        "ok": actual == digest,
        "status": status_of(digest, actual),
        "actual": actual,
    }


versions_router = APIRouter(
    prefix="/api/v1/models/{name}/versions/{number}",
    tags=["artifacts"],
    responses=READ_ERRORS,
    dependencies=[CALLER],
)


@versions_router.get("/files/{path:path}", responses=_BYTES_OR_URL)
async def version_file(
    name: ModelName, number: VersionNumber, path: str, request: Request, url: bool = False
) -> Any:
    """One file of a version, streamed and verified; ?url=true answers a presigned URL instead
    (S3 stores)."""
    async with views(request, None, 5.0) as (conn, s):  # honours X-Registrum-Min-Position
        version = await queries.get_version(conn, s, name, number, readers(request))
    entry = next((e for e in version["manifest"] if e["path"] == path), None)
    if entry is None:
        raise ApiError(
            404,
            "not_found",
            f"version {number} of {name!r} has no file {path!r}",
            path=path,
            files=[e["path"] for e in version["manifest"]][:50],
        )
    if url:
        return await presigned(entry["sha256"], request, expires=3600)
    return await download(entry["sha256"], request)


@versions_router.post("/verify", responses=errors(409))
async def verify_version(
    name: ModelName, number: VersionNumber, request: Request
) -> dict[str, Any]:
    """Re-hash the version's stored files, or its s3:// reference, against its digests:
    each file's status, and the report's, is ok, missing (the store lacks the bytes) or
    altered (the bytes hash to another digest)."""
    async with views(request, None, 5.0) as (conn, s):  # honours X-Registrum-Min-Position
        version = await queries.get_version(conn, s, name, number, readers(request))
    try:
        report = await asyncio.to_thread(check, version, request.app.state.artifacts)
    except CannotVerify as exc:
        raise ApiError(409, "cannot_verify", str(exc)) from None
    return {"model": name, "version": number, **report}
