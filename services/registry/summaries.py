"""Plain-dict views of aggregates: what a command answers (the REST response, the Kafka
command result). Reads are answered from the views (services/catalogue), not from these."""

from __future__ import annotations

from typing import Any

from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Stage
from services.registry.domain.version import ModelVersion


def model_summary(model: RegisteredModel) -> dict[str, Any]:
    return {
        "id": str(model.id),
        "name": model.name,
        "description": model.description,
        "tags": dict(model.tags),
        "created_by": model.created_by,
        "created_at": model.created_on.isoformat(),
        "updated_at": model.modified_on.isoformat(),
        "deleted": model.deleted,
        "latest_version": model.last_number,
        "aliases": dict(sorted(model.aliases.items())),
        "allow_multiple_production": model.allow_multiple_production,
        "staging": model.holders(Stage.STAGING),
        "production": model.holders(Stage.PRODUCTION),
    }


def version_state(model: RegisteredModel, number: int) -> dict[str, Any]:
    return {
        "stage": model.stages.get(str(number), Stage.DEVELOPMENT.value),
        "aliases": model.aliases_of(number),
        "deleted": model.is_deleted(number),
    }


def version_summary(model: RegisteredModel, version: ModelVersion) -> dict[str, Any]:
    return {
        "id": str(version.id),
        "model_id": str(model.id),
        "model": model.name,
        "number": version.number,
        **version_state(model, version.number),
        "artifact_uri": version.artifact_uri,
        "sha256": version.sha256,
        "size": version.size,
        "format": version.format,
        "flavor": version.flavor,
        "run_id": version.run_id,
        "dataset_version": version.dataset_version,
        "hyperparameters": dict(version.hyperparameters),
        "metrics": dict(version.metrics),
        "lineage": [dict(ref) for ref in version.lineage],
        "tags": dict(version.tags),
        "description": version.description,
        "model_card": dict(version.model_card),
        "created_by": version.created_by,
        "created_at": version.created_on.isoformat(),
        "updated_at": version.modified_on.isoformat(),
        "approval_requests": [dict(r) for r in version.requests.values()],
        "manifest": [dict(e) for e in version.manifest],
    }
