"""Re-hashing what a version's digests promise: its stored files, or the object it
refers to in S3 when it was registered by reference with a declared digest.

Each file, and the report as a whole, has a status: `ok`; `missing`, when the store does
not have the bytes (a store on another machine, an object removed); or `altered`, when
bytes are there and hash to something else. Only `altered` is evidence of tampering: a
missing object is never reported as altered. A report with both says `altered`.
"""

from __future__ import annotations

import hashlib
from typing import Any

from services.artifacts.port import (
    ArtifactNotFound,
    ArtifactStore,
    ReferenceMissing,
    ReferenceUnreadable,
    rehash,
)

OK, MISSING, ALTERED = "ok", "missing", "altered"


class CannotVerify(Exception):
    """The version's bytes are somewhere this registry cannot read."""


def status_of(expected: str, actual: str | None) -> str:
    """A file's status from its digest and the digest of the stored bytes (None: none)."""
    if actual is None:
        return MISSING
    return OK if actual == expected else ALTERED


def overall(statuses: list[str]) -> str:
    """The report's status: altered if any file is, else missing if any is, else ok."""
    for worst in (ALTERED, MISSING):
        if worst in statuses:
            return worst
    return OK


def verify_version(version: dict[str, Any], store: ArtifactStore | None) -> dict[str, Any]:
    if version.get("manifest"):
        if store is None:
            raise CannotVerify("this registry has no artefact store")
        files = []
        for entry in version["manifest"]:
            try:
                actual: str | None = rehash(store, entry["sha256"])
            except ArtifactNotFound:
                actual = None
            status = status_of(entry["sha256"], actual)
            files.append(
                {
                    "path": entry["path"],
                    "sha256": entry["sha256"],
                    "actual": actual,
                    "ok": status == OK,
                    "status": status,
                }
            )
        status = overall([f["status"] for f in files])
        return {"ok": status == OK, "status": status, "files": files}
    return _verify_reference(version, store)


def _verify_reference(version: dict[str, Any], store: ArtifactStore | None) -> dict[str, Any]:
    uri, declared = version["artifact_uri"], version.get("sha256")
    if not declared:
        raise CannotVerify(f"{uri} was registered without a digest; nothing to check against")
    if store is None:
        raise CannotVerify("this registry has no artefact store")
    digest, size = hashlib.sha256(), 0
    try:
        for chunk in store.read_reference(uri):
            digest.update(chunk)
            size += len(chunk)
    except ReferenceMissing:
        reference = {"uri": uri, "sha256": declared, "actual": None, "size": None}
        return {"ok": False, "status": MISSING, "reference": reference}
    except ReferenceUnreadable as exc:
        raise CannotVerify(
            f"{exc} (only s3:// references on the registry's own S3 endpoint can be verified)"
        ) from None
    actual = digest.hexdigest()
    # Bytes of another size than declared were altered too, whatever they hash to.
    intact = actual == declared and version.get("size") in (None, size)
    status = OK if intact else ALTERED
    return {
        "ok": intact,
        "status": status,
        "reference": {"uri": uri, "sha256": declared, "actual": actual, "size": size},
    }
