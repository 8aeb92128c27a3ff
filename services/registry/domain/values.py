"""Value rules: names, stages, tags, metrics, digests. Pure functions, no IO."""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from services.registry.domain.errors import InvalidInput

MAX_NAME = 256
MAX_TEXT = 64 * 1024
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000
MAX_TAGS = 100
MAX_METRICS = 1000
MAX_URI = 4096
MAX_REASON = 4096
SHA256 = re.compile(r"^[0-9a-f]{64}$")
ALIAS = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,63}$")
RESERVED_ALIAS = re.compile(r"^(latest|v\d+)$", re.IGNORECASE)


class Stage(StrEnum):
    DEVELOPMENT = "development"
    STAGING = "staging"
    PRODUCTION = "production"
    ARCHIVED = "archived"


PROMOTABLE = (Stage.STAGING, Stage.PRODUCTION)
# MLflow's names for the same stages, accepted on input.
_STAGE_ALIASES = {"none": Stage.DEVELOPMENT}


def parse_stage(value: str) -> Stage:
    key = str(value).strip().lower()
    if key in _STAGE_ALIASES:
        return _STAGE_ALIASES[key]
    try:
        return Stage(key)
    except ValueError:
        raise InvalidInput(
            f"unknown stage {value!r}", field="stage", allowed=[s.value for s in Stage]
        ) from None


def promotable_stage(value: str) -> Stage:
    stage = parse_stage(value)
    if stage not in PROMOTABLE:
        raise InvalidInput(
            f"a version is promoted to staging or production, not {stage.value}",
            field="stage",
            allowed=[s.value for s in PROMOTABLE],
        )
    return stage


def is_number(text: str) -> bool:
    """Only ASCII digits: str.isdigit() also accepts "²", which int() refuses."""
    return text.isascii() and text.isdigit()


def _has_control(text: str) -> bool:
    return any(unicodedata.category(ch) in ("Cc", "Cf", "Cs", "Co") for ch in text)


def check_name(value: Any, field: str = "name") -> str:
    """A model name: 1-256 characters, no '/', '@', control characters or outer spaces."""
    if not isinstance(value, str) or value == "":
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    if len(value) > MAX_NAME:
        raise InvalidInput(f"{field} is longer than {MAX_NAME} characters", field=field)
    if value != value.strip():
        raise InvalidInput(f"{field} must not start or end with spaces", field=field)
    if "/" in value or "@" in value:
        raise InvalidInput(f"{field} must not contain '/' or '@'", field=field)
    if _has_control(value):
        raise InvalidInput(f"{field} must not contain control characters", field=field)
    return value


def check_alias(value: Any) -> str:
    if not isinstance(value, str) or not ALIAS.fullmatch(value):
        raise InvalidInput(
            "an alias is a letter followed by up to 63 letters, digits, '_' or '-'",
            field="alias",
        )
    if RESERVED_ALIAS.fullmatch(value):
        raise InvalidInput(f"alias {value!r} is reserved", field="alias")
    return value


def check_text(value: Any, field: str, limit: int = MAX_TEXT) -> str:
    if value is None:
        return ""
    if not isinstance(value, str):
        raise InvalidInput(f"{field} must be a string", field=field)
    if len(value) > limit:
        raise InvalidInput(f"{field} is longer than {limit} characters", field=field, limit=limit)
    if "\x00" in value:
        raise InvalidInput(f"{field} must not contain NUL characters", field=field)
    return value


RESERVED_KEY = "_type_"  # the event store's JSON marks typed values with it


def check_no_reserved_keys(value: Any, field: str) -> None:
    """Refuses objects with a "_type_" key at any depth: the event store would read them
    back as typed values, and a stored event that cannot be read back breaks its stream."""
    stack = [value]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if RESERVED_KEY in item:
                raise InvalidInput(f"{field}: the key {RESERVED_KEY!r} is reserved", field=field)
            stack.extend(item.values())
        elif isinstance(item, list | tuple):
            stack.extend(item)


MAX_PATH = 1024
MAX_FILES = 10_000


def check_artifact_path(value: Any) -> str:
    """A file's path inside a version's artefact: relative, '/'-separated, no '..',
    '.', empty segments, backslashes, NUL or control characters (no escaping DEST)."""
    if not isinstance(value, str) or not value or len(value) > MAX_PATH:
        raise InvalidInput(f"a file path is 1-{MAX_PATH} characters", field="manifest.path")
    if value.startswith("/") or "\\" in value or _has_control(value):
        raise InvalidInput(
            f"file path {value!r} must be relative, with '/' and no control characters",
            field="manifest.path",
        )
    if any(part in ("", ".", "..") for part in value.split("/")):
        raise InvalidInput(
            f"file path {value!r} has an empty, '.' or '..' segment", field="manifest.path"
        )
    return value


def check_manifest(value: Any) -> list[dict[str, Any]]:
    """[{path, sha256, size}], paths unique; sorted by path."""
    if value is None:
        return []
    if not isinstance(value, list) or len(value) > MAX_FILES:
        raise InvalidInput(f"manifest is a list of at most {MAX_FILES} files", field="manifest")
    entries: dict[str, dict[str, Any]] = {}
    for entry in value:
        if not isinstance(entry, dict) or set(entry) != {"path", "sha256", "size"}:
            raise InvalidInput("a manifest entry is {path, sha256, size}", field="manifest")
        path = check_artifact_path(entry["path"])
        digest, size = check_sha256(entry["sha256"]), check_size(entry["size"])
        if digest is None or size is None:
            raise InvalidInput("a manifest entry needs sha256 and size", field="manifest")
        if path in entries:
            raise InvalidInput(f"file path {path!r} appears twice", field="manifest.path")
        entries[path] = {"path": path, "sha256": digest, "size": size}
    return [entries[path] for path in sorted(entries)]


def check_tag(key: Any, value: Any) -> tuple[str, str]:
    if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY or _has_control(key):
        raise InvalidInput(
            f"a tag key is 1-{MAX_TAG_KEY} characters without control characters",
            field="tags",
        )
    if key == RESERVED_KEY:
        raise InvalidInput(f"the tag key {RESERVED_KEY!r} is reserved", field="tags")
    return key, check_text(value, f"tags.{key}", MAX_TAG_VALUE)


def check_tags(tags: Any) -> dict[str, str]:
    if tags is None:
        return {}
    if not isinstance(tags, dict) or len(tags) > MAX_TAGS:
        raise InvalidInput(f"tags must be an object with at most {MAX_TAGS} keys", field="tags")
    check_no_reserved_keys(tags, "tags")
    return dict(check_tag(k, v) for k, v in tags.items())


def check_metrics(metrics: Any) -> dict[str, float]:
    if metrics is None:
        return {}
    if not isinstance(metrics, dict) or len(metrics) > MAX_METRICS:
        raise InvalidInput(
            f"metrics must be an object with at most {MAX_METRICS} keys", field="metrics"
        )
    check_no_reserved_keys(metrics, "metrics")
    checked: dict[str, float] = {}
    for key, value in metrics.items():
        if not isinstance(key, str) or not key or len(key) > MAX_TAG_KEY or _has_control(key):
            raise InvalidInput("a metric name is 1-250 printable characters", field="metrics")
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(f"metric {key!r} must be a number", field=f"metrics.{key}")
        if not math.isfinite(value):
            raise InvalidInput(f"metric {key!r} must be finite", field=f"metrics.{key}")
        checked[key] = float(value)
    return checked


def check_sha256(value: Any) -> str | None:
    """An optional digest: None stays None."""
    return None if value is None else check_digest(value)


def check_digest(value: Any) -> str:
    """A required digest: 64 lowercase hex digits."""
    if not isinstance(value, str) or not SHA256.fullmatch(value):
        raise InvalidInput("sha256 must be 64 lowercase hex digits", field="sha256")
    return value


def check_size(value: Any) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise InvalidInput("size must be a non-negative integer", field="size")
    return value


def check_uri(value: Any, field: str = "artifact_uri") -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput(f"{field} must be a non-empty string", field=field)
    if len(value) > MAX_URI or _has_control(value):
        raise InvalidInput(f"{field} is too long or has control characters", field=field)
    return value


def check_actor(value: Any) -> str:
    if not isinstance(value, str) or not value.strip():
        raise InvalidInput("who acts must be named (X-Registrum-Actor / --as)", field="actor")
    if len(value) > MAX_NAME or _has_control(value) or value != value.strip():
        raise InvalidInput("the actor name is malformed", field="actor")
    return value


def check_json_object(value: Any, field: str, limit: int = MAX_TEXT) -> dict[str, Any]:
    """Free-form objects (hyperparameters) with a bounded encoded size."""
    import json

    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InvalidInput(f"{field} must be an object", field=field)
    try:
        encoded = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError):
        raise InvalidInput(f"{field} must hold JSON values only", field=field) from None
    if len(encoded) > limit:
        raise InvalidInput(f"{field} is larger than {limit} bytes", field=field, limit=limit)
    check_no_reserved_keys(value, field)
    return json.loads(encoded)  # a detached copy


@dataclass(frozen=True)
class Context:
    """Who acts, why, and under which command id: recorded on every event. principals
    are the authenticated caller's (user:<subject>, group:<name>), for decisions that
    record what the caller held (an approver's roles); they are not recorded themselves."""

    actor: str
    reason: str | None = None
    command_id: str | None = None
    principals: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        check_actor(self.actor)
        if self.reason is not None:
            check_text(self.reason, "reason", MAX_REASON)
        if self.command_id is not None and (
            not isinstance(self.command_id, str)
            or not 0 < len(self.command_id) <= 200
            or _has_control(self.command_id)
        ):
            raise InvalidInput("command_id is 1-200 printable characters", field="command_id")

    def fields(self) -> dict[str, Any]:
        return {"actor": self.actor, "reason": self.reason, "command_id": self.command_id}
