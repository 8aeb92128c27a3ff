"""/api/v1/models: register, rename, describe, tag, untag, delete; set and remove aliases.
Each route builds its command and hands it to the dispatcher. Reads are in reads.py."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request, Response

from schemas import bodies as b
from schemas import commands as c
from services.api.caller import CALLER
from services.api.dispatch import dispatch, sends
from services.api.params import (
    COMMAND_ERRORS,
    AliasName,
    ModelName,
    TagKey,
)

router = APIRouter(
    prefix="/api/v1/models", tags=["models"], responses=COMMAND_ERRORS, dependencies=[CALLER]
)


@router.post("", status_code=201, openapi_extra=sends(c.RegisterModel))
def register_model(
    body: b.RegisterModelBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RegisterModel, body)


@router.patch("/{name}", openapi_extra=sends(c.DescribeModel))
def describe_model(
    name: ModelName, body: b.DescribeBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.DescribeModel, body, model=name)


@router.post("/{name}/rename", openapi_extra=sends(c.RenameModel))
def rename_model(
    name: ModelName, body: b.RenameModelBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RenameModel, body, model=name)


@router.put("/{name}/tags/{key}", openapi_extra=sends(c.TagModel))
def tag_model(
    name: ModelName, key: TagKey, body: b.TagBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.TagModel, body, model=name, key=key)


@router.delete("/{name}/tags/{key}", openapi_extra=sends(c.UntagModel))
def untag_model(
    name: ModelName, key: TagKey, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.UntagModel, model=name, key=key)


@router.delete("/{name}", openapi_extra=sends(c.DeleteModel))
def delete_model(name: ModelName, request: Request, response: Response) -> dict[str, Any]:
    return dispatch(request, response, c.DeleteModel, model=name)


@router.put("/{name}/aliases/{alias}", openapi_extra=sends(c.SetAlias))
def set_alias(
    name: ModelName, alias: AliasName, body: b.SetAliasBody, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.SetAlias, body, model=name, alias=alias)


@router.put("/{name}/aliases/{alias}/protection", openapi_extra=sends(c.ProtectAlias))
def protect_alias(
    name: ModelName,
    alias: AliasName,
    body: b.ProtectAliasBody,
    request: Request,
    response: Response,
) -> dict[str, Any]:
    """Marks the alias protected (it then moves only through an approved request)."""
    return dispatch(request, response, c.ProtectAlias, body, model=name, alias=alias)


@router.delete("/{name}/aliases/{alias}", openapi_extra=sends(c.RemoveAlias))
def remove_alias(
    name: ModelName, alias: AliasName, request: Request, response: Response
) -> dict[str, Any]:
    return dispatch(request, response, c.RemoveAlias, model=name, alias=alias)
