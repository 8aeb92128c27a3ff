"""/api/v1/models/{name}/versions: register, describe, tag, metrics, lineage, model card,
approvals, promote, archive, delete. Reads are in reads.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from schemas.commands import (
    Archive,
    LinkLineage,
    Promote,
    RecordMetrics,
    RegisterVersion,
    RequestApproval,
    Review,
    SetTag,
    UpdateModelCard,
    UpdateVersion,
)
from services.api.deps import answer, context, registry
from services.api.errors import ApiError
from services.registry.domain.values import promotable_stage

router = APIRouter(prefix="/api/v1/models/{name}/versions", tags=["versions"])


@router.post("", status_code=201)
def register_version(
    name: str, body: RegisterVersion, request: Request, response: Response
) -> dict[str, Any]:
    facts = body.model_dump(exclude={"command_id", "reason"})
    outcome = registry(request).register_version(name, context(request, body), **facts)
    return answer(response, "version", outcome)


@router.patch("/{number}")
def update_version(
    name: str, number: int, body: UpdateVersion, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).describe_version(
        name, number, body.description, context(request, body)
    )
    return answer(response, "version", outcome)


@router.put("/{number}/tags/{key}")
def tag_version(
    name: str, number: int, key: str, body: SetTag, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).tag_version(name, number, key, body.value, context(request, body))
    return answer(response, "version", outcome)


@router.delete("/{number}/tags/{key}")
def untag_version(
    name: str, number: int, key: str, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).untag_version(name, number, key, context(request))
    return answer(response, "version", outcome)


@router.post("/{number}/metrics")
def record_metrics(
    name: str, number: int, body: RecordMetrics, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).record_metrics(name, number, body.metrics, context(request, body))
    return answer(response, "version", outcome)


@router.post("/{number}/lineage")
def link_lineage(
    name: str, number: int, body: LinkLineage, request: Request, response: Response
) -> dict[str, Any]:
    references = [ref.model_dump() for ref in body.references]
    outcome = registry(request).link_lineage(name, number, references, context(request, body))
    return answer(response, "version", outcome)


@router.put("/{number}/model-card")
def update_model_card(
    name: str, number: int, body: UpdateModelCard, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).update_model_card(name, number, body.card, context(request, body))
    return answer(response, "version", outcome)


@router.delete("/{number}")
def delete_version(name: str, number: int, request: Request, response: Response) -> dict:
    outcome = registry(request).delete_version(name, number, context(request))
    return answer(response, "version", outcome)


@router.post("/{number}/approvals", status_code=201)
def request_approval(
    name: str, number: int, body: RequestApproval, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).request_approval(
        name,
        number,
        promotable_stage(body.stage),
        context(request, body),
        body.required_approvals,
    )
    return answer(response, "version", outcome)


@router.post("/{number}/approvals/{request_id}/{decision}")
def review(
    name: str,
    number: int,
    request_id: str,
    decision: str,
    body: Review,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    app = registry(request)
    actions = {"approve": app.approve, "reject": app.reject, "withdraw": app.withdraw}
    if decision not in actions:
        raise ApiError(404, "not_found", "a review is approve, reject or withdraw")
    outcome = actions[decision](name, number, request_id, context(request, body))
    return answer(response, "version", outcome)


@router.post("/{number}/promote")
def promote(
    name: str, number: int, body: Promote, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).promote(
        name, number, promotable_stage(body.stage), context(request, body)
    )
    return answer(response, "version", outcome)


@router.post("/{number}/archive")
def archive(
    name: str, number: int, body: Archive, request: Request, response: Response
) -> dict[str, Any]:
    outcome = registry(request).archive(name, number, context(request, body))
    return answer(response, "version", outcome)
