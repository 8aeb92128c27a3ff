"""Files and directories only their owner can reach: the embedded PostgreSQL's password,
its socket directory and the note of where that directory is.

Nothing here follows a symbolic link at the path it is given, or changes the mode or
owner of a path it did not just create or has not just checked through a descriptor:
another local user may plant links at paths we use.
"""

from __future__ import annotations

import errno
import os
import shutil
import stat
import tempfile
from pathlib import Path


class UnsafePath(RuntimeError):
    """A path that should be private is a link, not a regular file, or open to others."""


def write_private(path: Path, text: str) -> None:
    """Writes text to path with mode 0600. The file is made beside it and renamed over it,
    so a link planted at path is replaced, never followed."""
    fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "w") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def read_private(path: Path) -> str | None:
    """The text of a regular file only its owner may read, or None when there is none."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_CLOEXEC)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise UnsafePath(f"{path} is not readable by this user") from None
    except OSError as exc:
        if exc.errno == errno.ELOOP:
            raise UnsafePath(f"{path} is a symbolic link; remove it") from None
        raise
    with os.fdopen(fd) as handle:
        status = os.fstat(handle.fileno())
        if not stat.S_ISREG(status.st_mode):
            raise UnsafePath(f"{path} is not a regular file")
        if status.st_mode & 0o077:
            raise UnsafePath(f"{path} is readable by others; chmod 600 it")
        return handle.read()


def private_dir(prefix: str, owner: tuple[int, int] | None = None) -> Path:
    """A new directory of mode 0700 with an unpredictable name in the temporary directory,
    handed to owner (uid, gid) when given. mkdtemp creates it atomically, so nobody can
    have planted anything there first."""
    path = Path(tempfile.mkdtemp(prefix=prefix))
    if owner is not None:
        os.chown(path, *owner, follow_symlinks=False)
    return path


def remove_private_dir(path: Path, prefix: str, owners: set[int]) -> None:
    """Removes a directory private_dir made, once lstat shows it still is one: a real
    directory named with prefix, of mode 0700, owned by one of owners."""
    try:
        status = path.lstat()
    except FileNotFoundError:
        return
    ours = (
        stat.S_ISDIR(status.st_mode)
        and path.name.startswith(prefix)
        and stat.S_IMODE(status.st_mode) == 0o700
        and status.st_uid in owners
    )
    if ours:
        # rmtree does not follow links inside it either.
        shutil.rmtree(path, ignore_errors=True)


def grant_traverse(path: Path) -> None:
    """Lets other users pass through each directory above path (o+x, nothing more), as a
    server running under its own user needs in order to reach its data. Each directory is
    opened without following links and changed through that descriptor."""
    for parent in path.parents:
        fd = os.open(parent, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC)
        try:
            mode = os.fstat(fd).st_mode
            if not mode & stat.S_IXOTH:
                os.fchmod(fd, stat.S_IMODE(mode) | stat.S_IXOTH)
        finally:
            os.close(fd)
