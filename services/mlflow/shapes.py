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
        "description": v["description"] or "",
        "source": v["artifact_uri"] or "",
        "status": "READY",
        "tags": tags(v["tags"]),
        "aliases": list(v["aliases"]),
    }
    if v.get("run_id"):
        shaped["run_id"] = v["run_id"]
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
        "description": m["description"] or "",
        "tags": tags(m["tags"]),
        "aliases": [
            {"alias": alias, "version": str(number)} for alias, number in m["aliases"].items()
        ],
    }
    if latest:
        shaped["latest_versions"] = [model_version(v) for v in latest]
    return shaped
