"""Our catalogue rows in MLflow's JSON shapes (protos ModelVersion and RegisteredModel, as
MLflow's server writes them: snake_case names, int64 as numbers, version as a string)."""

from __future__ import annotations

from datetime import datetime
from typing import Any

# Our stages and MLflow's: development is MLflow's "None".
TO_MLFLOW = {
    "development": "None",
    "staging": "Staging",
    "production": "Production",
    "archived": "Archived",
}
FROM_MLFLOW = {mlflow.lower(): ours for ours, mlflow in TO_MLFLOW.items()}


def stage_of(mlflow_stage: str) -> str | None:
    """Our stage for an MLflow stage name (any case), or None when it names none."""
    return FROM_MLFLOW.get(mlflow_stage.strip().lower())


def millis(iso: str | None) -> int:
    return int(datetime.fromisoformat(iso).timestamp() * 1000) if iso else 0


def tags(values: dict[str, Any]) -> list[dict[str, str]]:
    return [{"key": k, "value": str(v)} for k, v in sorted(values.items())]


def model_version(v: dict[str, Any]) -> dict[str, Any]:
    """A version row as MLflow's ModelVersion. Always READY: a version is registered when
    its command commits (MlflowClient polls a PENDING one for minutes)."""
    shaped: dict[str, Any] = {
        "name": v["model"],
        "version": str(v["number"]),
        "creation_timestamp": millis(v["created_at"]),
        "last_updated_timestamp": millis(v["updated_at"] or v["created_at"]),
        "user_id": v["created_by"],
        "current_stage": TO_MLFLOW.get(v["stage"], "None"),
        "source": v["artifact_uri"] or "",
        "status": "READY",
    }
    return unset_left_out(
        shaped,
        description=v["description"],
        tags=tags(v["tags"]),
        aliases=list(v["aliases"]),
        run_id=v.get("run_id"),
    )


def unset_left_out(shaped: dict[str, Any], **optional: Any) -> dict[str, Any]:
    """shaped with each optional field that has a value. MLflow's server leaves out what
    is unset (its JSON is the proto's): no description is no field, which its client
    reads as None, not ""; no tags, no list. Its client parses field by field, ~1.5 ms per
    thousand fields here, so a search's page is also lighter to read."""
    shaped.update((key, value) for key, value in optional.items() if value)
    return shaped


def registered_model(
    m: dict[str, Any], latest: list[dict[str, Any]] | None = None
) -> dict[str, Any]:
    """A model row as MLflow's RegisteredModel, with the latest version of each stage."""
    shaped: dict[str, Any] = {
        "name": m["name"],
        "creation_timestamp": millis(m["created_at"]),
        "last_updated_timestamp": millis(m["updated_at"] or m["created_at"]),
        "user_id": m["created_by"],
    }
    unset_left_out(
        shaped,
        description=m["description"],
        tags=tags(m["tags"]),
        aliases=[{"alias": alias, "version": str(n)} for alias, n in m["aliases"].items()],
    )
    if latest:
        shaped["latest_versions"] = [model_version(v) for v in latest]
    return shaped
