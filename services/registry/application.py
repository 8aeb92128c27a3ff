"""The registry's write side: commands in, events out, through the eventsourcing library.

Every command method takes a Context (who, why, command id) and returns an Outcome
carrying its result and the log position of its last event. A command id seen before
returns the first outcome and appends nothing.
"""

from __future__ import annotations

import hashlib
import json
import random
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, ClassVar
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Application
from eventsourcing.domain import Aggregate
from eventsourcing.persistence import IntegrityError

from services.artifacts.port import ArtifactNotFound, ArtifactStore
from services.registry import inputs
from services.registry.domain import rules, values
from services.registry.domain.errors import Conflict, InvalidInput, NotFound
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName, name_id
from services.registry.domain.values import Context, Stage
from services.registry.domain.version import ModelVersion
from services.registry.recorder import CommandRecord, RegistryRecorder
from services.registry.summaries import model_summary, version_summary


class CommandIdReused(Conflict):
    """The command id was used before for a different command."""

    code = "command_id_reused"


class TooMuchContention(Conflict):
    code = "contention"


@dataclass(frozen=True)
class Outcome:
    result: dict[str, Any]
    position: int | None
    replayed: bool = False


@dataclass
class Decision:
    """What a command decided: aggregates to save atomically and what to answer."""

    save: list[Aggregate]
    model: RegisteredModel
    result: Callable[[], dict[str, Any]]


class Registry(Application):
    name = "Registry"
    env: ClassVar[dict[str, str]] = {
        "PERSISTENCE_MODULE": "eventsourcing.postgres",
        "APPLICATION_RECORDER_TOPIC": "services.registry.recorder:RegistryRecorder",
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
        self.required_approvals = required_approvals
        self.max_attempts = max_attempts
        # Commands on one model from this process queue here instead of racing to the
        # store and retrying; other processes are still caught by optimistic concurrency.
        self._stripes = [threading.Lock() for _ in range(64)]

    @property
    def registry_recorder(self) -> RegistryRecorder:
        assert isinstance(self.recorder, RegistryRecorder)  # wired by env above
        return self.recorder

    # -- plumbing ----------------------------------------------------------------------

    def _execute(
        self, command: str, args: dict[str, Any], ctx: Context, decide: Callable[[], Decision]
    ) -> Outcome:
        stripe = self._stripes[hash(args.get("name")) % len(self._stripes)]
        with stripe:
            return self._execute_once(command, args, ctx, decide)

    def _execute_once(
        self, command: str, args: dict[str, Any], ctx: Context, decide: Callable[[], Decision]
    ) -> Outcome:
        fingerprint = _fingerprint(command, args, ctx)
        for attempt in range(self.max_attempts):
            if ctx.command_id is not None:
                prior = self.registry_recorder.find_command(ctx.command_id)
                if prior is not None:
                    return _replay(prior, fingerprint)
            decision = decide()
            result = decision.result()
            record = None
            if ctx.command_id is not None:
                record = CommandRecord(ctx.command_id, fingerprint, result)
            try:
                recordings = self.save(*decision.save, command=record)
            except IntegrityError:
                # Someone else changed one of these aggregates (or ran the same command id)
                # first: decide again on fresh state.
                time.sleep(random.uniform(0, 0.002 * min(attempt + 1, 20)))
                continue
            if recordings:
                position = max(r.notification.id for r in recordings)
            else:
                position = self.head_position()
            return Outcome(result, position)
        raise TooMuchContention(
            f"{command} kept conflicting with concurrent changes; try again",
            attempts=self.max_attempts,
        )

    def head_position(self) -> int:
        return self.recorder.max_notification_id() or 0

    def _model(self, name: str) -> RegisteredModel:
        values.check_name(name)
        index = self._name_index(name)
        if index is None or index.model_id is None:
            raise NotFound(f"no model named {name!r}", model=name)
        model: RegisteredModel = self.repository.get(index.model_id)
        if model.deleted:
            raise NotFound(f"no model named {name!r}", model=name)
        return model

    def _version(self, model: RegisteredModel, number: int) -> ModelVersion:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidInput("a version number is a positive integer", field="version")
        return self.repository.get(model.version_id(number))

    def _name_index(self, name: str) -> ModelName | None:
        try:
            index: ModelName = self.repository.get(name_id(name))
            return index
        except AggregateNotFoundError:
            return None

    def _check_files(self, facts: dict[str, Any]) -> None:
        """Every file of the manifest is stored, with that size; the version's digest and
        size are the manifest's (and must match what the client declared)."""
        if self.artifacts is None:
            raise InvalidInput(
                "this registry stores no artefacts; give an artifact_uri", field="manifest"
            )
        for entry in facts["manifest"]:
            try:
                stored = self.artifacts.size(entry["sha256"])
            except ArtifactNotFound:
                raise NotFound(
                    f"{entry['path']}: no artefact {entry['sha256']}; upload it first",
                    path=entry["path"],
                    sha256=entry["sha256"],
                ) from None
            if stored != entry["size"]:
                raise InvalidInput(
                    f"{entry['path']}: the stored object has {stored} bytes, not {entry['size']}",
                    field="manifest.size",
                )
        digest, size = inputs.tree_digest(facts["manifest"])
        for key, derived in (("sha256", digest), ("size", size)):
            if facts[key] is not None and facts[key] != derived:
                raise InvalidInput(
                    f"the declared {key} {facts[key]} is not the files' {derived}",
                    field=key,
                    derived=derived,
                )
            facts[key] = derived

    def _resolve_parents(self, references: list[dict[str, str]]) -> list[dict[str, str]]:
        """Parent versions may be named NAME/NUMBER, NAME@ALIAS or by id; lineage keeps
        the version's id, which survives renames and links to the version's node."""
        resolved = []
        for ref in references:
            if ref["kind"] == "model_version":
                ref = {**ref, "id": str(self._version_ref(ref["id"]))}
            resolved.append(ref)
        return resolved

    def _version_ref(self, ref: str) -> UUID:
        name, slash, number = ref.rpartition("/")
        if slash and values.is_number(number):
            model = self._model(name)
            return model.version_id(int(number))
        name, at, alias = ref.rpartition("@")
        if at:
            model = self._model(name)
            return model.version_id(model.resolve_alias(alias))
        try:
            version_id = UUID(ref)
        except ValueError:
            raise InvalidInput(
                "a parent version is NAME/NUMBER, NAME@ALIAS or a version id",
                field="lineage.id",
            ) from None
        try:
            version: ModelVersion = self.repository.get(version_id)
        except AggregateNotFoundError:
            raise NotFound(f"no version with id {ref}", version=ref) from None
        if not isinstance(version, ModelVersion):
            raise NotFound(f"no version with id {ref}", version=ref)
        return version_id

    # -- models ------------------------------------------------------------------------

    def create_model(
        self,
        name: str,
        ctx: Context,
        *,
        description: str = "",
        tags: dict[str, str] | None = None,
        allow_multiple_production: bool = False,
    ) -> Outcome:
        name = values.check_name(name)
        description = values.check_text(description, "description")
        tags = values.check_tags(tags)

        def decide() -> Decision:
            model = RegisteredModel.register(
                name, ctx, description, tags, allow_multiple_production
            )
            index = self._name_index(name)
            if index is None:
                index = ModelName.reserve(name, model.id, ctx)
            else:
                index.reclaim(model.id, ctx)
            return Decision([index, model], model, lambda: model_summary(model))

        args = {
            "name": name,
            "description": description,
            "tags": tags,
            "allow_multiple_production": allow_multiple_production,
        }
        return self._execute("create_model", args, ctx, decide)

    def rename_model(self, name: str, new_name: str, ctx: Context) -> Outcome:
        new_name = values.check_name(new_name, "new_name")

        def decide() -> Decision:
            model = self._model(name)
            if new_name == name:
                return Decision([], model, lambda: model_summary(model))
            old_index = self._name_index(name)
            assert old_index is not None  # _model found the model through it
            new_index = self._name_index(new_name)
            if new_index is None:
                new_index = ModelName.reserve(new_name, model.id, ctx)
            else:
                new_index.reclaim(model.id, ctx)
            old_index.release(ctx)
            model.rename(new_name, ctx)
            return Decision([old_index, new_index, model], model, lambda: model_summary(model))

        return self._execute("rename_model", {"name": name, "new_name": new_name}, ctx, decide)

    def _on_model(
        self,
        command: str,
        name: str,
        args: dict[str, Any],
        ctx: Context,
        change: Callable[[RegisteredModel], None],
    ) -> Outcome:
        def decide() -> Decision:
            model = self._model(name)
            change(model)
            return Decision([model], model, lambda: model_summary(model))

        return self._execute(command, {"name": name, **args}, ctx, decide)

    def describe_model(self, name: str, description: str, ctx: Context) -> Outcome:
        description = values.check_text(description, "description")
        return self._on_model(
            "describe_model",
            name,
            {"description": description},
            ctx,
            lambda m: m.describe(description, ctx),
        )

    def tag_model(self, name: str, key: str, value: str, ctx: Context) -> Outcome:
        key, value = values.check_tag(key, value)
        return self._on_model(
            "tag_model", name, {"key": key, "value": value}, ctx, lambda m: m.tag(key, value, ctx)
        )

    def untag_model(self, name: str, key: str, ctx: Context) -> Outcome:
        return self._on_model("untag_model", name, {"key": key}, ctx, lambda m: m.untag(key, ctx))

    def delete_model(self, name: str, ctx: Context) -> Outcome:
        def decide() -> Decision:
            model = self._model(name)
            index = self._name_index(name)
            assert index is not None
            model.delete(ctx)
            index.release(ctx)
            return Decision([model, index], model, lambda: model_summary(model))

        return self._execute("delete_model", {"name": name}, ctx, decide)

    # -- versions ----------------------------------------------------------------------

    def register_version(self, name: str, ctx: Context, **facts: Any) -> Outcome:
        """Registers the next version of model name; facts are VersionRegistered's fields."""
        facts = inputs.version_facts(facts)
        facts["lineage"] = self._resolve_parents(facts["lineage"])
        if facts["manifest"]:
            self._check_files(facts)

        def decide() -> Decision:
            model = self._model(name)
            number, version_id = model.add_version(ctx)
            # Decided afresh on every attempt: a retry may get another number.
            uri = facts["artifact_uri"] or f"models:/{model.name}/{number}"
            version = ModelVersion.register(
                version_id=version_id,
                ctx=ctx,
                model_id=model.id,
                model_name=model.name,
                number=number,
                **{**facts, "artifact_uri": uri},
            )
            return Decision([model, version], model, lambda: version_summary(model, version))

        return self._execute("register_version", {"name": name, **facts}, ctx, decide)

    def _on_version(
        self,
        command: str,
        name: str,
        number: int,
        args: dict[str, Any],
        ctx: Context,
        change: Callable[[RegisteredModel, ModelVersion], None],
        *,
        check_live: bool = True,
        saves_model: bool = False,
    ) -> Outcome:
        """A command on one version: content changes save the version; stage and alias
        changes (saves_model) save the model, which owns them."""

        def decide() -> Decision:
            model = self._model(name)
            version = self._version(model, number)
            if check_live:
                model.check_version_changeable(version.number)
            change(model, version)
            saved: Aggregate = model if saves_model else version
            return Decision([saved], model, lambda: version_summary(model, version))

        return self._execute(command, {"name": name, "number": number, **args}, ctx, decide)

    def describe_version(self, name: str, number: int, description: str, ctx: Context) -> Outcome:
        description = values.check_text(description, "description")
        return self._on_version(
            "describe_version",
            name,
            number,
            {"description": description},
            ctx,
            lambda m, v: v.describe(description, ctx),
        )

    def tag_version(self, name: str, number: int, key: str, value: str, ctx: Context) -> Outcome:
        key, value = values.check_tag(key, value)
        return self._on_version(
            "tag_version",
            name,
            number,
            {"key": key, "value": value},
            ctx,
            lambda m, v: v.tag(key, value, ctx),
        )

    def untag_version(self, name: str, number: int, key: str, ctx: Context) -> Outcome:
        return self._on_version(
            "untag_version", name, number, {"key": key}, ctx, lambda m, v: v.untag(key, ctx)
        )

    def record_metrics(
        self, name: str, number: int, metrics: dict[str, float], ctx: Context
    ) -> Outcome:
        metrics = values.check_metrics(metrics)
        return self._on_version(
            "record_metrics",
            name,
            number,
            {"metrics": metrics},
            ctx,
            lambda m, v: v.record_metrics(metrics, ctx),
        )

    def link_lineage(
        self, name: str, number: int, references: list[dict[str, str]], ctx: Context
    ) -> Outcome:
        references = self._resolve_parents(inputs.lineage(references))
        return self._on_version(
            "link_lineage",
            name,
            number,
            {"references": references},
            ctx,
            lambda m, v: v.link_lineage(references, ctx),
        )

    def update_model_card(
        self, name: str, number: int, card: dict[str, Any], ctx: Context
    ) -> Outcome:
        card = values.check_json_object(card, "card")
        return self._on_version(
            "update_model_card",
            name,
            number,
            {"card": card},
            ctx,
            lambda m, v: v.update_model_card(card, ctx),
        )

    # -- reviews and stages -----------------------------------------------------------

    def request_approval(
        self,
        name: str,
        number: int,
        stage: Stage,
        ctx: Context,
        required_approvals: int | None = None,
    ) -> Outcome:
        required = self.required_approvals if required_approvals is None else required_approvals
        if isinstance(required, bool) or not isinstance(required, int) or not 1 <= required <= 10:
            raise InvalidInput("required_approvals is between 1 and 10", field="required_approvals")
        if required < self.required_approvals:
            raise InvalidInput(
                f"this registry requires at least {self.required_approvals} approvals",
                field="required_approvals",
            )
        # The request id derives from the command id when there is one, so a retried
        # request names the same request.
        request_id = (
            str(uuid.uuid5(uuid.NAMESPACE_URL, f"registrum:request:{ctx.command_id}"))
            if ctx.command_id
            else str(uuid.uuid4())
        )
        return self._on_version(
            "request_approval",
            name,
            number,
            {"stage": stage.value, "required_approvals": required},
            ctx,
            lambda m, v: rules.request_approval(m, v, request_id, stage, required, ctx),
        )

    def approve(self, name: str, number: int, request_id: str, ctx: Context) -> Outcome:
        return self._review("approve", name, number, request_id, ctx)

    def reject(self, name: str, number: int, request_id: str, ctx: Context) -> Outcome:
        return self._review("reject", name, number, request_id, ctx)

    def withdraw(self, name: str, number: int, request_id: str, ctx: Context) -> Outcome:
        return self._review("withdraw", name, number, request_id, ctx)

    def _review(
        self, decision: str, name: str, number: int, request_id: str, ctx: Context
    ) -> Outcome:
        # A requester may withdraw even after the version was archived.
        return self._on_version(
            decision,
            name,
            number,
            {"request_id": request_id},
            ctx,
            lambda m, v: getattr(v, decision)(request_id, ctx),
            check_live=decision != "withdraw",
        )

    def promote(self, name: str, number: int, stage: Stage, ctx: Context) -> Outcome:
        # An archived version may come back, through a new approval.
        return self._on_version(
            "promote",
            name,
            number,
            {"stage": stage.value},
            ctx,
            lambda m, v: rules.promote(m, v, stage, ctx),
            check_live=False,
            saves_model=True,
        )

    def archive(self, name: str, number: int, ctx: Context) -> Outcome:
        return self._on_version(
            "archive",
            name,
            number,
            {},
            ctx,
            lambda m, v: m.archive(v.number, ctx),
            check_live=False,
            saves_model=True,
        )

    def delete_version(self, name: str, number: int, ctx: Context) -> Outcome:
        return self._on_version(
            "delete_version",
            name,
            number,
            {},
            ctx,
            lambda m, v: m.delete_version(v.number, ctx),
            check_live=False,
            saves_model=True,
        )

    def set_alias(self, name: str, alias: str, number: int, ctx: Context) -> Outcome:
        alias = values.check_alias(alias)
        return self._on_version(
            "set_alias",
            name,
            number,
            {"alias": alias},
            ctx,
            lambda m, v: _assign(m, alias, v.number, ctx),
            check_live=False,
            saves_model=True,
        )

    def remove_alias(self, name: str, alias: str, ctx: Context) -> Outcome:
        return self._on_model(
            "remove_alias", name, {"alias": alias}, ctx, lambda m: m.remove_alias(alias, ctx)
        )

    # -- reads -------------------------------------------------------------------------

    def get_model(self, name: str) -> dict[str, Any]:
        return model_summary(self._model(name))

    def get_version(self, name: str, number: int) -> dict[str, Any]:
        model = self._model(name)
        return version_summary(model, self._version(model, number))

    def resolve_alias(self, name: str, alias: str) -> dict[str, Any]:
        model = self._model(name)
        return version_summary(model, self._version(model, model.resolve_alias(alias)))


def _assign(model: RegisteredModel, alias: str, number: int, ctx: Context) -> None:
    model.assign_alias(alias, number, ctx)


def _fingerprint(command: str, args: dict[str, Any], ctx: Context) -> str:
    payload = {"command": command, "args": args, "actor": ctx.actor, "reason": ctx.reason}
    encoded = json.dumps(payload, sort_keys=True, default=str).encode()
    return hashlib.sha256(encoded).hexdigest()


def _replay(prior: CommandRecord, fingerprint: str) -> Outcome:
    if prior.fingerprint != fingerprint:
        raise CommandIdReused(
            f"command id {prior.command_id!r} was already used for a different command",
            command_id=prior.command_id,
        )
    return Outcome(prior.result, prior.position, replayed=True)


__all__ = ["CommandIdReused", "Outcome", "Registry"]
