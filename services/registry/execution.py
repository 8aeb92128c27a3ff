"""How a command runs once its handler has checked it: idempotency by command id,
optimistic concurrency with retries, and one queue per model within a process.

A handler returns a `decide` function; the executor calls it on fresh state, saves what
it decided atomically with the command's record, and on a concurrency conflict decides
again. A command id seen before returns the first outcome and appends nothing.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

import orjson
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from schemas.commands import Command
from services.registry.commandlog import CommandRecord
from services.registry.domain.errors import Conflict
from services.registry.domain.values import Context


class CommandIdReused(Conflict):
    """The command id was used before for a different command."""

    code = "command_id_reused"


class TooMuchContention(Conflict):
    """The command lost every race for the aggregates it changes."""

    code = "contention"


@dataclass(frozen=True)
class Outcome:
    """What a command did: its result, the log position of its last event, and whether
    it was answered from an earlier run of the same command id."""

    result: dict[str, Any]
    position: int | None
    replayed: bool = False


@dataclass
class Decision:
    """What a command decided: aggregates to save atomically and what to answer."""

    save: list[Aggregate]
    result: Callable[[], dict[str, Any]]


Decide = Callable[[], Decision]


class CommandStore(Protocol):
    """The port the executor writes through: the event store with its command log."""

    def find_command(self, command_id: str) -> CommandRecord | None: ...

    def save_decision(
        self, aggregates: Sequence[Aggregate], record: CommandRecord | None
    ) -> list[Recording]: ...

    def head_position(self) -> int: ...


def fingerprint(command: Command, ctx: Context) -> str:
    """Identifies what a command asks, so a reused command id is told from a retry: the
    same command from the same actor has the same fingerprint over REST and Kafka."""
    payload = {
        "command": command.model_dump(mode="json", exclude={"command_id"}),
        "actor": ctx.actor,
    }
    return hashlib.sha256(orjson.dumps(payload, option=orjson.OPT_SORT_KEYS)).hexdigest()


class Executor:
    def __init__(self, store: CommandStore, max_attempts: int = 100) -> None:
        self.store = store
        self.max_attempts = max_attempts
        # Commands on one model from this process queue here instead of racing to the
        # store and retrying; other processes are still caught by optimistic concurrency.
        self._stripes = [threading.Lock() for _ in range(64)]

    def run(self, command: Command, ctx: Context, decide: Decide) -> Outcome:
        stripe = self._stripes[hash(command.model_name) % len(self._stripes)]
        with stripe:
            return self._run(command, ctx, decide)

    def _run(self, command: Command, ctx: Context, decide: Decide) -> Outcome:
        signature = fingerprint(command, ctx)
        for attempt in range(self.max_attempts):
            if ctx.command_id is not None:
                prior = self.store.find_command(ctx.command_id)
                if prior is not None:
                    return _replay(prior, signature)
            decision = decide()
            result = decision.result()
            record = None
            if ctx.command_id is not None:
                record = CommandRecord(ctx.command_id, signature, result)
            try:
                recordings = self.store.save_decision(decision.save, record)
            except IntegrityError:
                # Someone else changed one of these aggregates (or ran the same command id)
                # first: decide again on fresh state.
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
                continue
            if recordings:
                position = max(r.notification.id for r in recordings)
            else:
                position = self.store.head_position()
            return Outcome(result, position)
        raise TooMuchContention(
            f"{type(command).__name__} kept conflicting with concurrent changes; try again",
            attempts=self.max_attempts,
        )


def _replay(prior: CommandRecord, signature: str) -> Outcome:
    if prior.fingerprint != signature:
        raise CommandIdReused(
            f"command id {prior.command_id!r} was already used for a different command",
            command_id=prior.command_id,
        )
    return Outcome(prior.result, prior.position, replayed=True)
