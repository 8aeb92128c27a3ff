"""How a REST route hands its command to the write side: who acts (the authenticated
caller), the command built from path and body, one call to the dispatcher, and the answer
with its log position."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import orjson
from fastapi import Request, Response
from pydantic import BaseModel, ValidationError

from schemas.commands import Command
from services.api.caller import caller
from services.api.errors import ApiError, validation_details
from services.observability import metrics
from services.observability import requests as observed
from services.registry.application import Outcome, Registry
from services.registry.domain.errors import Conflict, DomainError

COMMAND_HEADER = "X-Registrum-Command-Id"
POSITION_HEADER = "X-Registrum-Position"
_WRITTEN = threading.Lock()


def registry(request: Request) -> Registry:
    return request.app.state.registry  # type: ignore[no-any-return]


def build(
    request: Request, kind: type[Command], body: BaseModel | None, address: dict[str, Any]
) -> Command:
    """The command from the route's path (address) and body; the command id may also
    come in a header, for routes without a body. A command that does not validate is
    counted as refused and answered 422 (INVALID_PARAMETER_VALUE on the MLflow API),
    naming the first field at fault."""
    fields = body.model_dump() if body is not None else {}
    if not fields.get("command_id") and request.headers.get(COMMAND_HEADER):
        fields["command_id"] = request.headers[COMMAND_HEADER]
    try:
        return kind.model_validate({**fields, **address})
    except ValidationError as error:
        details = validation_details(error.errors())
        first = details[0]
        metrics.COMMANDS.labels(kind.__name__, "refused", "invalid_input").inc()
        raise ApiError(
            422,
            "invalid_input",
            f"the request is invalid: {'.'.join(first['loc']) or 'body'}: {first['msg']}",
            errors=details,
        ) from None


def sends(kind: type[Command]) -> dict[str, Any]:
    """A command route's decorator arguments: its answer documented as a JSON object, and
    (x-registrum-command in OpenAPI) the command it sends, the same type a Kafka producer
    would put in a message."""
    return {
        "response_model": dict[str, Any],
        "openapi_extra": {"x-registrum-command": kind.__name__},
    }


def dispatch(
    request: Request,
    kind: type[Command],
    body: BaseModel | None = None,
    **address: Any,
) -> Response:
    """Runs the command kind(address + body) for the request's caller and answers it."""
    command = build(request, kind, body, address)
    # A dry run answers what would happen, not the version.
    key = "promotion" if getattr(command, "dry_run", False) else kind.answers
    status = getattr(request.scope.get("route"), "status_code", None) or 200
    return answer(key, execute(request, command), status)


def execute(request: Request, command: Command) -> Outcome:
    """The one way a request's command reaches the registry (REST and the MLflow API):
    for the caller, with the request's trace, counted; blocking (call it from a thread)."""
    who = caller(request)
    name = type(command).__name__
    traceparent = observed.current("traceparent")
    if traceparent and not command.command_id:
        # The trace context is kept in the command's record, and a command without an id
        # has none: it gets one, so the CloudEvents of its events carry the trace.
        command = command.model_copy(update={"command_id": f"trace-{uuid.uuid4().hex}"})
    if command.command_id:
        observed.note(command_id=command.command_id)
    try:
        outcome = registry(request).handle(command, who, traceparent=traceparent)
    except DomainError as refused:
        outcome_label = "conflict" if isinstance(refused, Conflict) else "refused"
        metrics.COMMANDS.labels(name, outcome_label, refused.code).inc()
        raise
    metrics.COMMANDS.labels(name, "replayed" if outcome.replayed else "accepted", "").inc()
    wrote(request, outcome.position)
    return outcome


def wrote(request: Request, position: int | None) -> None:
    """Remembers the furthest log position this process has written: the MLflow API's
    reads wait for it (its clients send no position, and read what they just wrote)."""
    state = request.app.state
    if position is None:
        return
    with _WRITTEN:  # commands finish in several threads: never move it back
        if position > getattr(state, "written", 0):
            state.written = position


def answer(key: str, outcome: Outcome, status: int = 200) -> Response:
    """A command's response: its result under key, and the log position of its events.
    Encoded here (orjson), not by FastAPI: its validation and encoding of a returned dict
    would take a second trip through the thread pool for every command."""
    headers = {POSITION_HEADER: str(outcome.position or 0)}
    if outcome.replayed:
        headers["X-Registrum-Replayed"] = "true"
    body = {key: outcome.result, "position": outcome.position}
    return Response(orjson.dumps(body), status, headers, media_type="application/json")
