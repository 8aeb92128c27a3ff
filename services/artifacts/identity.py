"""Which artefact folder a registry uses, so that processes that cannot see it refuse to
start rather than report its files as missing.

A folder store is local to one machine. A second API process on another machine, with a
folder of its own, would not find the files the first one stored. So the folder holds a
marker file (`store-id`) with a random identity, and the event store's database records
the identity of the folder the registry uses (table registrum_artifact_store, one row,
made by the schema migrations: services/schema/v3_artifact_store.py).
The first process to start on a database without one claims it for its folder; every
process after it must find the same identity in its folder, or it refuses to start.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
import uuid
from pathlib import Path

import psycopg

from services.artifacts.port import ArtifactError

MARKER = "store-id"
TABLE = "registrum_artifact_store"
# Serialises claims: two processes starting at once on an empty database, one claim wins.
_CLAIM_LOCK = 7262013


class FolderNotShared(ArtifactError):
    """This process's artefact folder is not the one the registry's database records: the
    processes of one registry do not see the same folder."""


def claim_folder(root: Path, database_url: str) -> str:
    """The identity of the folder at root, after checking that the registry at
    database_url uses it (claiming it for this folder when the registry records none yet);
    FolderNotShared otherwise."""
    with psycopg.connect(database_url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_CLAIM_LOCK,))
        row = conn.execute(f"SELECT identity FROM {TABLE}").fetchone()
        if row is None:
            identity = _marker(root) or _mark(root)
            conn.execute(f"INSERT INTO {TABLE} (kind, identity) VALUES ('folder', %s)", (identity,))
            return identity
    recorded = str(row[0])
    found = _marker(root)
    if found != recorded:
        raise FolderNotShared(_refusal(root, recorded, found))
    return recorded


def _marker(root: Path) -> str | None:
    try:
        text = (root / MARKER).read_text().strip()
    except FileNotFoundError:
        return None
    return text or None


def _mark(root: Path) -> str:
    """Writes a new identity into root's marker unless one is there (another process on
    this folder may be marking it too), and returns the marker's identity."""
    root.mkdir(parents=True, exist_ok=True)
    fd, temporary = tempfile.mkstemp(dir=root, prefix=f".{MARKER}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(uuid.uuid4().hex + "\n")
            out.flush()
            os.fsync(out.fileno())
        with contextlib.suppress(FileExistsError):
            os.link(temporary, root / MARKER)  # never over a marker already there
    finally:
        os.unlink(temporary)
    marked = _marker(root)
    if marked is None:
        raise FolderNotShared(f"{root / MARKER} is empty; remove it and start again")
    return marked


def _refusal(root: Path, recorded: str, found: str | None) -> str:
    why = (
        f"{root} has no store identity ({root / MARKER} is missing)"
        if found is None
        else f"{root} belongs to another store ({found})"
    )
    return (
        f"the registry keeps its artefacts in the folder store {recorded}, and {why}. "
        "Every process of one registry must see the same artefact folder: share the "
        "directory (mount the same folder on every machine) or set REGISTRUM_S3_ENDPOINT to "
        f"keep artefacts in S3. If {root} is that folder, write {recorded} to {root / MARKER}."
    )
