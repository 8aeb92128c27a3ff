"""Re-hashing what a version's digests promise: its stored files, or the object it
refers to in S3 when it was registered by reference with a declared digest."""

from __future__ import annotations

import hashlib
from typing import Any

from services.artifacts.port import ArtifactNotFound, ArtifactStore, ReferenceUnreadable, rehash


class CannotVerify(Exception):
    """The version's bytes are somewhere this registry cannot read."""


def verify_version(version: dict[str, Any], store: ArtifactStore | None) -> dict[str, Any]:
    if version.get("manifest"):
        if store is None:
            raise CannotVerify("this registry has no artefact store")
        files = []
        for entry in version["manifest"]:
            try:
                actual = rehash(store, entry["sha256"])
            except ArtifactNotFound:
                actual = None
            files.append(
                {
                    "path": entry["path"],
                    "sha256": entry["sha256"],
                    "actual": actual,
                    "ok": actual == entry["sha256"],
                }
            )
        return {"ok": all(f["ok"] for f in files), "files": files}
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
    except ReferenceUnreadable as exc:
        raise CannotVerify(
            f"{exc} (only s3:// references on the registry's own S3 endpoint can be verified)"
        ) from None
    actual = digest.hexdigest()
    return {
        "ok": actual == declared and version.get("size") in (None, size),
        "reference": {"uri": uri, "sha256": declared, "actual": actual, "size": size},
    }
