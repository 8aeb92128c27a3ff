"""What an MLflow client sends: GETs carry their fields in the query string (repeated for
lists: `order_by=a&order_by=b`), the rest in a JSON body. Both are read into one dict and
checked here, each refusal naming the field in MLflow's terms."""

from __future__ import annotations

from typing import Any

import orjson
from starlette.requests import Request

from services.mlflow.errors import MlflowError

LISTS = ("order_by", "stages")


async def fields(request: Request) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for key in request.query_params:
        values = request.query_params.getlist(key)
        found[key] = values if key in LISTS else values[-1]
    raw = await request.body()
    if raw.strip():
        try:
            body = orjson.loads(raw)
        except orjson.JSONDecodeError:
            raise MlflowError("INVALID_PARAMETER_VALUE", "the body is not valid JSON") from None
        if not isinstance(body, dict):
            raise MlflowError("INVALID_PARAMETER_VALUE", "the body is not a JSON object")
        found.update(body)
    return found


def text(found: dict[str, Any], name: str, *, required: bool = True) -> str:
    value = found.get(name)
    if value is None or value == "":
        if required:
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{name}'."
            )
        return ""
    if not isinstance(value, str):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a string.")
    return value


def version(found: dict[str, Any], name: str = "version") -> int:
    """A version number: MLflow sends it as a string ("3")."""
    value = found.get(name)
    if isinstance(value, int) and not isinstance(value, bool):
        number = value
    elif isinstance(value, str) and value.strip().isdigit():
        number = int(value)
    elif value is None or value == "":
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"Missing value for required parameter '{name}'."
        )
    else:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE",
            f"Parameter '{name}' must be a version number, got {value!r}.",
        )
    if number < 1:
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be positive.")
    return number


def count(found: dict[str, Any], name: str, default: int) -> int:
    value = found.get(name, default)
    if isinstance(value, str) and value.strip().isdigit():
        value = int(value)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a positive integer."
        )
    return value


def flag(found: dict[str, Any], name: str) -> bool:
    value = found.get(name, False)
    if isinstance(value, str):
        if value.lower() not in ("true", "false"):
            raise MlflowError(
                "INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be true or false."
            )
        return value.lower() == "true"
    if not isinstance(value, bool):
        raise MlflowError("INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be true or false.")
    return value


def tag_list(found: dict[str, Any]) -> dict[str, str]:
    """MLflow's tags, [{"key": k, "value": v}, ...], as ours ({k: v})."""
    value = found.get("tags") or []
    if not isinstance(value, list):
        raise MlflowError("INVALID_PARAMETER_VALUE", "Parameter 'tags' must be a list.")
    tags: dict[str, str] = {}
    for tag in value:
        if not isinstance(tag, dict) or not isinstance(tag.get("key"), str):
            raise MlflowError("INVALID_PARAMETER_VALUE", 'Each tag is {"key": ..., "value": ...}.')
        tags[tag["key"]] = str(tag.get("value") if tag.get("value") is not None else "")
    return tags


def strings(found: dict[str, Any], name: str) -> list[str]:
    value = found.get(name) or []
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise MlflowError(
            "INVALID_PARAMETER_VALUE", f"Parameter '{name}' must be a list of strings."
        )
    return value
