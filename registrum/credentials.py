"""Where the CLI's credential comes from, and the credentials file it keeps.

Resolved in this order (never from the command line, where shell history and `ps` would
show it):

1. REGISTRUM_TOKEN;
2. the selected profile (REGISTRUM_PROFILE or --profile, else "default") in the
   credentials file, `$XDG_CONFIG_HOME/registrum/credentials.json` or
   `~/.config/registrum/credentials.json`; a profile's token is sent only to its own URL;
3. for a registry on this machine (127.0.0.1, localhost, ::1), the first administrator's
   token that `registrum serve` wrote to `<REGISTRUM_DATA_DIR or ./.registrum>/admin.token`.

Like ssh with its keys, a secret file that others may read, or a symbolic link standing
where one should be, is refused (CredentialsError). The file is written whole (a new
file renamed into place, never through a link), readable by its owner alone, in a
directory only its owner may enter.
"""

from __future__ import annotations

import ipaddress
import json
import os
import secrets
import stat
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from registrum.errors import CredentialsError

DEFAULT_URL = "http://127.0.0.1:8000"
DEFAULT_PROFILE = "default"
TOKEN_VARIABLE = "REGISTRUM_TOKEN"
PROFILE_VARIABLE = "REGISTRUM_PROFILE"
ADMIN_TOKEN_FILE = "admin.token"
DEFAULT_DATA_DIR = ".registrum"
MAX_FILE = 1 << 20  # a credentials file is a few hundred bytes
_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_POSIX = os.name == "posix"


@dataclass(frozen=True)
class Profile:
    """A saved registry: its URL and the token to send it."""

    url: str
    token: str


@dataclass(frozen=True)
class Credential:
    """What a command talks to and with what: url, token (None: send none), and where
    the token came from, for messages (never the token itself)."""

    url: str
    token: str | None
    source: str | None


def credentials_path(env: Mapping[str, str] = os.environ) -> Path:
    """$XDG_CONFIG_HOME/registrum/credentials.json, else ~/.config/... (the XDG spec
    ignores a relative XDG_CONFIG_HOME)."""
    config = env.get("XDG_CONFIG_HOME", "")
    base = Path(config) if os.path.isabs(config) else Path.home() / ".config"
    return base / "registrum" / "credentials.json"


def same_url(a: str, b: str) -> bool:
    return a.rstrip("/") == b.rstrip("/")


def is_loopback(url: str) -> bool:
    """Does url name this machine (127.0.0.0/8, ::1, localhost)?"""
    try:
        host = urlsplit(url).hostname or ""
    except ValueError:
        return False
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def read_secret(path: Path) -> str | None:
    """The text of a file only its owner may read, or None when there is no such file.
    CredentialsError for a link at path, something other than a file, or a file that
    its group or others may read (with the chmod that fixes it); PermissionError when
    we may not read it."""
    try:
        # Not following a link; not waiting on a FIFO planted there.
        descriptor = os.open(path, os.O_RDONLY | _NOFOLLOW | _NONBLOCK)
    except FileNotFoundError:
        return None
    except PermissionError:
        raise  # reported with its file name (failures.py)
    except OSError as error:
        if path.is_symlink():
            raise CredentialsError(
                f"{path} is a symbolic link; refusing to read a secret through it (remove the link)"
            ) from None
        raise CredentialsError(f"{path}: {error.strerror or error}") from None
    with os.fdopen(descriptor, "rb") as file:
        info = os.fstat(file.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise CredentialsError(f"{path} is not a file")
        if _POSIX and info.st_mode & 0o077:
            raise CredentialsError(
                f"{path} is open to its group or others (mode {stat.S_IMODE(info.st_mode):04o}); "
                f"refusing to use it: run `chmod 600 {path}`"
            )
        data = file.read(MAX_FILE + 1)
    if len(data) > MAX_FILE:
        raise CredentialsError(f"{path} is too large to be a credentials file")
    try:
        return data.decode()
    except UnicodeDecodeError:
        raise CredentialsError(f"{path} is not UTF-8 text") from None


def load(path: Path) -> dict[str, Profile]:
    """The profiles saved at path ({} when there is no file)."""
    text = read_secret(path)
    if text is None:
        return {}
    try:
        document = json.loads(text)
    except ValueError:
        # The decoder's message may quote the file, which holds secrets.
        raise CredentialsError(f"{path} is not JSON: fix or remove it") from None
    profiles = document.get("profiles") if isinstance(document, dict) else None
    if not isinstance(profiles, dict):
        raise CredentialsError(f'{path} is not a credentials file (no "profiles" object)')
    found = {}
    for name, entry in profiles.items():
        if not (
            isinstance(entry, dict)
            and isinstance(entry.get("url"), str)
            and isinstance(entry.get("token"), str)
        ):
            raise CredentialsError(f"{path}: profile {name!r} needs a url and a token")
        found[name] = Profile(entry["url"], entry["token"])
    return found


def save(path: Path, profiles: Mapping[str, Profile]) -> None:
    """Writes profiles to path: a new 0600 file renamed into place (a link standing at
    path is replaced, never written through), in a 0700 directory."""
    directory = path.parent
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    if _POSIX and not directory.is_symlink():
        os.chmod(directory, 0o700)  # an older, wider directory is narrowed
    document: dict[str, Any] = {
        "profiles": {name: {"url": p.url, "token": p.token} for name, p in sorted(profiles.items())}
    }
    temporary = directory / f".{path.name}.{secrets.token_hex(8)}"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW
    descriptor = os.open(temporary, flags, 0o600)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(document, file, indent=2)
            file.write("\n")
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def admin_token_path(env: Mapping[str, str] = os.environ) -> Path:
    """Where `registrum serve` writes the first administrator's token."""
    return Path(env.get("REGISTRUM_DATA_DIR") or DEFAULT_DATA_DIR) / ADMIN_TOKEN_FILE


def resolve(
    url: str | None,
    profile: str | None,
    env: Mapping[str, str] = os.environ,
) -> Credential:
    """The URL and token a command uses. url: --url or REGISTRUM_URL when given; profile:
    --profile or REGISTRUM_PROFILE when given (a named profile must exist)."""
    name = profile or DEFAULT_PROFILE
    from_env = (env.get(TOKEN_VARIABLE) or "").strip()
    saved: Profile | None = None
    path = credentials_path(env)
    if profile is not None or url is None or not from_env:
        saved = load(path).get(name)
        if saved is None and profile is not None:
            raise CredentialsError(
                f"no profile {name!r} in {path}: save one with `registrum login --profile {name}`"
            )
    target = url or (saved.url if saved else DEFAULT_URL)
    if saved is not None and not same_url(saved.url, target):
        if profile is not None:
            raise CredentialsError(
                f"profile {name!r} holds a token for {saved.url}, not for {target}; "
                "its token is sent only there"
            )
        saved = None  # the default profile's token is for another registry
    if from_env:
        return Credential(target, from_env, TOKEN_VARIABLE)
    if saved is not None:
        return Credential(target, saved.token, f"profile {name!r} in {path}")
    if is_loopback(target):
        admin = admin_token_path(env)
        try:
            text = read_secret(admin)
        except PermissionError:
            text = None  # another user's registry: not ours to use
        if text and text.strip():
            return Credential(target, text.strip(), f"the administrator's token in {admin}")
    return Credential(target, None, None)
