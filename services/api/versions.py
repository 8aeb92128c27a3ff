"""/api/v1/models/{name}/versions: register, describe, tag, untag, metrics, lineage,
model card, approvals, promote, archive, delete. Each route builds its command and hands
it to the dispatcher. Reads are in reads.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from schemas import bodies as b
from schemas import commands as c
from services.api.caller import CALLER
from services.api.dispatch import dispatch, sends
from services.api.params import (
    COMMAND_ERRORS,
    ModelName,
    RequestId,
    TagKey,
    VersionNumber,
)

router = APIRouter(
    prefix="/api/v1/models/{name}/versions",
    tags=["versions"],
    responses=COMMAND_ERRORS,
    dependencies=[CALLER],
)


@router.post("", status_code=201, openapi_extra=sends(c.RegisterVersion))
def register_version(
    name: ModelName, body: b.RegisterVersionBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RegisterVersion, body, model=name)


@router.patch("/{number}", openapi_extra=sends(c.DescribeVersion))
def describe_version(
    name: ModelName,
    number: VersionNumber,
    body: b.DescribeBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.DescribeVersion, body, model=name, version=number)


@router.put("/{number}/tags/{key}", openapi_extra=sends(c.TagVersion))
def tag_version(
    name: ModelName,
    number: VersionNumber,
    key: TagKey,
    body: b.TagBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.TagVersion, body, model=name, version=number, key=key)


@router.delete("/{number}/tags/{key}", openapi_extra=sends(c.UntagVersion))
def untag_version(
    name: ModelName, number: VersionNumber, key: TagKey, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.UntagVersion, model=name, version=number, key=key)


@router.post("/{number}/metrics", openapi_extra=sends(c.RecordMetrics))
def record_metrics(
    name: ModelName,
    number: VersionNumber,
    body: b.RecordMetricsBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.RecordMetrics, body, model=name, version=number)


@router.post("/{number}/lineage", openapi_extra=sends(c.LinkLineage))
def link_lineage(
    name: ModelName,
    number: VersionNumber,
    body: b.LinkLineageBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.LinkLineage, body, model=name, version=number)


@router.put("/{number}/model-card", openapi_extra=sends(c.UpdateModelCard))
def update_model_card(
    name: ModelName,
    number: VersionNumber,
    body: b.UpdateModelCardBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.UpdateModelCard, body, model=name, version=number)


@router.patch("/{number}/model-card", openapi_extra=sends(c.AmendModelCard))
def amend_model_card(
    name: ModelName,
    number: VersionNumber,
    body: b.AmendModelCardBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.AmendModelCard, body, model=name, version=number)


@router.delete("/{number}", openapi_extra=sends(c.DeleteVersion))
def delete_version(
    name: ModelName, number: VersionNumber, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.DeleteVersion, model=name, version=number)


@router.post("/{number}/approvals", status_code=201, openapi_extra=sends(c.RequestApproval))
def request_approval(
    name: ModelName,
    number: VersionNumber,
    body: b.RequestApprovalBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.RequestApproval, body, model=name, version=number)


@router.post(
    "/{number}/alias-approvals", status_code=201, openapi_extra=sends(c.RequestAliasApproval)
)
def request_alias_approval(
    name: ModelName,
    number: VersionNumber,
    body: b.RequestAliasApprovalBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Asks for sign-off to point a protected alias at this version."""
    return dispatch(request, response, c.RequestAliasApproval, body, model=name, version=number)


def _decision_route(kind: type[c.OnRequest], verb: str) -> None:
    """POST .../approvals/{request_id}/{verb}: approve, reject or withdraw a request."""

    @router.post(
        f"/{{number}}/approvals/{{request_id}}/{verb}", openapi_extra=sends(kind), name=verb
    )
    def decide(
        name: ModelName,
        number: VersionNumber,
        request_id: RequestId,
        body: b.ReviewBody,
        request: Request,
        response: Response,
    ) -> dict[str, Any]:
        address = {"model": name, "version": number, "request_id": request_id}
        return dispatch(request, response, kind, body, **address)


for kind, verb in ((c.Reject, "reject"), (c.Withdraw, "withdraw")):
    _decision_route(kind, verb)


@router.post("/{number}/approvals/{request_id}/approve", openapi_extra=sends(c.Approve))
def approve(
    name: ModelName,
    number: VersionNumber,
    request_id: RequestId,
    body: b.ApproveBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Signs the request off; with override, an administrator's break-glass approval."""
    address = {"model": name, "version": number, "request_id": request_id}
    return dispatch(request, response, c.Approve, body, **address)


@router.post("/{number}/promote", openapi_extra=sends(c.Promote))
def promote(
    name: ModelName,
    number: VersionNumber,
    body: b.PromoteBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.Promote, body, model=name, version=number)


@router.post("/{number}/archive", openapi_extra=sends(c.Archive))
def archive(
    name: ModelName,
    number: VersionNumber,
    body: b.ArchiveBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    return dispatch(request, response, c.Archive, body, model=name, version=number)
