"""RegisteredModel: owns the model's name, its version numbers, stages and aliases.

Stages and aliases live on the model because their invariants span versions: at most
one production version, no alias on an archived version, numbers without gaps.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any
from uuid import UUID, uuid4, uuid5

from eventsourcing.domain import Aggregate

from services.registry.domain.errors import (
    Conflict,
    NotApproved,
    NotChangeable,
    NotFound,
    RuleBroken,
)
from services.registry.domain.values import Context, Stage


def version_id_for(model_id: UUID, number: int) -> UUID:
    """A version's id follows from its model and number: two writers racing for one
    number also collide on the version's stream."""
    return uuid5(model_id, f"version:{number}")


class RegisteredModel(Aggregate):
    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class ModelRegistered(Aggregate.Created, Event):
        name: str
        description: str
        tags: dict[str, str]
        allow_multiple_production: bool

        def apply(self, model: RegisteredModel) -> None:
            model.name = self.name
            model.description = self.description
            model.tags = dict(self.tags)
            model.allow_multiple_production = self.allow_multiple_production
            model.created_by = self.actor
            model.deleted = False
            model.last_number = 0
            # Only versions out of development are listed, so the state stays small.
            model.stages = {}
            model.deleted_versions = {}
            model.aliases = {}
            model.used_requests = []

    class ModelDescribed(Event):
        description: str

        def apply(self, model: RegisteredModel) -> None:
            model.description = self.description

    class ModelTagged(Event):
        key: str
        value: str

        def apply(self, model: RegisteredModel) -> None:
            model.tags[self.key] = self.value

    class ModelUntagged(Event):
        key: str

        def apply(self, model: RegisteredModel) -> None:
            model.tags.pop(self.key, None)

    class ModelRenamed(Event):
        old_name: str
        new_name: str

        def apply(self, model: RegisteredModel) -> None:
            model.name = self.new_name

    class ModelDeleted(Event):
        def apply(self, model: RegisteredModel) -> None:
            model.deleted = True

    class VersionAdded(Event):
        number: int
        version_id: UUID

        def apply(self, model: RegisteredModel) -> None:
            model.last_number = self.number

    class VersionPromoted(Event):
        number: int
        version_id: UUID
        from_stage: str
        to_stage: str
        request_id: str
        approvals: list[dict[str, Any]]
        # since class_version 2: the gates' verdict under the policy in force (None when
        # no policy was published), with overridden_by when an override let it through
        evaluation: dict[str, Any] | None

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["evaluation"] = None

        def apply(self, model: RegisteredModel) -> None:
            model.stages[str(self.number)] = self.to_stage
            model.used_requests.append(self.request_id)

    class VersionArchived(Event):
        number: int
        version_id: UUID
        from_stage: str
        superseded_by: int | None

        def apply(self, model: RegisteredModel) -> None:
            model.stages[str(self.number)] = Stage.ARCHIVED.value

    class VersionDeleted(Event):
        number: int
        version_id: UUID

        def apply(self, model: RegisteredModel) -> None:
            model.deleted_versions[str(self.number)] = True

    class AliasAssigned(Event):
        alias: str
        number: int
        previous: int | None
        request_id: str | None  # since class_version 2: the approval a protected alias used

        class_version = 2

        @staticmethod
        def upcast_v1_v2(state: dict[str, Any]) -> None:
            state["request_id"] = None

        def apply(self, model: RegisteredModel) -> None:
            model.aliases[self.alias] = self.number
            if self.request_id is not None:
                model.used_requests.append(self.request_id)

    class AliasProtectionChanged(Event):
        alias: str
        protected: bool

        def apply(self, model: RegisteredModel) -> None:
            protected = set(model.protected_aliases)
            if self.protected:
                protected.add(self.alias)
            else:
                protected.discard(self.alias)
            model.__dict__["protected_aliases"] = sorted(protected)

    class AliasRemoved(Event):
        alias: str
        number: int

        def apply(self, model: RegisteredModel) -> None:
            model.aliases.pop(self.alias, None)

    # State is set by the events' apply methods. Annotated for type checkers only: at
    # run time the library would turn annotations into constructor arguments.
    if TYPE_CHECKING:
        name: str
        description: str
        tags: dict[str, str]
        allow_multiple_production: bool
        created_by: str
        deleted: bool
        last_number: int
        stages: dict[str, str]
        deleted_versions: dict[str, bool]
        aliases: dict[str, int]
        used_requests: list[str]

    # -- creation ---------------------------------------------------------------

    @classmethod
    def register(
        cls,
        name: str,
        ctx: Context,
        description: str = "",
        tags: dict[str, str] | None = None,
        allow_multiple_production: bool = False,
    ) -> RegisteredModel:
        return cls._create(
            cls.ModelRegistered,
            id=uuid4(),
            name=name,
            description=description,
            tags=dict(tags or {}),
            allow_multiple_production=allow_multiple_production,
            **ctx.fields(),
        )

    # -- queries ------------------------------------------------------------------

    def stage_of(self, number: int) -> Stage:
        self.version_entry(number)
        return Stage(self.stages.get(str(number), Stage.DEVELOPMENT.value))

    def version_entry(self, number: int) -> None:
        """Raises NotFound unless number is a live version of this model."""
        if not 1 <= number <= self.last_number or str(number) in self.deleted_versions:
            raise NotFound(f"model {self.name!r} has no version {number}", version=number)

    def is_deleted(self, number: int) -> bool:
        return str(number) in self.deleted_versions

    def version_id(self, number: int) -> UUID:
        self.version_entry(number)
        return version_id_for(self.id, number)

    def holders(self, stage: Stage) -> list[int]:
        """The live versions in stage; not for development, which is everything else."""
        return sorted(
            int(n)
            for n, s in self.stages.items()
            if s == stage.value and n not in self.deleted_versions
        )

    def aliases_of(self, number: int) -> list[str]:
        return sorted(a for a, n in self.aliases.items() if n == number)

    def resolve_alias(self, alias: str) -> int:
        try:
            return self.aliases[alias]
        except KeyError:
            raise NotFound(f"model {self.name!r} has no alias {alias!r}", alias=alias) from None

    # -- commands on the model itself ---------------------------------------------

    def _check_live(self) -> None:
        if self.deleted:
            raise NotChangeable(f"model {self.name!r} is deleted", model=self.name)

    def describe(self, description: str, ctx: Context) -> None:
        self._check_live()
        if description != self.description:
            self.trigger_event(self.ModelDescribed, description=description, **ctx.fields())

    def tag(self, key: str, value: str, ctx: Context) -> None:
        self._check_live()
        if self.tags.get(key) != value:
            self.trigger_event(self.ModelTagged, key=key, value=value, **ctx.fields())

    def untag(self, key: str, ctx: Context) -> None:
        self._check_live()
        if key not in self.tags:
            raise NotFound(f"model {self.name!r} has no tag {key!r}", tag=key)
        self.trigger_event(self.ModelUntagged, key=key, **ctx.fields())

    def rename(self, new_name: str, ctx: Context) -> None:
        self._check_live()
        self.trigger_event(self.ModelRenamed, old_name=self.name, new_name=new_name, **ctx.fields())

    def delete(self, ctx: Context) -> None:
        self._check_live()
        live = self.holders(Stage.STAGING) + self.holders(Stage.PRODUCTION)
        if live:
            raise Conflict(
                f"model {self.name!r} has versions in staging or production; archive them first",
                versions=live,
            )
        self.trigger_event(self.ModelDeleted, **ctx.fields())

    # -- version lifecycle ------------------------------------------------------------

    def add_version(self, ctx: Context) -> tuple[int, UUID]:
        """Hands out the next number and the new version's id; saved atomically with it."""
        self._check_live()
        number = self.last_number + 1
        version_id = version_id_for(self.id, number)
        self.trigger_event(self.VersionAdded, number=number, version_id=version_id, **ctx.fields())
        return number, version_id

    def check_version_changeable(self, number: int) -> None:
        self._check_live()
        if self.stage_of(number) is Stage.ARCHIVED:
            raise NotChangeable(f"version {number} of {self.name!r} is archived", version=number)

    def record_promotion(
        self,
        number: int,
        stage: Stage,
        request_id: str,
        approvals: list[dict[str, Any]],
        ctx: Context,
        evaluation: dict[str, Any] | None = None,
    ) -> None:
        self._check_live()
        current = self.stage_of(number)
        if current is stage:
            raise Conflict(f"version {number} is already in {stage.value}", version=number)
        if request_id in self.used_requests:
            raise Conflict("that approval was already used for a promotion", request=request_id)
        superseded = []
        if stage is Stage.PRODUCTION and not self.allow_multiple_production:
            superseded = [n for n in self.holders(Stage.PRODUCTION) if n != number]
        self.trigger_event(
            self.VersionPromoted,
            number=number,
            version_id=self.version_id(number),
            from_stage=current.value,
            to_stage=stage.value,
            request_id=request_id,
            approvals=approvals,
            evaluation=evaluation,
            **ctx.fields(),
        )
        for old in superseded:
            self._archive(old, ctx, superseded_by=number)

    def archive(self, number: int, ctx: Context) -> None:
        self._check_live()
        if self.stage_of(number) is Stage.ARCHIVED:
            raise Conflict(f"version {number} is already archived", version=number)
        self._archive(number, ctx, superseded_by=None)

    def _archive(self, number: int, ctx: Context, superseded_by: int | None) -> None:
        from_stage = self.stage_of(number)
        self.trigger_event(
            self.VersionArchived,
            number=number,
            version_id=self.version_id(number),
            from_stage=from_stage.value,
            superseded_by=superseded_by,
            **ctx.fields(),
        )
        # No alias may point at an archived version: deployers following it would
        # pull a retired model.
        for alias in self.aliases_of(number):
            self.trigger_event(self.AliasRemoved, alias=alias, number=number, **ctx.fields())

    def delete_version(self, number: int, ctx: Context) -> None:
        self._check_live()
        stage = self.stage_of(number)
        if stage in (Stage.STAGING, Stage.PRODUCTION):
            raise Conflict(
                f"version {number} is in {stage.value}; archive it before deleting",
                version=number,
            )
        for alias in self.aliases_of(number):
            self.trigger_event(self.AliasRemoved, alias=alias, number=number, **ctx.fields())
        self.trigger_event(
            self.VersionDeleted, number=number, version_id=self.version_id(number), **ctx.fields()
        )

    @property
    def protected_aliases(self) -> list[str]:
        """Aliases that move only through an approved request (models snapshotted before
        protection existed have none)."""
        return list(self.__dict__.get("protected_aliases", []))

    def protect_alias(self, alias: str, protected: bool, ctx: Context) -> bool:
        """Marks alias protected (or not); False when it already was."""
        self._check_live()
        if (alias in self.protected_aliases) == protected:
            return False
        self.trigger_event(
            self.AliasProtectionChanged, alias=alias, protected=protected, **ctx.fields()
        )
        return True

    def assign_alias(
        self, alias: str, number: int, ctx: Context, request_id: str | None = None
    ) -> bool:
        """Points alias at version number; returns False when it already did. A protected
        alias moves only on an approved request for it (request_id, checked by the
        caller, rules.assign_alias)."""
        self._check_live()
        if self.stage_of(number) is Stage.ARCHIVED:
            raise NotChangeable(
                f"version {number} is archived; an alias cannot point at it", version=number
            )
        previous = self.aliases.get(alias)
        if previous == number:
            return False
        if alias in self.protected_aliases and request_id is None:
            raise NotApproved(
                f"alias {alias!r} of {self.name!r} is protected: it moves only through an "
                "approved request (request-approval for the alias, then have it signed off)",
                alias=alias,
                version=number,
            )
        self.trigger_event(
            self.AliasAssigned,
            alias=alias,
            number=number,
            previous=previous,
            request_id=request_id,
            **ctx.fields(),
        )
        return True

    def remove_alias(self, alias: str, ctx: Context) -> None:
        self._check_live()
        number = self.resolve_alias(alias)
        if alias in self.protected_aliases:
            raise RuleBroken(
                f"alias {alias!r} is protected; an owner must unprotect it before removing it",
                alias=alias,
            )
        self.trigger_event(self.AliasRemoved, alias=alias, number=number, **ctx.fields())
