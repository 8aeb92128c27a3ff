"""MLflow artefact paths over the content-addressed store.

MLflow's client uploads a model's files one by one to paths under an experiment's
artefact location (PUT .../mlflow-artifacts/artifacts/<path>). Each file goes into the
store by its digest and its path is recorded here, in the events database
(registrum_mlflow_artifacts, schema version 4). Registering a version whose source is
such a path records every file beneath it, with its digest and size, in the version's
manifest: from then on the version names bytes, not a place, and a file uploaded to the
same path later changes nothing the version serves.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import asyncpg

from schemas.rules import FILE_PATH, MAX_PATH
from services.mlflow.errors import MlflowError

TABLE = "registrum_mlflow_artifacts"
ENDPOINT = "/mlflow-artifacts/artifacts"
_PATH = re.compile(FILE_PATH)


@dataclass(frozen=True)
class Entry:
    path: str
    sha256: str
    size: int


def checked(path: str) -> str:
    """A relative '/'-separated path with no empty, '.' or '..' segment (MLflow's own
    server refuses the same)."""
    path = path.strip("/")
    if not path or len(path) > MAX_PATH or not _PATH.fullmatch(path):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Invalid artifact path: {path!r}")
    return path


def source_path(source: str) -> str | None:
    """The artefact path a version's source names, when it names ours: an http(s) URL of
    an mlflow-artifacts endpoint (what MlflowClient records when an experiment's artefact
    location is this registry) or mlflow-artifacts:/<path>."""
    if source.startswith("mlflow-artifacts:"):
        rest = source.removeprefix("mlflow-artifacts:")
        rest = rest.removeprefix("//").partition("/")[2] if rest.startswith("//") else rest
        return checked(rest)
    if source.startswith(("http://", "https://")) and ENDPOINT in source:
        return checked(source.split(ENDPOINT, 1)[1])
    return None


# MLflow 3 registers a logged model by its id (source models:/m-<32 hex>); the client
# stored its files under <experiment artefact location>/models/<id>/artifacts.
LOGGED_MODEL = re.compile(r"^models:/(m-[0-9a-f]{32})/?$")


async def logged_model_root(conn: Any, source: str) -> str | None:
    """Where the files of the logged model a models:/m-<id> source names were uploaded
    here, if they were (the experiment's artefact location was this registry)."""
    match = LOGGED_MODEL.match(source)
    if match is None:
        return None
    marker = f"/models/{match.group(1)}/artifacts/"
    found = await conn.fetchval(
        f"SELECT path FROM {TABLE} WHERE strpos(path, $1) > 0 ORDER BY path LIMIT 1", marker
    )
    if found is None:
        return None
    return str(found[: found.index(marker) + len(marker) - 1])


async def record(conn: Any, entry: Entry, by: str) -> None:
    await conn.execute(
        f"INSERT INTO {TABLE} (path, sha256, size, uploaded_by) VALUES ($1, $2, $3, $4)"
        " ON CONFLICT (path) DO UPDATE SET sha256 = $2, size = $3, uploaded_by = $4,"
        " uploaded_at = now()",
        entry.path,
        entry.sha256,
        entry.size,
        by,
    )


async def _entries(conn: Any, where: str, *args: Any) -> list[Entry]:
    rows = await conn.fetch(
        f"SELECT path, sha256, size FROM {TABLE} WHERE {where} ORDER BY path", *args
    )
    return [Entry(r["path"], r["sha256"], r["size"]) for r in rows]


async def find(conn: Any, path: str) -> Entry | None:
    found = await _entries(conn, "path = $1", path)
    return found[0] if found else None


async def under(conn: Any, path: str) -> list[Entry]:
    """Every file at or beneath path, by path."""
    return await _entries(conn, "path = $1 OR starts_with(path, $1 || '/')", path)


async def everything(conn: Any) -> list[Entry]:
    """Every path (a listing of the root: MLflow's clients list below an experiment)."""
    return await _entries(conn, "true")


async def forget(conn: Any, path: str) -> None:
    """Forgets path and everything beneath it (the objects stay: versions may name
    them; garbage collection decides)."""
    await conn.execute(f"DELETE FROM {TABLE} WHERE path = $1 OR starts_with(path, $1 || '/')", path)


async def digests(conn: asyncpg.Connection) -> set[str]:
    """Every object a path holds (garbage collection keeps them)."""
    return {r["sha256"] for r in await conn.fetch(f"SELECT DISTINCT sha256 FROM {TABLE}")}


def manifest(entries: list[Entry], root: str) -> list[dict[str, Any]]:
    """The files beneath root as a version's manifest (paths relative to root)."""
    return [
        {
            "path": e.path[len(root) + 1 :] if e.path != root else e.path.rsplit("/", 1)[-1],
            "sha256": e.sha256,
            "size": e.size,
        }
        for e in entries
    ]


# A version's files, by digest, under a path no upload may take: what a version with a
# manifest answers to get-download-uri, so a client downloads the bytes the version
# recorded (a later upload to the path it came from changes nothing it serves).
PINNED = "registrum-versions"


def pinned_root(version_id: str) -> str:
    return f"{PINNED}/{version_id}"


def pinned_version(path: str) -> str | None:
    """The version id a pinned path names, or None for an upload path."""
    head, _, rest = path.partition("/")
    if head != PINNED:
        return None
    version_id, _, _ = rest.partition("/")
    return version_id or None


def pinned_entries(version_id: str, manifest: list[dict[str, Any]]) -> list[Entry]:
    root = pinned_root(version_id)
    return [Entry(f"{root}/{e['path']}", e["sha256"], e["size"]) for e in manifest]


def listed(entries: list[Entry], path: str | None) -> list[dict[str, Any]]:
    """What is directly in path among entries, as MLflow lists it (names relative to
    path, directories without a size; a file lists as itself)."""
    if path and len(entries) == 1 and entries[0].path == path:
        return [{"path": path.rsplit("/", 1)[-1], "is_dir": False, "file_size": entries[0].size}]
    prefix = f"{path}/" if path else ""
    files: dict[str, dict[str, Any]] = {}
    for entry in entries:
        if not entry.path.startswith(prefix):
            continue
        head, slash, _ = entry.path[len(prefix) :].partition("/")
        if slash:
            files.setdefault(head, {"path": head, "is_dir": True})
        else:
            files[head] = {"path": head, "is_dir": False, "file_size": entry.size}
    return [files[name] for name in sorted(files)]
