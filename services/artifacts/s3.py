"""Artefacts in S3 (MinIO, or any S3) through the minio SDK.

Objects live under `sha256/`. A put streams to a temporary key (under `incoming/`) with a
multipart upload while hashing, then copies it server-side to `sha256/<digest>` unless
that exists, and removes the temporary key. An interrupted upload is aborted by the SDK
and never visible under a digest. (Single-copy objects are limited to 5 GiB by S3's
CopyObject.)
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Iterator
from datetime import timedelta
from typing import Any, BinaryIO, cast
from urllib.parse import urlparse

import urllib3
from minio import Minio
from minio.commonconfig import CopySource
from minio.error import S3Error

from services.artifacts.port import (
    CHUNK,
    ArtifactNotFound,
    DigestMismatch,
    HashingReader,
    ObjectInfo,
    ReferenceMissing,
    ReferenceUnreadable,
    StoredObject,
    is_digest,
)

# Memory per upload is about PART_SIZE x (PARALLEL_PARTS + 1): bounded, whatever the size.
PART_SIZE = 8 * 1024 * 1024
PARALLEL_PARTS = 2
# S3's answers that nothing is at a key: the bytes are missing (not unreadable).
_ABSENT = frozenset({"NoSuchKey", "NoSuchBucket"})


class S3Store:
    def __init__(self, client: Minio, bucket: str, *, create_bucket: bool = True) -> None:
        self.client, self.bucket = client, bucket
        if create_bucket and not client.bucket_exists(bucket):
            client.make_bucket(bucket)

    PREFIX = "sha256/"

    @classmethod
    def key(cls, sha256: str) -> str:
        return f"{cls.PREFIX}{sha256}"

    def put(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredObject:
        reader = HashingReader(chunks)
        incoming = f"incoming/{uuid.uuid4().hex}"
        stream = cast(BinaryIO, reader)  # it has the read() that put_object uses
        self.client.put_object(
            self.bucket,
            incoming,
            stream,
            length=-1,
            part_size=PART_SIZE,
            num_parallel_uploads=PARALLEL_PARTS,
        )
        try:
            sha256 = reader.digest.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise DigestMismatch(expected_sha256, sha256)
            created = not self.exists(sha256)
            if created:
                self.client.copy_object(
                    self.bucket, self.key(sha256), CopySource(self.bucket, incoming)
                )
            return StoredObject(sha256, reader.size, created)
        finally:
            self.client.remove_object(self.bucket, incoming)

    def get(self, sha256: str) -> Iterator[bytes]:
        try:
            response = self.client.get_object(self.bucket, self.key(sha256))
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject"):
                raise ArtifactNotFound(sha256) from None
            raise
        try:
            yield from response.stream(CHUNK)
        finally:
            response.close()
            response.release_conn()

    def size(self, sha256: str) -> int:
        try:
            return int(self.client.stat_object(self.bucket, self.key(sha256)).size or 0)
        except S3Error as exc:
            if exc.code in ("NoSuchKey", "NoSuchObject", "ResourceNotFound"):
                raise ArtifactNotFound(sha256) from None
            raise

    def exists(self, sha256: str) -> bool:
        try:
            self.size(sha256)
        except ArtifactNotFound:
            return False
        return True

    def objects(self) -> Iterator[ObjectInfo]:
        # Only keys under sha256/: uploads under way are under incoming/.
        listing = self.client.list_objects(self.bucket, prefix=self.PREFIX, recursive=True)
        for item in listing:
            name = (item.object_name or "").removeprefix(self.PREFIX)
            if is_digest(name) and item.last_modified is not None:
                yield ObjectInfo(name, int(item.size or 0), item.last_modified)

    def remove(self, sha256: str) -> None:
        if is_digest(sha256):  # S3 answers a delete of an absent key with success
            self.client.remove_object(self.bucket, self.key(sha256))

    def presigned_url(self, sha256: str, expires: timedelta) -> str | None:
        return self.client.presigned_get_object(self.bucket, self.key(sha256), expires=expires)

    def read_reference(self, uri: str) -> Iterator[bytes]:
        """Any bucket on this store's endpoint that its credentials may read."""
        parsed = urlparse(uri)
        if parsed.scheme != "s3" or not parsed.netloc or not parsed.path.strip("/"):
            raise ReferenceUnreadable(f"{uri}: not an s3://bucket/key reference")
        try:
            response = self.client.get_object(parsed.netloc, parsed.path.lstrip("/"))
        except S3Error as exc:
            if exc.code in _ABSENT:
                raise ReferenceMissing(f"{uri}: {exc.code}") from None
            raise ReferenceUnreadable(f"{uri}: {exc}") from None
        except (OSError, ValueError) as exc:  # unreachable, a malformed name
            raise ReferenceUnreadable(f"{uri}: {exc}") from None
        return _streamed(response)


def _streamed(response: Any) -> Iterator[bytes]:
    try:
        yield from response.stream(CHUNK)
    except (OSError, urllib3.exceptions.HTTPError) as exc:  # the connection broke mid-way
        raise ReferenceUnreadable(str(exc)) from None
    finally:
        response.close()
        response.release_conn()
