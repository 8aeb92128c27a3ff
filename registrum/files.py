"""Uploading a file or a folder as a version's files, and downloading them verified.

Every local problem (missing, unreadable, not writable, a path refused) is a FileError
naming the path, never a bare OSError.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path, PurePosixPath

from registrum.errors import DigestMismatch, FileError

CHUNK = 1024 * 1024
Progress = Callable[[int], None]  # called with the bytes just sent or received

__all__ = [
    "CHUNK",
    "DigestMismatch",
    "FileError",
    "Progress",
    "download_to",
    "local_files",
    "read_chunks",
    "safe_target",
]


def _failed(path: Path, error: OSError) -> FileError:
    return FileError(f"{path}: {error.strerror or error}")


def local_files(root: Path) -> list[tuple[str, Path]]:
    """(relative '/'-path, file) for a file or every file under a folder, sorted."""
    try:
        if root.is_file():
            return [(root.name, root)]
        if not root.exists():
            raise FileError(f"{root}: no such file or folder")
        if not root.is_dir():
            raise FileError(f"{root} is neither a file nor a folder")
        found = sorted((p.relative_to(root).as_posix(), p) for p in root.rglob("*") if p.is_file())
    except OSError as error:
        raise _failed(root, error) from None
    if not found:
        raise FileError(f"{root} holds no files")
    return found


def read_chunks(path: Path, progress: Progress | None = None) -> Iterator[bytes]:
    """The bytes of path, CHUNK at a time."""
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK):
                if progress:
                    progress(len(chunk))
                yield chunk
    except OSError as error:
        raise _failed(path, error) from None


def safe_target(dest: Path, relative: str) -> Path:
    """dest/relative, refusing anything that would land outside dest."""
    parts = PurePosixPath(relative).parts
    if (
        not parts
        or PurePosixPath(relative).is_absolute()
        or any(p in ("", ".", "..") or "\\" in p or "\x00" in p for p in parts)
    ):
        raise FileError(f"refusing the file path {relative!r}", "refused_path")
    target = dest.joinpath(*parts)
    if not target.resolve().is_relative_to(dest.resolve()):
        raise FileError(f"refusing the file path {relative!r}", "refused_path")
    return target


def download_to(
    chunks: Iterator[bytes], target: Path, sha256: str, progress: Progress | None = None
) -> None:
    """Writes chunks to target through a temporary file, checking the digest first."""
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        handle, temporary = tempfile.mkstemp(dir=target.parent, prefix=".registrum-")
    except OSError as error:
        raise _failed(target.parent, error) from None
    digest = hashlib.sha256()
    try:
        with os.fdopen(handle, "wb") as out:
            for chunk in chunks:
                digest.update(chunk)
                out.write(chunk)
                if progress:
                    progress(len(chunk))
        if digest.hexdigest() != sha256:
            raise DigestMismatch(
                f"{target.name}: downloaded bytes hash to {digest.hexdigest()}, not {sha256}"
            )
        os.replace(temporary, target)
    except OSError as error:
        raise _failed(target, error) from None
    finally:
        if os.path.exists(temporary):
            os.unlink(temporary)
