"""The model-name index: one aggregate per name, so names are unique and rename works."""

from __future__ import annotations

from typing import TYPE_CHECKING
from uuid import NAMESPACE_URL, UUID, uuid5

from eventsourcing.domain import Aggregate

from services.registry.domain.errors import DuplicateName
from services.registry.domain.values import Context

_NAMESPACE = uuid5(NAMESPACE_URL, "registrum:model-name")


def name_id(name: str) -> UUID:
    return uuid5(_NAMESPACE, name)


class ModelName(Aggregate):
    """Reserves a name for one model at a time; a released name can be reserved again."""

    class Event(Aggregate.Event):
        actor: str
        reason: str | None
        command_id: str | None

    class NameReserved(Aggregate.Created, Event):
        name: str
        model_id: UUID

        def apply(self, index: ModelName) -> None:
            index.name = self.name
            index.model_id = self.model_id

    class NameReclaimed(Event):
        model_id: UUID

        def apply(self, index: ModelName) -> None:
            index.model_id = self.model_id

    class NameReleased(Event):
        model_id: UUID

        def apply(self, index: ModelName) -> None:
            index.model_id = None

    # State is set by the events' apply methods. Annotated for type checkers only: at
    # run time the library would turn annotations into constructor arguments.
    if TYPE_CHECKING:
        name: str
        model_id: UUID | None

    @classmethod
    def reserve(cls, name: str, model_id: UUID, ctx: Context) -> ModelName:
        return cls._create(
            cls.NameReserved, id=name_id(name), name=name, model_id=model_id, **ctx.fields()
        )

    def reclaim(self, model_id: UUID, ctx: Context) -> None:
        if self.model_id is not None:
            raise DuplicateName(f"a model named {self.name!r} already exists", name=self.name)
        self.trigger_event(self.NameReclaimed, model_id=model_id, **ctx.fields())

    def release(self, ctx: Context) -> None:
        if self.model_id is not None:
            self.trigger_event(self.NameReleased, model_id=self.model_id, **ctx.fields())
