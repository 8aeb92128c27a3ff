"""/api/v1/models/{name}/versions: register, describe, tag, untag, metrics, lineage,
model card, approvals, promote, archive, delete. Each route builds its command and hands
it to the dispatcher. Reads are in reads.py."""

from __future__ import annotations

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


@router.post("", status_code=201, **sends(c.RegisterVersion))
def register_version(name: ModelName, body: b.RegisterVersionBody, request: Request) -> Response:
    return dispatch(request, c.RegisterVersion, body, model=name)


@router.patch("/{number}", **sends(c.DescribeVersion))
def describe_version(
    name: ModelName,
    number: VersionNumber,
    body: b.DescribeBody,
    request: Request,
) -> Response:
    return dispatch(request, c.DescribeVersion, body, model=name, version=number)


@router.put("/{number}/tags/{key}", **sends(c.TagVersion))
def tag_version(
    name: ModelName,
    number: VersionNumber,
    key: TagKey,
    body: b.TagBody,
    request: Request,
) -> Response:
    return dispatch(request, c.TagVersion, body, model=name, version=number, key=key)


@router.delete("/{number}/tags/{key}", **sends(c.UntagVersion))
def untag_version(
    name: ModelName, number: VersionNumber, key: TagKey, request: Request
) -> Response:
    return dispatch(request, c.UntagVersion, model=name, version=number, key=key)


@router.post("/{number}/metrics", **sends(c.RecordMetrics))
def record_metrics(
    name: ModelName,
    number: VersionNumber,
    body: b.RecordMetricsBody,
    request: Request,
) -> Response:
    return dispatch(request, c.RecordMetrics, body, model=name, version=number)


@router.post("/{number}/lineage", **sends(c.LinkLineage))
def link_lineage(
    name: ModelName,
    number: VersionNumber,
    body: b.LinkLineageBody,
    request: Request,
) -> Response:
    return dispatch(request, c.LinkLineage, body, model=name, version=number)


@router.put("/{number}/model-card", **sends(c.UpdateModelCard))
def update_model_card(
    name: ModelName,
    number: VersionNumber,
    body: b.UpdateModelCardBody,
    request: Request,
) -> Response:
    return dispatch(request, c.UpdateModelCard, body, model=name, version=number)


@router.patch("/{number}/model-card", **sends(c.AmendModelCard))
def amend_model_card(
    name: ModelName,
    number: VersionNumber,
    body: b.AmendModelCardBody,
    request: Request,
) -> Response:
    return dispatch(request, c.AmendModelCard, body, model=name, version=number)


@router.delete("/{number}", **sends(c.DeleteVersion))
def delete_version(name: ModelName, number: VersionNumber, request: Request) -> Response:
    return dispatch(request, c.DeleteVersion, model=name, version=number)


@router.post("/{number}/approvals", status_code=201, **sends(c.RequestApproval))
def request_approval(
    name: ModelName,
    number: VersionNumber,
    body: b.RequestApprovalBody,
    request: Request,
) -> Response:
    return dispatch(request, c.RequestApproval, body, model=name, version=number)


@router.post("/{number}/alias-approvals", status_code=201, **sends(c.RequestAliasApproval))
def request_alias_approval(
    name: ModelName,
    number: VersionNumber,
    body: b.RequestAliasApprovalBody,
    request: Request,
) -> Response:
    """Asks for sign-off to point a protected alias at this version."""
    return dispatch(request, c.RequestAliasApproval, body, model=name, version=number)


def _decision_route(kind: type[c.OnRequest], verb: str) -> None:
    """POST .../approvals/{request_id}/{verb}: approve, reject or withdraw a request."""

    @router.post(f"/{{number}}/approvals/{{request_id}}/{verb}", **sends(kind), name=verb)
    def decide(
        name: ModelName,
        number: VersionNumber,
        request_id: RequestId,
        body: b.ReviewBody,
        request: Request,
    ) -> Response:
        address = {"model": name, "version": number, "request_id": request_id}
        return dispatch(request, kind, body, **address)


for kind, verb in ((c.Reject, "reject"), (c.Withdraw, "withdraw")):
    _decision_route(kind, verb)


@router.post("/{number}/approvals/{request_id}/approve", **sends(c.Approve))
def approve(
    name: ModelName,
    number: VersionNumber,
    request_id: RequestId,
    body: b.ApproveBody,
    request: Request,
) -> Response:
    """Signs the request off; with override, an administrator's break-glass approval."""
    address = {"model": name, "version": number, "request_id": request_id}
    return dispatch(request, c.Approve, body, **address)


@router.post("/{number}/promote", **sends(c.Promote))
def promote(
    name: ModelName,
    number: VersionNumber,
    body: b.PromoteBody,
    request: Request,
) -> Response:
    return dispatch(request, c.Promote, body, model=name, version=number)


@router.post("/{number}/archive", **sends(c.Archive))
def archive(
    name: ModelName,
    number: VersionNumber,
    body: b.ArchiveBody,
    request: Request,
) -> Response:
    return dispatch(request, c.Archive, body, model=name, version=number)
