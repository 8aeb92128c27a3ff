"""Catalogue rows as the API returns them (the same shape as the write side's answers)."""

from __future__ import annotations

import json
from typing import Any

import asyncpg

from services.registry.domain.cards import typed


def json_value(value: Any) -> Any:
    """A json/jsonb column, whether the connection's codec parsed it or not."""
    return json.loads(value) if isinstance(value, str) else value


def _time(value: Any) -> str | None:
    return value.isoformat() if value is not None else None


def _request(a: dict[str, Any]) -> dict[str, Any]:
    # From to_jsonb (times as text) or from a fetched row (times as datetime).
    at = a["requested_at"]
    return {
        **a,
        "requested_at": at.isoformat() if hasattr(at, "isoformat") else at,
        "approvals": json_value(a["approvals"]),
    }


def approval(r: dict[str, Any]) -> dict[str, Any]:
    return {
        "id": r["request_id"],
        "stage": r["stage"],
        "status": r["status"],
        "requested_by": r["requested_by"],
        "requested_at": r["requested_at"],
        "reason": r["reason"],
        "required_approvals": r["required"],
        "approvals": r["approvals"],
        "decided_by": r["decided_by"],
    }


def version_row(r: asyncpg.Record | dict[str, Any]) -> dict[str, Any]:
    return {
        "id": str(r["version_id"]),
        "model_id": str(r["model_id"]),
        "model": r["model_name"],
        "number": r["number"],
        "stage": r["stage"],
        "aliases": list(r["aliases"]),
        "deleted": r["deleted"],
        "artifact_uri": r["artifact_uri"],
        "sha256": r["sha256"],
        "size": r["size"],
        "format": r["format"],
        "flavor": r["flavor"],
        "run_id": r["run_id"],
        "dataset_version": r["dataset_version"],
        "hyperparameters": json_value(r["hyperparameters"]),
        "metrics": json_value(r["metrics"]),
        "lineage": json_value(r["lineage"]),
        "tags": json_value(r["tags"]),
        "description": r["description"],
        # Typed, also where the views were made before cards were.
        "model_card": typed(json_value(r["model_card"])),
        "created_by": r["created_by"],
        "created_at": _time(r["created_at"]),
        "updated_at": _time(r["updated_at"]),
        "stage_changed_at": _time(r["stage_changed_at"]),
        "approval_requests": [approval(_request(a)) for a in json_value(r["approval_requests"])],
        "manifest": json_value(r["manifest"]),
        # The last promotion's gate evaluation (null without one, or before gates).
        "gates": json_value(r["gates"]) if r.get("gates") is not None else None,
        "position": r["position"],
    }


def model_row(r: asyncpg.Record) -> dict[str, Any]:
    return {
        "id": str(r["model_id"]),
        "name": r["name"],
        "description": r["description"],
        "tags": json_value(r["tags"]),
        "created_by": r["created_by"],
        "created_at": _time(r["created_at"]),
        "updated_at": _time(r["updated_at"]),
        "deleted": r["deleted"],
        "latest_version": r["latest_version"],
        "aliases": dict(sorted(json_value(r["aliases"]).items())),
        "allow_multiple_production": r["allow_multiple_production"],
        "staging": list(r["staging"]),
        "production": list(r["production"]),
        "position": r["position"],
    }
