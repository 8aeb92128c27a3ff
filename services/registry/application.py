"""The registry's write side: the one dispatcher every entrypoint hands its commands to.

`Registry.handle(command, caller)` finds the command's handler, which checks the values
and decides on fresh aggregates; the executor saves the decision atomically with the
command's record and answers an Outcome (result, log position). A command id seen before
returns the first outcome and appends nothing. Persistence is the eventsourcing
library's: PostgreSQL in production, in memory for unit tests (bootstrap picks).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, ClassVar, Protocol
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.persistence import IntegrityError

from schemas import commands as c
from schemas.commands import Command
from services.artifacts.port import ArtifactStore
from services.auth.identity import Principal
from services.registry.commandlog import CommandRecord, Group, State
from services.registry.domain.access import ACCESS_ID, ROLE_PERMISSIONS, Permission, Target
from services.registry.domain.audit import SIGNING_KEYS_ID, Checkpoint, SigningKeys
from services.registry.domain.errors import Forbidden
from services.registry.domain.model import RegisteredModel, version_id_for
from services.registry.domain.names import ModelName, name_id
from services.registry.domain.policies import POLICY_ID
from services.registry.domain.values import Context
from services.registry.execution import (
    CommandIdReused,
    Decide,
    Decision,
    Executor,
    Outcome,
    Ticket,
)
from services.registry.handlers import HANDLERS
from services.registry.permissions import authorise, principals
from services.registry.scope import Scope
from services.registry.state import Aggregates, Working
from services.registry.summaries import model_summary, version_summary

POSTGRES = "eventsourcing.postgres"
IN_MEMORY = "services.registry.commandlog:MemoryFactory"


# The registry acting on its own behalf (its first administrator, at first start): never
# built from a credential.
SYSTEM = Principal(subject="registrum", display_name="Registrum", kind="service", via="system")


class CommandLog(Protocol):
    """What the recorder adds to the library's: the command log (commandlog.py)."""

    def find_command(self, command_id: str) -> CommandRecord | None: ...

    def count_events(self) -> int: ...

    def read_state(
        self, streams: Sequence[tuple[UUID, int]], command_ids: Sequence[str]
    ) -> State: ...

    def insert_group(self, group: Group, snapshots_table: str | None = None) -> list[int]: ...


class Registry(Application):
    name = "Registry"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": POSTGRES,
        "APPLICATION_RECORDER_TOPIC": "services.registry.commandlog:PostgresCommandRecorder",
        # The tables are the schema migrations' (services/schema), made before any start.
        "CREATE_TABLE": "false",
    }
    # A model's stream grows by one event per version; snapshots keep loading it cheap.
    snapshotting_intervals: ClassVar[dict[type[Any], int]] = {RegisteredModel: 20}

    def __init__(
        self,
        env: dict[str, str] | None = None,
        *,
        required_approvals: int = 1,
        max_attempts: int = 100,
        artifacts: ArtifactStore | None = None,
    ) -> None:
        super().__init__(env)
        self.artifacts = artifacts
        self.scope = Scope(
            self.repository, artifacts=artifacts, required_approvals=required_approvals
        )
        self.aggregates = Aggregates(self.repository, self.command_log)
        self.scope.aggregates = self.aggregates
        self.executor = Executor(self, max_attempts)

    @property
    def command_log(self) -> CommandLog:
        recorder: Any = self.recorder
        if not hasattr(recorder, "find_command"):
            raise TypeError(f"{type(recorder).__name__} keeps no command log")
        return recorder  # type: ignore[no-any-return]

    # -- the dispatcher ----------------------------------------------------------------

    def handle(
        self, command: Command, caller: Principal, *, traceparent: str | None = None
    ) -> Outcome:
        """Runs one command for caller, an authenticated principal: Forbidden unless its
        grants allow it; domain errors say why else it was refused. traceparent (W3C), the
        trace the command was sent in, is kept in its record for the relay."""
        # A promotion may re-hash its artefact while deciding: it never holds up a group.
        alone = isinstance(command, c.Promote)
        ticket = self.ticket(command, caller)
        ticket.traceparent = traceparent
        return self.executor.run(ticket, alone=alone)

    def ticket(self, command: Command, caller: Principal) -> Ticket:
        """The command checked ahead and ready to decide, for the executor."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        # Checked ahead on the grants as held (no round trip), so that nobody makes the
        # handler look anything up without the right; a refusal is checked again on fresh
        # grants. The executor checks once more on the state it decides on.
        try:
            with self.scope.checking_ahead():
                authorise(command, caller, self.scope, log=False)
        except Forbidden:
            authorise(command, caller, self.scope)
        ctx = Context(
            actor=caller.subject,
            reason=command.reason,
            command_id=command.command_id,
            principals=tuple(principals(caller)),
        )
        decide = handler(command, ctx, self.scope)
        return Ticket(command, ctx, decide, context=caller)

    # -- the executor's port (CommandStore) ----------------------------------------------

    def prepare(self, tickets: Sequence[Ticket]) -> tuple[Working, State]:
        streams: set[UUID] = {ACCESS_ID}
        for ticket in tickets:
            streams |= self._streams_of(ticket.command)
        command_ids = [t.ctx.command_id for t in tickets if t.ctx.command_id is not None]
        names = {name_id(n) for t in tickets for n in _names(t.command)}
        state = self.aggregates.refresh(streams, command_ids, small=names)
        return Working(self.aggregates, fresh=streams), state

    def _streams_of(self, command: Command) -> set[UUID]:
        """The aggregates command will read: its name's index, the model it names now
        (as far as this process knows), the version, the promotion policy."""
        streams = {name_id(name) for name in _names(command)}
        if command.model_name:
            index = self.aggregates.peek(name_id(command.model_name))
            if isinstance(index, ModelName) and index.model_id is not None:
                streams.add(index.model_id)
                number = getattr(command, "version", None)
                if isinstance(number, int) and not isinstance(number, bool):
                    streams.add(version_id_for(index.model_id, number))
        if isinstance(command, (c.Promote, c.PublishPolicy)):
            streams.add(POLICY_ID)
        return streams

    def check(self, working: Working, ticket: Ticket) -> None:
        with self.scope.deciding(working):
            authorise(ticket.command, ticket.context, self.scope)

    def decide_on(self, working: Working, decide: Decide) -> Decision:
        with self.scope.deciding(working):
            return decide()

    def record(self, working: Working, group: Group) -> list[int]:
        mapper = self.mapper
        stored = Group(
            events=[mapper.to_stored_event(e) for e in group.events],
            commands=group.commands,
            snapshots=self._snapshots(working, group),
        )
        positions = self.command_log.insert_group(stored, self._snapshots_table())
        committed = [a for a in working.copies.values() if a is not None]
        for aggregate in committed:
            aggregate.collect_events()
        self.aggregates.saved(committed)
        return positions

    def _snapshots(self, working: Working, group: Group) -> list[Any]:
        """A snapshot of each model whose stream passed a multiple of the interval."""
        interval = self.snapshotting_intervals.get(RegisteredModel)
        if not interval or self.snapshots is None:
            return []
        due = {
            UUID(str(e.originator_id)) for e in group.events if e.originator_version % interval == 0
        }
        taken = []
        for aggregate_id in due:
            model = working.copies.get(aggregate_id)
            if isinstance(model, RegisteredModel):
                # Its state has every pending event applied: as it stands once recorded.
                kind: Any = getattr(RegisteredModel, "Snapshot", self.snapshot_class)
                taken.append(self.mapper.to_stored_event(kind.take(model)))
        return taken

    def _snapshots_table(self) -> str | None:
        recorder: Any = self.snapshots.recorder if self.snapshots is not None else None
        return getattr(recorder, "events_table_name", None)

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    # -- reads from the aggregates (the views answer the API's reads) ---------------------

    def get_model(self, name: str) -> dict[str, Any]:
        return model_summary(self.scope.model(name))

    def get_version(self, name: str, number: int) -> dict[str, Any]:
        model = self.scope.model(name)
        return version_summary(model, self.scope.version(model, number))

    def resolve_alias(self, name: str, alias: str) -> dict[str, Any]:
        model = self.scope.model(name)
        return version_summary(model, self.scope.version(model, model.resolve_alias(alias)))

    # -- the audit trail: the registry acting on its own behalf --------------------------

    def introduce_signing_key(self, key_id: str, public_key: str) -> bool:
        """Records public_key (raw Ed25519, base64) as the key that now signs checkpoints;
        False when it already is. A new key names the one it replaces."""
        ctx = Context(actor=SYSTEM.subject, reason="checkpoint signing key")
        for _ in range(10):
            keys: SigningKeys
            try:
                keys = self.repository.get(SIGNING_KEYS_ID)
            except AggregateNotFoundError:
                keys = SigningKeys.open(ctx)
            if not keys.add(key_id, public_key, ctx):
                return False
            try:
                self.save(keys)
            except IntegrityError:
                continue  # another signer got there first: look again
            return True
        raise RuntimeError("could not record the signing key: the keys kept changing")

    def record_checkpoint(self, position: int, link: str, key_id: str, signature: str) -> bool:
        """Records a signed checkpoint of the chain at position; False when one is already
        recorded there."""
        ctx = Context(actor=SYSTEM.subject, reason="checkpoint")
        try:
            self.save(Checkpoint.sign(position, link, key_id, signature, ctx))
        except IntegrityError:
            return False
        return True

    def policies(self) -> list[dict[str, Any]]:
        """Every promotion policy version published, oldest first."""
        policy = self.scope.policy()
        return [dict(p) for p in policy.published] if policy is not None else []

    # -- access ------------------------------------------------------------------------

    def grants_of(self, caller: Principal) -> list[dict[str, Any]]:
        """The grants caller holds, directly or through its groups."""
        policy = self.scope.current_access()
        if policy is None:
            return []
        return policy.held_by(principals(caller))

    def allowed(self, caller: Principal, permission: Permission, target: Target) -> bool:
        """Whether caller's grants give permission on target."""
        policy = self.scope.current_access()
        return caller.via == "system" or (
            policy is not None and policy.holds(principals(caller), permission, target)
        )

    def may_contribute(self, caller: Principal) -> bool:
        """Whether caller may contribute anywhere (upload artefacts for a version)."""
        policy = self.scope.current_access()
        return caller.via == "system" or (
            policy is not None
            and any(
                Permission.CONTRIBUTE in ROLE_PERMISSIONS[g["role"]]
                for g in policy.held_by(principals(caller))
            )
        )

    def has_grants(self) -> bool:
        """Whether anyone holds any role yet (none before the first administrator)."""
        policy = self.scope.current_access()
        return policy is not None and bool(policy.all_grants())


def _names(command: Command) -> list[str]:
    """The model names a command reads the index of."""
    return [n for n in (command.model_name, getattr(command, "new_name", None)) if n]


__all__ = [
    "IN_MEMORY",
    "POSTGRES",
    "SYSTEM",
    "CommandIdReused",
    "Outcome",
    "Principal",
    "Registry",
]
