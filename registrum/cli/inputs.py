"""Reading the command line: versions, stages, KEY=VALUE pairs, names and input files.

Everything here is checked before the registry is called; a bad value is a Usage error
(exit 2) naming what would be right.
"""

from __future__ import annotations

import json
import math
import re
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from registrum.cli.failures import Usage
from registrum.client import Client, is_number

STAGES = ("development", "staging", "production", "archived")
PROMOTABLE = ("staging", "production")
_MLFLOW_STAGES = {"none": "development"}  # MLflow's name for development
MAX_NAME = 256
_SCHEME = re.compile(r"^[A-Za-z][A-Za-z0-9+.-]*:")


def stage(value: str) -> str:
    """Any stage (MLflow's None is development), lower case."""
    key = value.strip().lower()
    key = _MLFLOW_STAGES.get(key, key)
    if key not in STAGES:
        raise Usage(f"unknown stage {value!r}; stages: {', '.join(STAGES)}")
    return key


def promotable(value: str) -> str:
    """A stage a version can be promoted to."""
    key = value.strip().lower()
    if key not in PROMOTABLE:
        raise Usage(
            f"{value!r} is not a stage a version is promoted to; stages: {', '.join(PROMOTABLE)}"
        )
    return key


def model_name(value: str) -> str:
    """A model name, at most MAX_NAME characters (the registry checks the rest)."""
    if not value:
        raise Usage("a model name is not empty")
    if len(value) > MAX_NAME:
        raise Usage(f"a model name is at most {MAX_NAME} characters, not {len(value)}")
    return value


def number(ref: str) -> int:
    """A version number (commands that change a version take no alias)."""
    if not is_number(ref):
        raise Usage(f"VERSION is a number here, not {ref!r}")
    return int(ref)


def version(client: Client, model: str, ref: str) -> dict[str, Any]:
    """The version ref names: a number or @alias."""
    if ref.startswith("@"):
        return client.resolve(model, ref[1:])
    if not is_number(ref):
        raise Usage(f"VERSION is a number or @alias, not {ref!r}")
    return client.get_version(model, int(ref))


def pairs(items: list[str] | None, what: str, numbers: bool = False) -> dict[str, Any]:
    """KEY=VALUE items as a dict; with numbers, each value a finite number."""
    found: dict[str, Any] = {}
    for item in items or []:
        key, sep, value = item.partition("=")
        if not sep or not key:
            raise Usage(f"{what} is KEY=VALUE, not {item!r}")
        if numbers:
            try:
                found[key] = float(value)
            except ValueError:
                raise Usage(f"{what} {key} is a number, not {value!r}") from None
            if not math.isfinite(found[key]):
                raise Usage(f"{what} {key} is a finite number, not {value!r}")
        else:
            found[key] = value
    return found


def lineage_references(items: list[str], relation: str) -> list[dict[str, str]]:
    """KIND=ID items as lineage references, in order (a kind may come more than once)."""
    found = []
    for item in items:
        kind, sep, ident = item.partition("=")
        if not sep or not kind or not ident:
            raise Usage(f"a reference is KIND=ID, not {item!r}")
        found.append({"kind": kind, "id": ident, "relation": relation})
    return found


def artefact(value: str) -> Path | None:
    """A local file or folder to upload, or None for a URI stored elsewhere (s3://...)."""
    path = Path(value)
    try:
        if path.exists():
            return path
    except OSError as exc:  # a name too long for the file system
        raise Usage(f"{value}: {exc.strerror}") from None
    if _SCHEME.match(value):
        return None
    raise Usage(f"{value}: no such file or folder (a URI names its scheme, e.g. s3://...)")


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def text_file(source: str, what: str, kind: str = "file") -> str:
    """The UTF-8 text of file source ('-' for standard input)."""
    try:
        return sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    except IsADirectoryError:
        raise Usage(f"{what} {source} is a folder, not a {kind}") from None
    except UnicodeDecodeError:
        raise Usage(f"{what} {source} is not UTF-8 text") from None
    except OSError as exc:
        raise Usage(f"{what} {source}: {exc.strerror or exc}") from None


def json_object(source: str, what: str) -> dict[str, Any]:
    """The JSON object in file source ('-' for standard input)."""
    text = text_file(source, what, "JSON file")
    try:
        data = json.loads(text, parse_constant=_no_constant)
    except ValueError as exc:
        raise Usage(f"{what} {source} is not JSON: {exc}") from None
    if not isinstance(data, dict):
        raise Usage(f"{what} {source} holds a JSON {type(data).__name__}, not an object")
    return data


def _model_argument(value: str) -> str:
    return model_name(value)


Model = Annotated[str, typer.Argument(help="The model's name.", callback=_model_argument)]
Version = Annotated[str, typer.Argument(metavar="VERSION", help="A version number.")]
VersionRef = Annotated[str, typer.Argument(metavar="VERSION", help="A version number, or @alias.")]


def hours(value: float | None, option: str) -> float | None:
    """A number of hours, 0 or more (None: not given)."""
    if value is not None and not (math.isfinite(value) and value >= 0):
        raise Usage(f"{option} is a number of hours, 0 or more")
    return value
