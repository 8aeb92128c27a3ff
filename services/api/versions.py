"""/api/v1/models/{name}/versions: register, describe, tag, untag, metrics, lineage,
model card, approvals, promote, archive, delete. Each route builds its command and hands
it to the dispatcher. Reads are in reads.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from schemas import bodies as b
from schemas import commands as c
from services.api.dispatch import dispatch, sends

router = APIRouter(prefix="/api/v1/models/{name}/versions", tags=["versions"])


@router.post("", status_code=201, openapi_extra=sends(c.RegisterVersion))
def register_version(
    name: str, body: b.RegisterVersionBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RegisterVersion, body, model=name)


@router.patch("/{number}", openapi_extra=sends(c.DescribeVersion))
def describe_version(
    name: str, number: int, body: b.DescribeBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.DescribeVersion, body, model=name, version=number)


@router.put("/{number}/tags/{key}", openapi_extra=sends(c.TagVersion))
def tag_version(
    name: str, number: int, key: str, body: b.TagBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.TagVersion, body, model=name, version=number, key=key)


@router.delete("/{number}/tags/{key}", openapi_extra=sends(c.UntagVersion))
def untag_version(
    name: str, number: int, key: str, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.UntagVersion, model=name, version=number, key=key)


@router.post("/{number}/metrics", openapi_extra=sends(c.RecordMetrics))
def record_metrics(
    name: str, number: int, body: b.RecordMetricsBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RecordMetrics, body, model=name, version=number)


@router.post("/{number}/lineage", openapi_extra=sends(c.LinkLineage))
def link_lineage(
    name: str, number: int, body: b.LinkLineageBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.LinkLineage, body, model=name, version=number)


@router.put("/{number}/model-card", openapi_extra=sends(c.UpdateModelCard))
def update_model_card(
    name: str, number: int, body: b.UpdateModelCardBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.UpdateModelCard, body, model=name, version=number)


@router.delete("/{number}", openapi_extra=sends(c.DeleteVersion))
def delete_version(name: str, number: int, request: Request, response: Response) -> dict[str, Any]:
    return dispatch(request, response, c.DeleteVersion, model=name, version=number)


@router.post("/{number}/approvals", status_code=201, openapi_extra=sends(c.RequestApproval))
def request_approval(
    name: str, number: int, body: b.RequestApprovalBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RequestApproval, body, model=name, version=number)


@router.post("/{number}/approvals/{request_id}/approve", openapi_extra=sends(c.Approve))
def approve(
    name: str,
    number: int,
    request_id: str,
    body: b.ReviewBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    address = {"model": name, "version": number, "request_id": request_id}
    return dispatch(request, response, c.Approve, body, **address)


@router.post("/{number}/approvals/{request_id}/reject", openapi_extra=sends(c.Reject))
def reject(
    name: str,
    number: int,
    request_id: str,
    body: b.ReviewBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    address = {"model": name, "version": number, "request_id": request_id}
    return dispatch(request, response, c.Reject, body, **address)


@router.post("/{number}/approvals/{request_id}/withdraw", openapi_extra=sends(c.Withdraw))
def withdraw(
    name: str,
    number: int,
    request_id: str,
    body: b.ReviewBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    address = {"model": name, "version": number, "request_id": request_id}
    return dispatch(request, response, c.Withdraw, body, **address)


@router.post("/{number}/promote", openapi_extra=sends(c.Promote))
def promote(
    name: str, number: int, body: b.PromoteBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.Promote, body, model=name, version=number)


@router.post("/{number}/archive", openapi_extra=sends(c.Archive))
def archive(
    name: str, number: int, body: b.ArchiveBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.Archive, body, model=name, version=number)
