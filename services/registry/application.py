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

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError, Recording

from schemas.commands import Command
from services.artifacts.port import ArtifactStore
from services.auth.identity import Principal
from services.registry.commandlog import CommandRecord
from services.registry.domain.access import ROLE_PERMISSIONS, Permission, Target
from services.registry.domain.audit import SIGNING_KEYS_ID, Checkpoint, SigningKeys
from services.registry.domain.model import RegisteredModel
from services.registry.domain.values import Context
from services.registry.execution import CommandIdReused, Executor, Outcome
from services.registry.handlers import HANDLERS
from services.registry.permissions import authorise, principals
from services.registry.scope import Scope
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


class Registry(Application):
    name = "Registry"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": POSTGRES,
        "APPLICATION_RECORDER_TOPIC": "services.registry.commandlog:PostgresCommandRecorder",
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
        self.executor = Executor(self, max_attempts)

    @property
    def command_log(self) -> CommandLog:
        recorder: Any = self.recorder
        if not hasattr(recorder, "find_command"):
            raise TypeError(f"{type(recorder).__name__} keeps no command log")
        return recorder  # type: ignore[no-any-return]

    # -- the dispatcher ----------------------------------------------------------------

    def handle(self, command: Command, caller: Principal) -> Outcome:
        """Runs one command for caller, an authenticated principal: Forbidden unless its
        grants allow it; domain errors say why else it was refused."""
        handler = HANDLERS.get(type(command))
        if handler is None:
            raise TypeError(f"no handler for {type(command).__name__}")
        authorise(command, caller, self.scope)
        ctx = Context(
            actor=caller.subject,
            reason=command.reason,
            command_id=command.command_id,
            principals=tuple(principals(caller)),
        )
        decide = handler(command, ctx, self.scope)
        return self.executor.run(command, ctx, decide)

    # -- the executor's port (CommandStore) ----------------------------------------------

    def find_command(self, command_id: str) -> CommandRecord | None:
        return self.command_log.find_command(command_id)

    def save_decision(
        self, aggregates: Sequence[Aggregate], record: CommandRecord | None
    ) -> list[Recording]:
        return self.save(*aggregates, command=record)

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


__all__ = [
    "IN_MEMORY",
    "POSTGRES",
    "SYSTEM",
    "CommandIdReused",
    "Outcome",
    "Principal",
    "Registry",
]
