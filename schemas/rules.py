"""The value rules of the public contract, as types: what a name, a tag, a digest... may be.

These mirror the domain's own checks (services/registry/domain/values.py), which stay the
authority; a unit test holds the two to the same answers. Having them here puts them in
the generated OpenAPI and JSON Schemas, so a client (or a fuzzer) knows before sending
what will be accepted.

Patterns are written for three regex engines at once: Python's `re`, pydantic-core's
(Rust), and ECMA-262 with the `u` flag (JSON Schema): no look-arounds, character classes
only, BMP characters as \\uXXXX escapes and characters beyond it literally.
"""

from __future__ import annotations

import re
import sys
import unicodedata
from collections.abc import Callable, Iterator
from typing import Annotated, Any, Literal, get_args

from pydantic import (
    AfterValidator,
    BeforeValidator,
    Field,
    GetJsonSchemaHandler,
    Strict,
    WithJsonSchema,
)
from typing_extensions import TypeAliasType

# -- character classes -----------------------------------------------------------------

# Control, format and private-use characters: invisible or device-dependent text that
# could make two names look alike (surrogates cannot reach us in valid UTF-8).
CONTROL_CATEGORIES = ("Cc", "Cf", "Cs", "Co")


def _ranges(wanted: Callable[[str], bool]) -> Iterator[tuple[int, int]]:
    """Runs of code points for which wanted holds; surrogates, which no engine matches
    alone in UTF-8 text, are left out."""
    start = None
    for code in range(sys.maxunicode + 1):
        if not 0xD800 <= code <= 0xDFFF and wanted(chr(code)):
            if start is None:
                start = code
        elif start is not None:
            yield start, code - 1
            start = None
    if start is not None:
        yield start, sys.maxunicode


def _char(code: int) -> str:
    return f"\\u{code:04x}" if code <= 0xFFFF else chr(code)


def _class_body(wanted: Callable[[str], bool]) -> str:
    return "".join(_char(a) if a == b else f"{_char(a)}-{_char(b)}" for a, b in _ranges(wanted))


def _is_control(ch: str) -> bool:
    return unicodedata.category(ch) in CONTROL_CATEGORIES


def controls_class() -> str:
    """CONTROLS, computed from this Python's Unicode table."""
    return _class_body(_is_control)


def spaces_class() -> str:
    """SPACES, computed from this Python's Unicode table."""
    return _class_body(lambda ch: ch.isspace() and not _is_control(ch))


# Written out rather than computed at import (a scan of every code point, ~0.2 s in each
# process); test_rules.py fails if they drift from controls_class() and spaces_class().
CONTROLS = (
    "\\u0000-\\u001f\\u007f-\\u009f\\u00ad\\u0600-\\u0605\\u061c\\u06dd\\u070f"
    "\\u0890-\\u0891\\u08e2\\u180e\\u200b-\\u200f\\u202a-\\u202e\\u2060-\\u2064"
    "\\u2066-\\u206f\\ue000-\\uf8ff\\ufeff\\ufff9-\\ufffb"
    # beyond the BMP, the characters themselves (see the module's docstring)
    "\U000110bd\U000110cd\U00013430-\U00013438\U0001bca0-\U0001bca3"
    "\U0001d173-\U0001d17a\U000e0001\U000e0020-\U000e007f"
    "\U000f0000-\U000ffffd\U00100000-\U0010fffd"
)
SPACES = "\\u0020\\u00a0\\u1680\\u2000-\\u200a\\u2028-\\u2029\\u202f\\u205f\\u3000"

# -- patterns --------------------------------------------------------------------------

PRINTABLE = f"^[^{CONTROLS}]+$"
NO_NUL = "^[^\\u0000]*$"
_NAME_CHAR = f"[^{CONTROLS}/@]"
_NAME_EDGE = f"[^{CONTROLS}{SPACES}/@]"
NAME_CORE = f"{_NAME_EDGE}(?:{_NAME_CHAR}*{_NAME_EDGE})?"
NAME = f"^{NAME_CORE}$"
ACTOR_CORE = f"[^{CONTROLS}{SPACES}](?:[^{CONTROLS}]*[^{CONTROLS}{SPACES}])?"
ACTOR = f"^{ACTOR_CORE}$"
# Who a grant is for: one subject (user:ID, a person or a service account) or a group.
PRINCIPAL = f"^(?:user|group):{ACTOR_CORE}$"
# Where a grant applies: the whole registry, one model, or the models whose names start
# with a prefix (a team's).
SCOPE = f"^(?:registry|model:{NAME_CORE}|prefix:{NAME_CORE})$"
URI = f"^[^{CONTROLS}]*[^{CONTROLS}{SPACES}][^{CONTROLS}]*$"
URI_OR_EMPTY = f"^(?:[^{CONTROLS}]*[^{CONTROLS}{SPACES}][^{CONTROLS}]*)?$"
ALIAS = "^[A-Za-z][A-Za-z0-9_-]{0,63}$"
RESERVED_ALIAS = "^(?:[Ll][Aa][Tt][Ee][Ss][Tt]|[Vv][0-9]+)$"
SHA256 = "^[0-9a-f]{64}$"
UUID = "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
_SEGMENT_CHAR = f"[^{CONTROLS}/\\\\]"
_SEGMENT_FIRST = f"[^{CONTROLS}/\\\\.]"
# A path segment is anything but "", "." and "..".
_SEGMENT = (
    f"(?:{_SEGMENT_FIRST}{_SEGMENT_CHAR}*|\\.{_SEGMENT_FIRST}{_SEGMENT_CHAR}*"
    f"|\\.\\.{_SEGMENT_CHAR}+)"
)
FILE_PATH = f"^{_SEGMENT}(?:/{_SEGMENT})*$"
# A parent version in lineage: NAME/NUMBER, NAME@ALIAS or a version id.
VERSION_REFERENCE = f"^(?:{NAME_CORE}/[0-9]{{1,9}}|{NAME_CORE}@[A-Za-z0-9_-]+|{UUID[1:-1]})$"

# -- limits (the domain's) -------------------------------------------------------------

MAX_NAME = 256
MAX_TEXT = 64 * 1024
MAX_SHORT_TEXT = 256
MAX_TAG_KEY = 250
MAX_TAG_VALUE = 5000
MAX_TAGS = 100
MAX_METRICS = 1000
MAX_URI = 4096
MAX_REASON = 4096
MAX_COMMAND_ID = 200
MAX_PATH = 1024
MAX_FILES = 10_000
MAX_LINEAGE = 1000
MAX_RELATION = 64
MAX_CARD_BYTES = 256 * 1024  # a model card, as compact JSON
MAX_INT = 2**31 - 1  # PostgreSQL's integer: version numbers fit in it
# Sizes and counts: exact in a JSON number everywhere (JavaScript's doubles) and in
# PostgreSQL's bigint.
MAX_SAFE_INT = 2**53
MAX_FLOAT = sys.float_info.max
RESERVED_KEY = "_type_"  # the event store's JSON marks typed values with it


def not_reserved(value: str) -> str:
    if value == RESERVED_KEY:
        raise ValueError(f"the key {RESERVED_KEY!r} is reserved")
    return value


def not_reserved_alias(value: str) -> str:
    if re.fullmatch(RESERVED_ALIAS, value):
        raise ValueError(f"alias {value!r} is reserved")
    return value


def _schema(**extra: Any) -> Callable[[dict[str, Any]], None]:
    def add(schema: dict[str, Any]) -> None:
        schema.update(extra)

    return add


def integral(value: Any) -> Any:
    """JSON Schema counts 2.0 as an integer; strict validation would refuse it."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


# -- access ----------------------------------------------------------------------------

# The roles a grant gives (services/registry/domain/access.py says what each may do).
ROLES = (
    "reader",
    "contributor",
    "reviewer",
    "releaser:staging",
    "releaser:production",
    "owner",
)
RoleName = Literal[
    "reader", "contributor", "reviewer", "releaser:staging", "releaser:production", "owner"
]

# -- types -----------------------------------------------------------------------------

ModelName = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=MAX_NAME,
        pattern=NAME,
        description="1-256 characters; no '/', '@', control characters or outer spaces",
    ),
]
Alias = Annotated[
    str,
    Strict(),
    Field(
        pattern=ALIAS,
        description="A letter, then up to 63 letters, digits, '_' or '-'; 'latest' and 'vN' "
        "are reserved",
        json_schema_extra=_schema(**{"not": {"pattern": RESERVED_ALIAS}}),
    ),
    AfterValidator(not_reserved_alias),
]
Text = Annotated[str, Strict(), Field(max_length=MAX_TEXT, pattern=NO_NUL)]
ShortText = Annotated[str, Strict(), Field(max_length=MAX_SHORT_TEXT, pattern=NO_NUL)]
Reason = Annotated[str, Strict(), Field(max_length=MAX_REASON, pattern=NO_NUL)]
CommandId = Annotated[
    str, Strict(), Field(min_length=1, max_length=MAX_COMMAND_ID, pattern=PRINTABLE)
]
Key = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=MAX_TAG_KEY,
        pattern=PRINTABLE,
        json_schema_extra=_schema(**{"not": {"const": RESERVED_KEY}}),
    ),
    AfterValidator(not_reserved),
]
TagValue = Annotated[str, Strict(), Field(max_length=MAX_TAG_VALUE, pattern=NO_NUL)]
Sha256 = Annotated[str, Strict(), Field(pattern=SHA256, description="64 lowercase hex digits")]
Size = Annotated[
    int, Strict(), Field(ge=0, le=MAX_SAFE_INT, description="Bytes"), BeforeValidator(integral)
]
Number = Annotated[int, Strict(), Field(ge=1, le=MAX_INT), BeforeValidator(integral)]
Approvals = Annotated[int, Strict(), Field(ge=1, le=10), BeforeValidator(integral)]
Days = Annotated[int, Strict(), Field(ge=1, le=732), BeforeValidator(integral)]
Metric = Annotated[float, Strict(), Field(ge=-MAX_FLOAT, le=MAX_FLOAT, allow_inf_nan=False)]
PromotableStage = Literal["staging", "production"]
StageName = Literal["development", "staging", "production", "archived"]
LineageKind = Literal["dataset", "feature", "code", "run", "model_version", "deployment"]
LINEAGE_KINDS = get_args(LineageKind)


def _keyed(value_schema: dict[str, Any], max_properties: int) -> dict[str, Any]:
    """An object whose keys follow the Key rule: pydantic would describe the keys with
    patternProperties, which does not forbid other keys."""
    return {
        "type": "object",
        "maxProperties": max_properties,
        "propertyNames": {
            "minLength": 1,
            "maxLength": MAX_TAG_KEY,
            "pattern": PRINTABLE,
            "not": {"const": RESERVED_KEY},
        },
        "additionalProperties": value_schema,
    }


Tags = Annotated[
    dict[Key, TagValue],
    Field(max_length=MAX_TAGS),
    WithJsonSchema(
        _keyed({"type": "string", "maxLength": MAX_TAG_VALUE, "pattern": NO_NUL}, MAX_TAGS)
    ),
]
Metrics = Annotated[
    dict[Key, Metric],
    Field(max_length=MAX_METRICS),
    WithJsonSchema(
        _keyed({"type": "number", "minimum": -MAX_FLOAT, "maximum": MAX_FLOAT}, MAX_METRICS)
    ),
]


def _json_keys(value: dict[str, Any]) -> dict[str, Any]:
    for key in value:
        not_reserved(key)
        if "\x00" in key:
            raise ValueError("keys must not contain NUL characters")
    return value


class _KeyRules:
    """Says in the JSON Schema what _json_keys checks (pydantic says nothing of keys)."""

    @classmethod
    def __get_pydantic_json_schema__(cls, core: Any, handler: GetJsonSchemaHandler) -> Any:
        schema = handler(core)
        schema["propertyNames"] = {"pattern": NO_NUL, "not": {"const": RESERVED_KEY}}
        return schema


# Free-form JSON (hyperparameters, a model card's legacy section): no reserved key at any
# depth, and no NUL in text (the views keep it as jsonb, which refuses NUL).
JsonText = Annotated[str, Strict(), Field(pattern=NO_NUL)]
# Integers are kept exact up to 2^53 (what every JSON reader keeps exact); a larger one is
# the same JSON number as a float and is kept as one (orjson, among others, stops at 64
# bits). Send an identifier that must stay exact as text.
JsonInteger = Annotated[
    int, Strict(), Field(ge=-MAX_SAFE_INT, le=MAX_SAFE_INT), BeforeValidator(integral)
]
JsonValue = TypeAliasType(
    "JsonValue",
    "JsonInteger | Metric | Annotated[bool, Strict()] | JsonText | list[JsonValue]"
    " | JsonObject | None",
)
JsonObject = TypeAliasType(
    "JsonObject",
    Annotated[dict[str, JsonValue], AfterValidator(_json_keys), _KeyRules()],
)

_MAX_ID = 200  # characters of a subject or group id, as sent
UserPrincipal = Annotated[
    str,
    Strict(),
    Field(min_length=6, max_length=5 + _MAX_ID, pattern=f"^user:{ACTOR_CORE}$"),
]
GroupPrincipal = Annotated[
    str,
    Strict(),
    Field(min_length=7, max_length=6 + _MAX_ID, pattern=f"^group:{ACTOR_CORE}$"),
]
Principal = Annotated[
    UserPrincipal | GroupPrincipal,
    Field(
        description="user:ID (a person or a service account) or group:NAME, ids of 1-200 "
        "characters; ids are case-folded",
        examples=["user:alice", "group:fraud-team"],
    ),
]
Subject = Annotated[
    str,
    Strict(),
    Field(
        min_length=1,
        max_length=200,
        pattern=ACTOR,
        description="A subject or group id: no control characters or outer spaces",
    ),
]
Scope = Annotated[
    Literal["registry"]
    | Annotated[str, Strict(), Field(max_length=6 + MAX_NAME, pattern=f"^model:{NAME_CORE}$")]
    | Annotated[str, Strict(), Field(max_length=7 + MAX_NAME, pattern=f"^prefix:{NAME_CORE}$")],
    Field(
        description="registry, model:NAME or prefix:NAME-PREFIX (a team's models)",
        examples=["registry", "model:fraud-scorer", "prefix:fraud-"],
    ),
]
