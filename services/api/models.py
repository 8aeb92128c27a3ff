"""/api/v1/models: create, rename, describe, tag, delete; set and remove aliases.
Reads are in reads.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from schemas.commands import CreateModel, RenameModel, SetAlias, SetTag, UpdateModel
from services.api.deps import answer, context, registry

router = APIRouter(prefix="/api/v1/models", tags=["models"])


@router.post("", status_code=201)
def create_model(body: CreateModel, request: Request, response: Response) -> dict[str, Any]:
    outcome = registry(request).create_model(
        body.name,
        context(request, body),
        description=body.description,
        tags=body.tags,
        allow_multiple_production=body.allow_multiple_production,
    )
    return answer(response, "model", outcome)


@router.patch("/{name}")
def update_model(name: str, body: UpdateModel, request: Request, response: Response) -> dict:
    outcome = registry(request).describe_model(name, body.description, context(request, body))
    return answer(response, "model", outcome)


@router.post("/{name}/rename")
def rename_model(name: str, body: RenameModel, request: Request, response: Response) -> dict:
    outcome = registry(request).rename_model(name, body.new_name, context(request, body))
    return answer(response, "model", outcome)


@router.put("/{name}/tags/{key}")
def tag_model(name: str, key: str, body: SetTag, request: Request, response: Response) -> dict:
    outcome = registry(request).tag_model(name, key, body.value, context(request, body))
    return answer(response, "model", outcome)


@router.delete("/{name}/tags/{key}")
def untag_model(name: str, key: str, request: Request, response: Response) -> dict:
    outcome = registry(request).untag_model(name, key, context(request))
    return answer(response, "model", outcome)


@router.delete("/{name}")
def delete_model(name: str, request: Request, response: Response) -> dict[str, Any]:
    outcome = registry(request).delete_model(name, context(request))
    return answer(response, "model", outcome)


@router.put("/{name}/aliases/{alias}")
def set_alias(name: str, alias: str, body: SetAlias, request: Request, response: Response) -> dict:
    outcome = registry(request).set_alias(name, alias, body.version, context(request, body))
    return answer(response, "version", outcome)


@router.delete("/{name}/aliases/{alias}")
def remove_alias(name: str, alias: str, request: Request, response: Response) -> dict:
    outcome = registry(request).remove_alias(name, alias, context(request))
    return answer(response, "model", outcome)
