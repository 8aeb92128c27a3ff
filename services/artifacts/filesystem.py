"""Artefacts in a local folder: objects/<aa>/<sha256>, written via a temporary file."""

from __future__ import annotations

import contextlib
import hashlib
import os
import tempfile
from collections.abc import Iterable, Iterator
from datetime import timedelta
from pathlib import Path

from services.artifacts.port import (
    CHUNK,
    ArtifactNotFound,
    DigestMismatch,
    ReferenceUnreadable,
    StoredObject,
    file_chunks,
)


class FilesystemStore:
    def __init__(self, root: Path) -> None:
        self.root = root
        self.objects = root / "objects"
        self.incoming = root / "incoming"
        self.objects.mkdir(parents=True, exist_ok=True)
        self.incoming.mkdir(parents=True, exist_ok=True)

    def _path(self, sha256: str) -> Path:
        return self.objects / sha256[:2] / sha256

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

    def presigned_url(self, sha256: str, expires: timedelta) -> str | None:
        return None  # a local folder has no URL of its own; the API streams it instead

    def read_reference(self, uri: str) -> Iterator[bytes]:
        """A local folder reaches no references: only its own objects."""
        raise ReferenceUnreadable(f"{uri}: a local artefact folder cannot read references")
