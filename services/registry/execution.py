"""How a command runs once its handler has checked it: idempotency by command id,
optimistic concurrency with retries, and group commit.

A handler returns a `decide` function; the executor calls it on the aggregates as they
stand, saves what it decided atomically with the command's record, and on a concurrency
conflict decides again. A command id seen before returns the first outcome and appends
nothing.

Group commit: commands arriving while a save is under way queue; the next save takes
the queue as one group. One read brings every aggregate and command id of the group up
to date; the commands are checked and decided in arrival order on shared working copies
(a later one sees what an earlier one decided; one that fails is rolled back alone and
answered with its error); and one transaction records them all, each command with its
own record and position. If that transaction conflicts (another process changed an
aggregate first, or used a command id), each command of the group runs again alone.
A lone client never waits for a group: an idle queue is served at once. Commands whose
decision may take long (a promotion re-hashes the artefact) always run alone, beside the
queue, so they never hold it up.
"""

from __future__ import annotations

import hashlib
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import orjson
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from schemas.commands import Command
from services.registry.commandlog import CommandRecord, Group, State
from services.registry.domain.errors import Conflict
from services.registry.domain.values import Context
from services.registry.state import Working

# The most commands one group saves in one transaction.
GROUP_LIMIT = 64


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
    """The port the executor works through: the registry's aggregates and its log."""

    def prepare(self, tickets: Sequence[Ticket]) -> tuple[Working, State]:
        """One read: the working copies the tickets decide on (their aggregates brought
        up to date) and the records of their command ids."""
        ...

    def check(self, working: Working, ticket: Ticket) -> None:
        """Raises unless the ticket's caller may run its command (on the working copies
        prepared for it)."""
        ...

    def decide_on(self, working: Working, decide: Decide) -> Decision: ...

    def record(self, working: Working, group: Group) -> list[int]:
        """Saves group in one transaction; its events' positions in order. Raises
        IntegrityError when another save got there first."""
        ...

    def head_position(self) -> int: ...


@dataclass(eq=False)
class Ticket:
    """One command waiting to run, and then its outcome or error."""

    command: Command
    ctx: Context
    decide: Decide
    context: Any = None  # what the store needs to check the caller (its principal)
    traceparent: str | None = None  # the trace it was sent in, kept in its record
    signature: str = ""
    outcome: Outcome | None = None
    error: BaseException | None = None
    done: bool = False
    lead: bool = False
    wake: threading.Event = field(default_factory=threading.Event)
    # Set while its group is decided:
    result: dict[str, Any] | None = None
    own: list[Any] = field(default_factory=list)

    def __post_init__(self) -> None:
        self.signature = fingerprint(self.command, self.ctx)

    def finish(self, outcome: Outcome | None = None, error: BaseException | None = None) -> None:
        self.outcome, self.error, self.done = outcome, error, True
        self.wake.set()

    def answer(self) -> Outcome:
        if self.error is not None:
            raise self.error
        assert self.outcome is not None
        return self.outcome


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
        self._queue: list[Ticket] = []
        self._leading = False
        self._lock = threading.Lock()

    def run(self, ticket: Ticket, *, alone: bool = False) -> Outcome:
        """Runs ticket's command, in the next group unless alone."""
        if alone:
            self._alone(ticket)
            return ticket.answer()
        with self._lock:
            self._queue.append(ticket)
            if not self._leading:
                self._leading = ticket.lead = True
        while not ticket.done:
            if ticket.lead:
                ticket.lead = False
                self._lead()
            else:
                ticket.wake.wait()
                ticket.wake.clear()
        return ticket.answer()

    # -- the group's leader ------------------------------------------------------------

    def _lead(self) -> None:
        """Runs the queue's first group, then hands the lead to the next one waiting."""
        with self._lock:
            group, self._queue = self._queue[:GROUP_LIMIT], self._queue[GROUP_LIMIT:]
        try:
            self.run_group(group)
        except BaseException as exc:  # never leave a caller waiting
            for ticket in group:
                if not ticket.done:
                    ticket.finish(error=exc)
        with self._lock:
            if self._queue:
                successor = self._queue[0]
                successor.lead = True
                successor.wake.set()
            else:
                self._leading = False

    def run_group(self, tickets: list[Ticket]) -> None:
        """Decides tickets together and saves them in one transaction; on a conflict,
        runs each again alone. Every ticket ends answered."""
        # A command id twice in one group: the second waits for the first's record.
        seen: set[str] = set()
        now: list[Ticket] = []
        later: list[Ticket] = []
        for ticket in tickets:
            command_id = ticket.ctx.command_id
            (later if command_id in seen else now).append(ticket)
            if command_id is not None:
                seen.add(command_id)
        working, state = self.store.prepare(now)
        decided = [t for t in now if self._decide(working, state, t, in_group=len(now) > 1)]
        if decided:
            try:
                self._save(working, decided)
            except IntegrityError:
                # Someone else changed one of these aggregates (or used one of these
                # command ids) first: each command runs again on its own.
                for ticket in decided:
                    self._alone(ticket)
        for ticket in later:
            self._alone(ticket)

    def _decide(self, working: Working, state: State, ticket: Ticket, *, in_group: bool) -> bool:
        """Checks and decides ticket on the working copies; False when it is answered
        already (a replay, or its error)."""
        command_id = ticket.ctx.command_id
        try:
            self.store.check(working, ticket)
            if command_id is not None and command_id in state.commands:
                ticket.finish(_replay(state.commands[command_id], ticket.signature))
                return False
            if in_group:
                working.begin()
            marks = {i: len(a.pending_events) for i, a in working.copies.items() if a}
            decision = self.store.decide_on(working, ticket.decide)
            result = decision.result()
        except Exception as exc:
            if in_group:
                working.roll_back()
            ticket.finish(error=exc)
            return False
        working.add(decision.save)
        ticket.result = result
        ticket.own = [
            event
            for aggregate in decision.save
            for event in aggregate.pending_events[marks.get(aggregate.id, 0) :]
        ]
        return True

    def _save(self, working: Working, tickets: list[Ticket]) -> None:
        group = Group()
        for ticket in tickets:
            group.events.extend(ticket.own)
            if ticket.ctx.command_id is not None:
                assert ticket.result is not None
                record = CommandRecord(
                    ticket.ctx.command_id,
                    ticket.signature,
                    ticket.result,
                    traceparent=ticket.traceparent,
                )
                streams = [(e.originator_id, e.originator_version) for e in ticket.own]
                group.commands.append((record, streams))
        positions = self.store.record(working, group)
        where: dict[tuple[Any, int], int] = {
            (e.originator_id, e.originator_version): p
            for e, p in zip(group.events, positions, strict=True)
        }
        head: int | None = None
        for ticket in tickets:
            own = [where[(e.originator_id, e.originator_version)] for e in ticket.own]
            if not own and head is None:
                head = self.store.head_position()
            assert ticket.result is not None
            ticket.finish(Outcome(ticket.result, max(own) if own else head))

    # -- one command alone, with retries ------------------------------------------------

    def _alone(self, ticket: Ticket) -> None:
        for attempt in range(self.max_attempts):
            working, state = self.store.prepare([ticket])
            if not self._decide(working, state, ticket, in_group=False):
                return
            try:
                self._save(working, [ticket])
            except IntegrityError:
                # Decide again on fresh state, after a pause that grows with the races lost.
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
                continue
            return
        ticket.finish(
            error=TooMuchContention(
                f"{type(ticket.command).__name__} kept conflicting with concurrent changes;"
                " try again",
                attempts=self.max_attempts,
            )
        )


def _replay(prior: CommandRecord, signature: str) -> Outcome:
    if prior.fingerprint != signature:
        raise CommandIdReused(
            f"command id {prior.command_id!r} was already used for a different command",
            command_id=prior.command_id,
        )
    return Outcome(prior.result, prior.position, replayed=True)
