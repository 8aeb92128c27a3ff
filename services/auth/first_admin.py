"""Writing a secret for the local user only: the first administrator's token."""

from __future__ import annotations

import os
from pathlib import Path


def write_secret(path: Path, secret: str) -> Path:
    """Writes secret to path, readable by its owner alone (0600). The file is created, never
    followed if a link stands there, and replaced whole if it existed."""
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{os.getpid()}")
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW
    descriptor = os.open(temporary, flags, 0o600)
    try:
        os.write(descriptor, f"{secret}\n".encode())
        os.fsync(descriptor)
    finally:
        os.close(descriptor)
    os.replace(temporary, path)  # a link at path is replaced, not written through
    return path
