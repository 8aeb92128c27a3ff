"""How a REST route hands its command to the write side: who acts (the authenticated
caller), the command built from path and body, one call to the dispatcher, and the answer
with its log position."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from schemas.commands import Command
from services.api.caller import caller
from services.api.errors import ApiError, validation_details
from services.registry.application import Outcome, Registry

COMMAND_HEADER = "X-Registrum-Command-Id"
POSITION_HEADER = "X-Registrum-Position"


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def build(
    request: Request, kind: type[Command], body: BaseModel | None, address: dict[str, Any]
) -> Command:
    """The command from the route's path (address) and body; the command id may also
    come in a header, for routes without a body."""
    fields = body.model_dump() if body is not None else {}
    if not fields.get("command_id") and request.headers.get(COMMAND_HEADER):
        fields["command_id"] = request.headers[COMMAND_HEADER]
    try:
        return kind.model_validate({**fields, **address})
    except ValidationError as error:
        raise ApiError(
            422,
            "invalid_input",
            "the request is invalid",
            errors=validation_details(error.errors()),
        ) from None


def sends(kind: type[Command]) -> dict[str, Any]:
    """Names in OpenAPI (x-registrum-command) the command a route sends: the same type
    a Kafka producer would put in a message."""
    return {"x-registrum-command": kind.__name__}


def dispatch(
    request: Request,
    response: Response,
    kind: type[Command],
    body: BaseModel | None = None,
    **address: Any,
) -> dict[str, Any]:
    """Runs the command kind(address + body) for the request's caller and answers it."""
    who = caller(request)
    command = build(request, kind, body, address)
    # A dry run answers what would happen, not the version.
    key = "promotion" if getattr(command, "dry_run", False) else kind.answers
    return answer(response, key, registry(request).handle(command, who))


def answer(response: Response, key: str, outcome: Outcome) -> dict[str, Any]:
    """A command's response: its result under key, and the log position of its events."""
    response.headers[POSITION_HEADER] = str(outcome.position or 0)
    if outcome.replayed:
        response.headers["X-Registrum-Replayed"] = "true"
    return {key: outcome.result, "position": outcome.position}
