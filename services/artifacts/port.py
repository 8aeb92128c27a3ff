"""The ArtifactStore port: content-addressed, write-once storage of model bytes.

Objects are named by their sha256. A put streams the bytes once, hashing and counting
as it goes, and makes the object visible under its digest only when every byte has
arrived; an interrupted put leaves nothing visible. An object is never overwritten:
putting bytes that are already stored keeps the existing object.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import BinaryIO, Protocol

CHUNK = 1024 * 1024
_DIGEST = re.compile(r"[0-9a-f]{64}")


def is_digest(name: str) -> bool:
    """name is a sha256 as objects are named: 64 lowercase hex digits."""
    return _DIGEST.fullmatch(name) is not None


class ArtifactError(Exception):
    """Base class of artefact store errors."""


class ArtifactNotFound(ArtifactError):
    """No object with that digest is stored."""


class ReferenceUnreadable(ArtifactError):
    """The store cannot read an object registered by reference (another scheme, another
    endpoint, no access)."""


class ReferenceMissing(ReferenceUnreadable):
    """The store the reference names answers that nothing is there (no such key or
    bucket): the bytes are missing, which says nothing of whether they were altered."""


class DigestMismatch(ArtifactError):
    """The bytes do not hash to the digest they were declared or stored under."""

    def __init__(self, expected: str, actual: str) -> None:
        super().__init__(f"expected sha256 {expected}, the bytes hash to {actual}")
        self.expected, self.actual = expected, actual


@dataclass(frozen=True)
class StoredObject:
    sha256: str
    size: int
    created: bool  # False when the same bytes were already stored


@dataclass(frozen=True)
class ObjectInfo:
    """A stored object as a listing shows it: its digest, size, and when it was written
    (timezone-aware)."""

    sha256: str
    size: int
    modified: datetime


class ArtifactStore(Protocol):
    """Where artefacts live. Adapters: FilesystemStore, S3Store."""

    def put(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredObject:
        """Stores the bytes under their digest; DigestMismatch (and nothing stored) when
        expected_sha256 is given and differs."""
        ...

    def get(self, sha256: str) -> Iterator[bytes]:
        """The object's bytes, streamed; ArtifactNotFound if absent. Does not verify."""
        ...

    def size(self, sha256: str) -> int:
        """The stored object's size; ArtifactNotFound if absent."""
        ...

    def exists(self, sha256: str) -> bool: ...

    def objects(self) -> Iterator[ObjectInfo]:
        """Every stored object, streamed, in no particular order. Uploads under way or
        abandoned are not objects: they are never listed."""
        ...

    def remove(self, sha256: str) -> None:
        """Removes the object; nothing happens if it is absent. Only garbage collection
        removes objects (artifacts/gc.py): a version's files are never overwritten."""
        ...

    def presigned_url(self, sha256: str, expires: timedelta) -> str | None:
        """A URL a deployer can GET without credentials, or None if the store has none."""
        ...

    def read_reference(self, uri: str) -> Iterator[bytes]:
        """The bytes at uri, for a version registered by reference with a declared digest
        (e.g. s3://bucket/key on this store's endpoint); ReferenceUnreadable when this
        store cannot reach it."""
        ...


class HashingReader:
    """Wraps chunks as a file-like object, hashing and counting what is read. Reads of n
    bytes gather chunks in a list and join once: no quadratic copying for large parts."""

    def __init__(self, chunks: Iterable[bytes]) -> None:
        self._chunks = iter(chunks)
        self._pending: list[bytes] = []
        self._pending_size = 0
        self.digest = hashlib.sha256()
        self.size = 0

    def read(self, n: int = -1) -> bytes:
        while n < 0 or self._pending_size < n:
            chunk = next(self._chunks, None)
            if chunk is None:
                break
            self._pending.append(chunk)
            self._pending_size += len(chunk)
        joined = b"".join(self._pending)
        data, rest = (joined, b"") if n < 0 else (joined[:n], joined[n:])
        self._pending = [rest] if rest else []
        self._pending_size = len(rest)
        self.digest.update(data)
        self.size += len(data)
        return data


def verified(chunks: Iterable[bytes], sha256: str) -> Iterator[bytes]:
    """Passes chunks through and raises DigestMismatch at the end if they do not hash to
    sha256: a download that was altered fails instead of completing."""
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(chunk)
        yield chunk
    if digest.hexdigest() != sha256:
        raise DigestMismatch(sha256, digest.hexdigest())


def rehash(store: ArtifactStore, sha256: str) -> str:
    """The digest of the bytes actually stored under sha256."""
    digest = hashlib.sha256()
    for chunk in store.get(sha256):
        digest.update(chunk)
    return digest.hexdigest()


def file_chunks(handle: BinaryIO, size: int = CHUNK) -> Iterator[bytes]:
    while chunk := handle.read(size):
        yield chunk
