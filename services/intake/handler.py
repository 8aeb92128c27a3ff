"""From a command message's bytes to its outcome, or to the reason it is a dead letter.

Kafka-free, so the same rules are unit-tested without a broker. A message is a dead letter
when it cannot become a command at all (not JSON, too big, an unknown type, the wrong
fields); a well-formed command the registry refuses (unknown model, missing approval) is
an outcome like any other, `rejected` with the domain's typed reason.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.intake import (
    COMMAND_TYPES,
    COMMANDS,
    MAX_COMMAND_BYTES,
    CommandResult,
    Rejection,
)
from services.intake.dispatch import execute
from services.registry.application import Registry
from services.registry.domain.errors import DomainError

# An outcome must fit a broker's default 1 MB message; a larger result (a version with a
# long lineage or a big model card) is left out, to be read from the REST API.
MAX_RESULT_BYTES = 512 * 1024


@dataclass(frozen=True)
class Refused:
    """Why a message goes to the dead-letter topic (see schemas.intake.DeadLetter)."""

    reason: str
    detail: str


def parse(raw: bytes | None) -> Any:
    """The command in raw, or Refused."""
    if not raw:
        return Refused("malformed", "an empty message (a tombstone?) is not a command")
    if len(raw) > MAX_COMMAND_BYTES:
        return Refused("oversized", f"{len(raw)} bytes; a command is at most {MAX_COMMAND_BYTES}")
    try:
        document = orjson.loads(raw)
    except orjson.JSONDecodeError as error:
        return Refused("malformed", f"not JSON: {error}")
    if not isinstance(document, dict):
        return Refused("malformed", f"a command is a JSON object, not {type(document).__name__}")
    if "type" not in document:
        return Refused("invalid", f"type: field required, one of {', '.join(COMMAND_TYPES)}")
    kind = document["type"]
    if kind not in COMMAND_TYPES:
        shown = repr(kind)[:80]
        return Refused("unknown_type", f"type {shown} is none of {', '.join(COMMAND_TYPES)}")
    try:
        return COMMANDS.validate_python(document)
    except ValidationError as error:
        return Refused("invalid", _summary(error))


def _summary(error: ValidationError) -> str:
    # Field paths and messages only: the input itself may be large, or a secret.
    problems = [
        f"{'.'.join(str(p) for p in e['loc'][1:]) or '(message)'}: {e['msg']}"
        for e in error.errors()
    ]
    return "; ".join(problems[:10])


def decide(registry: Registry, raw: bytes | None) -> CommandResult | Refused:
    """Runs the command in raw through the registry (blocking: call it from a thread).
    Errors other than the domain's (a lost database) propagate: the message is then
    consumed again rather than answered wrongly."""
    command = parse(raw)
    if isinstance(command, Refused):
        return command
    try:
        key, outcome = execute(registry, command)
    except DomainError as error:
        return CommandResult(
            command_id=command.command_id,
            type=command.type,
            status="rejected",
            error=Rejection(code=error.code, message=error.message, details=error.details),
        )
    result = {key: outcome.result}
    large = len(orjson.dumps(result)) > MAX_RESULT_BYTES
    return CommandResult(
        command_id=command.command_id,
        type=command.type,
        status="accepted",
        position=outcome.position,
        replayed=outcome.replayed,
        result=None if large else result,
        result_truncated=large,
    )
