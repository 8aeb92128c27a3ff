"""Rules that span a model and one of its versions."""

from __future__ import annotations

from services.registry.domain.errors import NotApproved
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion


def request_approval(
    model: RegisteredModel,
    version: ModelVersion,
    request_id: str,
    stage: Stage,
    required: int,
    ctx: Context,
) -> None:
    model.check_version_changeable(version.number)
    version.request_approval(request_id, stage, model.stage_of(version.number), required, ctx)


def promote(model: RegisteredModel, version: ModelVersion, stage: Stage, ctx: Context) -> None:
    """Moves version to stage on the strength of an approved, unused request for it."""
    model.version_entry(version.number)
    request = version.approved_request(stage, model.used_requests)
    if request is None:
        raise NotApproved(
            f"version {version.number} of {model.name!r} has no approved request for "
            f"{stage.value}; request approval and have it signed off first",
            stage=stage.value,
            version=version.number,
        )
    model.record_promotion(version.number, stage, request["id"], request["approvals"], ctx)
