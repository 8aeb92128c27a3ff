"""/api/v1/models: register, rename, describe, tag, untag, delete; set and remove aliases.
Each route builds its command and hands it to the dispatcher. Reads are in reads.py."""

from __future__ import annotations

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


@router.post("", status_code=201, **sends(c.RegisterModel))
def register_model(body: b.RegisterModelBody, request: Request) -> Response:
    return dispatch(request, c.RegisterModel, body)


@router.patch("/{name}", **sends(c.DescribeModel))
def describe_model(name: ModelName, body: b.DescribeBody, request: Request) -> Response:
    return dispatch(request, c.DescribeModel, body, model=name)


@router.post("/{name}/rename", **sends(c.RenameModel))
def rename_model(name: ModelName, body: b.RenameModelBody, request: Request) -> Response:
    return dispatch(request, c.RenameModel, body, model=name)


@router.put("/{name}/tags/{key}", **sends(c.TagModel))
def tag_model(name: ModelName, key: TagKey, body: b.TagBody, request: Request) -> Response:
    return dispatch(request, c.TagModel, body, model=name, key=key)


@router.delete("/{name}/tags/{key}", **sends(c.UntagModel))
def untag_model(name: ModelName, key: TagKey, request: Request) -> Response:
    return dispatch(request, c.UntagModel, model=name, key=key)


@router.delete("/{name}", **sends(c.DeleteModel))
def delete_model(name: ModelName, request: Request) -> Response:
    return dispatch(request, c.DeleteModel, model=name)


@router.put("/{name}/aliases/{alias}", **sends(c.SetAlias))
def set_alias(
    name: ModelName, alias: AliasName, body: b.SetAliasBody, request: Request
) -> Response:
    return dispatch(request, c.SetAlias, body, model=name, alias=alias)


@router.put("/{name}/aliases/{alias}/protection", **sends(c.ProtectAlias))
def protect_alias(
    name: ModelName,
    alias: AliasName,
    body: b.ProtectAliasBody,
    request: Request,
) -> Response:
    """Marks the alias protected (it then moves only through an approved request)."""
    return dispatch(request, c.ProtectAlias, body, model=name, alias=alias)


@router.delete("/{name}/aliases/{alias}", **sends(c.RemoveAlias))
def remove_alias(name: ModelName, alias: AliasName, request: Request) -> Response:
    return dispatch(request, c.RemoveAlias, model=name, alias=alias)
