"""From a command message's bytes to its outcome, or to the reason it is a dead letter.

Kafka-free, so the same rules are unit-tested without a broker. A message is a dead letter
when its credential is missing or invalid (`unauthenticated`, decided by the consumer), or
when it cannot become a command at all (not JSON, too big, an unknown type, the wrong
fields); a well-formed command the registry refuses (forbidden, unknown model, missing
approval) is an outcome like any other, `rejected` with the domain's typed reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from pydantic import ValidationError

from schemas.commands import COMMAND_TYPES, COMMANDS, Command
from schemas.intake import MAX_COMMAND_BYTES, CommandResult, Rejection
from schemas.rules import MAX_COMMAND_ID
from services.auth.identity import Principal
from services.observability.tracing import sane_traceparent
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


# Where a command message carries its credential: `Bearer <token>` or the bare token.
CREDENTIAL_HEADER = "authorization"


@dataclass(frozen=True)
class Message:
    """A command message's command."""

    command: Command

    @property
    def command_id(self) -> str:
        return self.command.command_id or ""

    @property
    def type(self) -> str:
        return str(getattr(self.command, "type", ""))


def parse(raw: bytes | None) -> Message | Refused:
    """The command message in raw, or why it is a dead letter."""
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
    if "actor" in document:
        return Refused(
            "invalid",
            "actor: a message does not name who acts; its credential (the "
            f"{CREDENTIAL_HEADER} header) does",
        )
    try:
        command = COMMANDS.validate_python(document)
    except ValidationError as error:
        return Refused("invalid", _summary(error))
    # Optional over REST, required here: the outcome is keyed by the command id.
    problem = _required_text(command.command_id, MAX_COMMAND_ID)
    if problem:
        return Refused("invalid", f"command_id: {problem}")
    return Message(command)


def _required_text(value: Any, limit: int) -> str | None:
    """What is wrong with a required text field of the message, if anything."""
    if value is None:
        return "field required"
    if not isinstance(value, str) or not value:
        return "a non-empty string"
    if len(value) > limit:
        return f"at most {limit} characters"
    return None


def trace_context(headers: Sequence[tuple[str, bytes | None]]) -> str | None:
    """The W3C traceparent a command message was sent in (header `traceparent`, or
    `ce_traceparent` from a CloudEvents producer), when it is a sane one."""
    for key, value in headers:
        if key.lower() in ("traceparent", "ce_traceparent") and value:
            return sane_traceparent(value.decode("ascii", "replace").strip())
    return None


def credential(headers: Sequence[tuple[str, bytes | None]]) -> str | None:
    """The credential in a message's headers (`authorization`: `Bearer <token>` or the
    token alone), if any."""
    for key, value in headers:
        if key.lower() == CREDENTIAL_HEADER and value:
            text = value.decode("utf-8", "replace").strip()
            scheme, _, rest = text.partition(" ")
            return rest.strip() if scheme.lower() == "bearer" else text
    return None


def _summary(error: ValidationError) -> str:
    # Field paths and messages only: the input itself may be large, or a secret.
    problems = [
        f"{'.'.join(str(p) for p in e['loc'][1:]) or '(message)'}: {e['msg']}"
        for e in error.errors()
    ]
    return "; ".join(problems[:10])


def decide(
    registry: Registry, raw: bytes | None, caller: Principal, traceparent: str | None = None
) -> CommandResult | Refused:
    """Runs the command in raw for caller, authenticated from the message's credential,
    through the registry (blocking: call it from a thread); traceparent, the trace the
    message was sent in, is kept with the command for the CloudEvents of its events.
    Errors other than the domain's (a lost database) propagate: the message is then
    consumed again rather than answered wrongly."""
    message = parse(raw)
    if isinstance(message, Refused):
        return message
    command = message.command
    try:
        outcome = registry.handle(command, caller, traceparent=traceparent)
    except DomainError as error:
        return CommandResult(
            command_id=message.command_id,
            type=message.type,
            status="rejected",
            error=Rejection(code=error.code, message=error.message, details=error.details),
        )
    result = {command.answers: outcome.result}
    large = len(orjson.dumps(result)) > MAX_RESULT_BYTES
    return CommandResult(
        command_id=message.command_id,
        type=message.type,
        status="accepted",
        position=outcome.position,
        replayed=outcome.replayed,
        result=None if large else result,
        result_truncated=large,
    )
