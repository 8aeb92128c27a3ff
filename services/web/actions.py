"""The console's forms: request approval, approve, reject, withdraw, promote, point an
alias, archive.
Each builds the same command the API would, for the signed-in viewer, and hands it to
the one dispatcher (services/api/dispatch.execute): same permissions, rules, events and
errors. A refusal is shown on the version's page; a command done goes back to the page,
read at the position it wrote. Every form carries a command id, so sending it twice
(a double click, a reload) records it once."""

from __future__ import annotations

import asyncio
from typing import Any
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

from fastapi import APIRouter, Request, Response

from schemas import commands as c
from services.api.dispatch import build, execute
from services.api.errors import ApiError, status_for
from services.api.params import ModelName, VersionNumber
from services.registry.domain.errors import DomainError
from services.web import forms, session, versions
from services.web.render import path, redirect

router = APIRouter(include_in_schema=False, tags=["console"], dependencies=[session.VIEWER])

ON_VERSION = "/models/{name}/versions/{number}"
VERBS: dict[str, type[c.OnRequest]] = {
    "approve": c.Approve,
    "reject": c.Reject,
    "withdraw": c.Withdraw,
}


@router.post(ON_VERSION + "/approvals")
async def request_approval(name: ModelName, number: VersionNumber, request: Request) -> Response:
    fields = await _form(request)
    return await _run(request, name, number, c.RequestApproval, fields, ("stage", "reason"))


@router.post(ON_VERSION + "/approvals/{request_id}/{verb}")
async def decide(
    name: ModelName, number: VersionNumber, request_id: str, verb: str, request: Request
) -> Response:
    kind = VERBS.get(verb)
    if kind is None:
        return await versions.show(
            request, name, number, refusal=f"there is no decision {verb!r}", status=404
        )
    fields = await _form(request)
    return await _run(
        request, name, number, kind, {**fields, "request_id": request_id}, ("request_id", "reason")
    )


@router.post(ON_VERSION + "/promote")
async def promote(name: ModelName, number: VersionNumber, request: Request) -> Response:
    fields = await _form(request)
    return await _run(request, name, number, c.Promote, fields, ("stage", "reason"))


@router.post(ON_VERSION + "/alias")
async def point_alias(name: ModelName, number: VersionNumber, request: Request) -> Response:
    """Points an alias at this version (a protected one only on an approved request)."""
    fields = await _form(request)
    return await _run(request, name, number, c.SetAlias, fields, ("alias", "reason"))


@router.post(ON_VERSION + "/archive")
async def archive(name: ModelName, number: VersionNumber, request: Request) -> Response:
    fields = await _form(request)
    return await _run(request, name, number, c.Archive, fields, ("reason",))


async def _form(request: Request) -> dict[str, str]:
    fields = await forms.fields(request)
    forms.check(request, fields.get(forms.FIELD))
    return fields


async def _run(
    request: Request,
    name: str,
    number: int,
    kind: type[c.Command],
    fields: dict[str, str],
    taken: tuple[str, ...],
) -> Response:
    values: dict[str, Any] = {k: fields[k] for k in taken if fields.get(k, "").strip()}
    if fields.get("command_id"):
        values["command_id"] = f"web-{fields['command_id']}"
    try:
        # The REST routes' own build: validated, and counted as refused when it is not.
        command = build(request, kind, None, {**values, "model": name, "version": number})
    except ApiError as invalid:
        return await versions.show(
            request, name, number, refusal=invalid.message, status=invalid.status
        )
    try:
        outcome = await asyncio.to_thread(execute, request, command)
    except DomainError as refused:
        return await versions.show(
            request, name, number, refusal=refused.message, status=status_for(refused)
        )
    back = session.safe_next(fields.get("back")) if fields.get("back") else None
    return redirect(after(back or f"/models/{path(name)}/versions/{number}", outcome.position))


def after(target: str, position: int | None) -> str:
    """target (a path on this site) read at position: ?after= in its query, whatever
    query or fragment it had."""
    parts = urlsplit(target)
    query = [(k, v) for k, v in parse_qsl(parts.query, keep_blank_values=True) if k != "after"]
    query.append(("after", str(position or 0)))
    return urlunsplit(("", "", parts.path, urlencode(query), parts.fragment))
