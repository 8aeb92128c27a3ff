"""An ArtifactStore in memory, for unit tests: objects in a dict, each written at the time
its clock tells, so a test can age objects without sleeping. Held to the adapters' contract
(tests/integration/test_artifact_store.py)."""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Iterator
from datetime import UTC, datetime, timedelta

from services.artifacts.port import (
    ArtifactNotFound,
    DigestMismatch,
    ObjectInfo,
    ReferenceMissing,
    ReferenceUnreadable,
    StoredObject,
)


def _now() -> datetime:
    return datetime.now(UTC)


class MemoryStore:
    """The ArtifactStore port over a dict; `clock` says when each put happens. References
    reads the s3:// URIs in `references`; others under s3:// are missing."""

    def __init__(self, clock: Callable[[], datetime] = _now) -> None:
        self.clock = clock
        self._objects: dict[str, tuple[bytes, datetime]] = {}
        self.references: dict[str, bytes] = {}

    def tamper(self, sha256: str, data: bytes) -> None:
        """Replaces the bytes stored under sha256, as someone behind the store's back."""
        self._objects[sha256] = (data, self._objects[sha256][1])

    def put(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredObject:
        data = b"".join(chunks)  # an interrupted iteration raises here: nothing is kept
        sha256 = hashlib.sha256(data).hexdigest()
        if expected_sha256 is not None and sha256 != expected_sha256:
            raise DigestMismatch(expected_sha256, sha256)
        created = sha256 not in self._objects
        if created:
            self._objects[sha256] = (data, self.clock())
        return StoredObject(sha256, len(data), created)

    def get(self, sha256: str) -> Iterator[bytes]:
        yield self._data(sha256)

    def size(self, sha256: str) -> int:
        return len(self._data(sha256))

    def exists(self, sha256: str) -> bool:
        return sha256 in self._objects

    def objects(self) -> Iterator[ObjectInfo]:
        for sha256, (data, modified) in list(self._objects.items()):
            yield ObjectInfo(sha256, len(data), modified)

    def remove(self, sha256: str) -> None:
        self._objects.pop(sha256, None)

    def presigned_url(self, sha256: str, expires: timedelta) -> str | None:
        return None

    def read_reference(self, uri: str) -> Iterator[bytes]:
        if uri in self.references:
            yield self.references[uri]
        elif uri.startswith("s3://"):
            raise ReferenceMissing(f"{uri}: NoSuchKey")
        else:
            raise ReferenceUnreadable(f"{uri}: a memory store reads only s3:// references")

    def _data(self, sha256: str) -> bytes:
        try:
            return self._objects[sha256][0]
        except KeyError:
            raise ArtifactNotFound(sha256) from None
