"""What a handler may read while it decides: aggregates by name and number, the artefact
store, and the registry's own rules (how many approvals it requires)."""

from __future__ import annotations

import copy
import threading
from typing import Any
from uuid import UUID

from eventsourcing.application import AggregateNotFoundError, Repository

from services.artifacts.port import ArtifactNotFound, ArtifactStore
from services.registry import inputs
from services.registry.domain import values
from services.registry.domain.access import ACCESS_ID, MODEL, PREFIX, REGISTRY, AccessPolicy, Target
from services.registry.domain.errors import InvalidInput, NotFound
from services.registry.domain.model import RegisteredModel
from services.registry.domain.names import ModelName, name_id
from services.registry.domain.policies import POLICY_ID, PromotionPolicy
from services.registry.domain.version import ModelVersion


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
        self._access: AccessPolicy | None = None
        self._access_lock = threading.Lock()

    def model(self, name: str) -> RegisteredModel:
        """The live model named name, or NotFound."""
        values.check_name(name)
        index = self.name_index(name)
        if index is None or index.model_id is None:
            raise NotFound(f"no model named {name!r}", model=name)
        model: RegisteredModel = self.repository.get(index.model_id)
        if model.deleted:
            raise NotFound(f"no model named {name!r}", model=name)
        return model

    def version(self, model: RegisteredModel, number: int) -> ModelVersion:
        if isinstance(number, bool) or not isinstance(number, int) or number < 1:
            raise InvalidInput("a version number is a positive integer", field="version")
        version: ModelVersion = self.repository.get(model.version_id(number))
        return version

    def name_index(self, name: str) -> ModelName | None:
        try:
            index: ModelName = self.repository.get(name_id(name))
            return index
        except AggregateNotFoundError:
            return None

    def current_access(self) -> AccessPolicy | None:
        """Every grant in force, for checking (never change what this returns: it is
        shared). Kept between commands and brought up to date with the events appended
        since (one indexed read, usually of nothing) instead of loaded whole each time."""
        with self._access_lock:
            cached = self._access
            if cached is None:
                cached = self.access()
            else:
                newer: list[Any] = list(
                    self.repository.event_store.get(ACCESS_ID, gt=cached.version)
                )
                if newer:
                    cached = copy.deepcopy(cached)  # others may be reading the old one
                    for event in newer:
                        event.mutate(cached)
            self._access = cached
            return cached

    def policy(self) -> PromotionPolicy | None:
        """The promotion policy's aggregate, fresh; None before the first publication."""
        try:
            policy: PromotionPolicy = self.repository.get(POLICY_ID)
            return policy
        except AggregateNotFoundError:
            return None

    def published_policy(self) -> dict[str, Any] | None:
        """The policy in force (its version, name and document); None when none was ever
        published."""
        policy = self.policy()
        return policy.current() if policy is not None else None

    def access(self) -> AccessPolicy | None:
        """Every grant in force, fresh, for a command to change; None before the first."""
        try:
            policy: AccessPolicy = self.repository.get(ACCESS_ID)
            return policy
        except AggregateNotFoundError:
            return None

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
        try:
            version: object = self.repository.get(version_id)
        except AggregateNotFoundError:
            raise NotFound(f"no version with id {ref}", version=ref) from None
        if not isinstance(version, ModelVersion):
            raise NotFound(f"no version with id {ref}", version=ref)
        return version_id
