"""Artefacts in a local folder: objects/<aa>/<sha256>, written via a temporary file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

from services.artifacts.port import (
    CHUNK,
    ArtifactNotFound,
    DigestMismatch,
    ObjectInfo,
    ReferenceUnreadable,
    StoredObject,
    file_chunks,
    is_digest,
)


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects_dir = root / "objects"
        self.incoming = root / "incoming"
        self.objects_dir.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.objects_dir / sha256[:2] / sha256

    def put(self, chunks: Iterable[bytes], expected_sha256: str | None = None) -> StoredObject:
        digest, size = hashlib.sha256(), 0
        handle, temporary = tempfile.mkstemp(dir=self.incoming)
        try:
            with os.fdopen(handle, "wb") as out:
                for chunk in chunks:
                    digest.update(chunk)
                    size += len(chunk)
                    out.write(chunk)
                out.flush()
                os.fsync(out.fileno())
            sha256 = digest.hexdigest()
            if expected_sha256 is not None and sha256 != expected_sha256:
                raise DigestMismatch(expected_sha256, sha256)
            final = self._path(sha256)
            final.parent.mkdir(exist_ok=True)
            os.chmod(temporary, 0o444)
            try:
                os.link(temporary, final)  # fails rather than overwrite
                created = True
            except FileExistsError:
                created = False
            return StoredObject(sha256, size, created)
        finally:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(temporary)

    def get(self, sha256: str) -> Iterator[bytes]:
        try:
            handle = self._path(sha256).open("rb")
        except (FileNotFoundError, ValueError):
            raise ArtifactNotFound(sha256) from None
        with handle:
            yield from file_chunks(handle, CHUNK)

    def size(self, sha256: str) -> int:
        try:
            return self._path(sha256).stat().st_size
        except FileNotFoundError:
            raise ArtifactNotFound(sha256) from None

    def exists(self, sha256: str) -> bool:
        return self._path(sha256).is_file()

    def objects(self) -> Iterator[ObjectInfo]:
        # Uploads are written under incoming/ and linked here complete: only objects/<aa>/
        # holds objects, and only files named by their digest.
        with os.scandir(self.objects_dir) as buckets:
            for bucket in buckets:
                if bucket.is_dir(follow_symlinks=False):
                    yield from self._bucket(bucket)

    @staticmethod
    def _bucket(bucket: os.DirEntry[str]) -> Iterator[ObjectInfo]:
        with os.scandir(bucket.path) as entries:
            for entry in entries:
                if not (is_digest(entry.name) and entry.name[:2] == bucket.name):
                    continue
                try:
                    stat = entry.stat(follow_symlinks=False)
                except FileNotFoundError:
                    continue  # removed while we listed
                modified = datetime.fromtimestamp(stat.st_mtime, UTC)
                yield ObjectInfo(entry.name, stat.st_size, modified)

    def remove(self, sha256: str) -> None:
        if not is_digest(sha256):
            return  # names nothing that could be stored (and no path outside the folder)
        with contextlib.suppress(FileNotFoundError):
            self._path(sha256).unlink()

    def presigned_url(self, sha256: str, expires: timedelta) -> str | None:
        return None  # a local folder has no URL of its own; the API streams it instead

    def read_reference(self, uri: str) -> Iterator[bytes]:
        """A local folder reaches no references: only its own objects."""
        raise ReferenceUnreadable(f"{uri}: a local artefact folder cannot read references")
