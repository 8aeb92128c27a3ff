"""Request-scoped helpers: who acts, the command context, the registry."""

from __future__ import annotations

from typing import Any

from fastapi import Request, Response

from schemas.commands import Command
from services.api.errors import ApiError
from services.registry.application import Outcome, Registry
from services.registry.domain.values import Context

ACTOR_HEADER = "X-Registrum-Actor"
COMMAND_HEADER = "X-Registrum-Command-Id"
POSITION_HEADER = "X-Registrum-Position"


def registry(request: Request) -> Registry:
    return request.app.state.registry


def context(request: Request, body: Command | None = None) -> Context:
    actor = request.headers.get(ACTOR_HEADER)
    if not actor:
        raise ApiError(
            401,
            "actor_required",
            f"name who acts in the {ACTOR_HEADER} header",
            header=ACTOR_HEADER,
        )
    command_id = (body.command_id if body else None) or request.headers.get(COMMAND_HEADER)
    return Context(actor=actor, reason=body.reason if body else None, command_id=command_id)


def answer(response: Response, key: str, outcome: Outcome) -> dict[str, Any]:
    """A command's response: its result under key, and the log position of its events."""
    response.headers[POSITION_HEADER] = str(outcome.position or 0)
    if outcome.replayed:
        response.headers["X-Registrum-Replayed"] = "true"
    return {key: outcome.result, "position": outcome.position}
