"""What a handler may read while it decides: aggregates by name and number, the artefact
store, and the registry's own rules (how many approvals it requires)."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository
from eventsourcing.domain import Aggregate

from services.artifacts.port import ArtifactNotFound, ArtifactStore
from services.registry import inputs
from services.registry.domain import values
from services.registry.domain.access import ACCESS_ID, MODEL, PREFIX, REGISTRY, AccessPolicy, Target
from services.registry.domain.errors import InvalidInput, NotFound
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName, name_id
from services.registry.domain.policies import POLICY_ID, PromotionPolicy
from services.registry.domain.version import ModelVersion
from services.registry.state import Aggregates, Working


class Scope:
    def __init__(
        self,
        repository: Repository,
        *,
        artifacts: ArtifactStore | None = None,
        required_approvals: int = 1,
    ) -> None:
        self.repository = repository
        self.artifacts = artifacts
        self.required_approvals = required_approvals
        self.aggregates: Aggregates | None = None  # the registry's, when it keeps them
        self._local = threading.local()

    # -- where reads come from ------------------------------------------------------------
    # Deciding (the executor): the working copies of the command or group. Checking ahead
    # (the dispatcher, before a command is queued): the aggregates as held, no round trip.
    # Otherwise: loaded fresh.

    @contextmanager
    def deciding(self, working: Working) -> Iterator[None]:
        self._local.working = working
        try:
            yield
        finally:
            self._local.working = None

    @contextmanager
    def checking_ahead(self) -> Iterator[None]:
        self._local.ahead = self.aggregates is not None
        try:
            yield
        finally:
            self._local.ahead = False

    def _get(self, aggregate_id: UUID) -> Any:
        working: Working | None = getattr(self._local, "working", None)
        if working is not None:
            return working.get(aggregate_id)
        if getattr(self._local, "ahead", False) and self.aggregates is not None:
            return self.aggregates.held(aggregate_id)
        try:
            aggregate: Aggregate = self.repository.get(aggregate_id)
        except AggregateNotFoundError:
            return None
        return aggregate

    def _read(self, aggregate_id: UUID) -> Any:
        """For reading only (never change what this returns): the held aggregate itself
        when nothing copied it; outside a command, the held one brought up to date (one
        indexed read, usually of nothing) rather than the stream loaded again."""
        working: Working | None = getattr(self._local, "working", None)
        if working is not None and aggregate_id not in working.copies:
            return working.read(aggregate_id)
        ahead = getattr(self._local, "ahead", False)
        if working is None and not ahead and self.aggregates is not None:
            self.aggregates.refresh([aggregate_id])
            return self.aggregates.held(aggregate_id)
        return self._get(aggregate_id)

    # -- reads ------------------------------------------------------------------------

    def model(self, name: str) -> RegisteredModel:
        """The live model named name, or NotFound."""
        values.check_name(name)
        index = self.name_index(name)
        if index is None or index.model_id is None:
            raise NotFound(f"no model named {name!r}", model=name)
        model: RegisteredModel | None = self._get(index.model_id)
        if model is None or model.deleted:
            raise NotFound(f"no model named {name!r}", model=name)
        return model

    def version(self, model: RegisteredModel, number: int) -> ModelVersion:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidInput("a version number is a positive integer", field="version")
        version: ModelVersion | None = self._get(model.version_id(number))
        if version is None:
            raise NotFound(f"model {model.name!r} has no version {number}", version=number)
        return version

    def name_index(self, name: str) -> ModelName | None:
        index: ModelName | None = self._get(name_id(name))
        return index

    def current_access(self) -> AccessPolicy | None:
        """Every grant in force, for checking (never change what this returns: it is
        shared)."""
        policy: AccessPolicy | None = self._read(ACCESS_ID)
        return policy

    def policy(self) -> PromotionPolicy | None:
        """The promotion policy's aggregate; None before the first publication."""
        policy: PromotionPolicy | None = self._get(POLICY_ID)
        return policy

    def published_policy(self) -> dict[str, Any] | None:
        """The policy in force (its version, name and document); None when none was ever
        published."""
        policy = self.policy()
        return policy.current() if policy is not None else None

    def access(self) -> AccessPolicy | None:
        """Every grant in force, for a command to change; None before the first."""
        policy: AccessPolicy | None = self._get(ACCESS_ID)
        return policy

    def target(self, name: str) -> Target:
        """What a command on the model named name acts on: the model (by id, so grants on
        it follow renames), or only a name when no live model holds it."""
        index = self.name_index(name)
        if index is None or index.model_id is None:
            return Target(name=name)
        return Target(model_id=index.model_id, name=name)

    def grant_scope(self, scope: str) -> tuple[str, str, str]:
        """A grant's scope (registry, model:NAME, prefix:P) as (kind, value, label); a
        model is kept by id."""
        kind, _, value = scope.partition(":")
        if kind == REGISTRY and not value:
            return REGISTRY, "", REGISTRY
        if kind == MODEL and value:
            return MODEL, str(self.model(value).id), scope
        if kind == PREFIX and value:
            return PREFIX, value, scope
        raise InvalidInput("a scope is registry, model:NAME or prefix:NAME-PREFIX", field="scope")

    def taken_index(self, name: str) -> ModelName:
        """The index entry of a name a live model holds (found by `model` just before)."""
        index = self.name_index(name)
        if index is None:
            raise NotFound(f"no model named {name!r}", model=name)
        return index

    def check_files(self, facts: dict[str, Any]) -> None:
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

    def resolve_parents(self, references: list[dict[str, str]]) -> list[dict[str, str]]:
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
            return self.model(name).version_id(int(number))
        name, at, alias = ref.rpartition("@")
        if at:
            model = self.model(name)
            return model.version_id(model.resolve_alias(alias))
        try:
            version_id = UUID(ref)
        except ValueError:
            raise InvalidInput(
                "a parent version is NAME/NUMBER, NAME@ALIAS or a version id",
                field="lineage.id",
            ) from None
        version: object = self._get(version_id)
        if not isinstance(version, ModelVersion):
            raise NotFound(f"no version with id {ref}", version=ref)
        return version_id
